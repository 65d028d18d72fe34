"""Command line: `python -m openai_emulator --host 127.0.0.1 --port 8700`.

Faults come from `--faults-json` or, failing that, the `EMULATOR_FAULTS` environment variable
(same JSON). `EMULATOR_BATCH_STEP_S` and `EMULATOR_DATA_DIR` are the environment forms of
`--batch-step-s` and `--data-dir`.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from aiohttp import web
from pydantic import ValidationError

from openai_emulator.config import EmulatorConfig
from openai_emulator.faults import Faults
from openai_emulator.server import create_app


def build_config(argv: list[str] | None = None) -> tuple[EmulatorConfig, argparse.Namespace]:
    parser = argparse.ArgumentParser(
        prog="python -m openai_emulator", description="OpenAI-compatible emulator."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8700)
    parser.add_argument(
        "--faults-json",
        default=os.environ.get("EMULATOR_FAULTS"),
        help="Fault configuration as JSON (default: $EMULATOR_FAULTS).",
    )
    parser.add_argument(
        "--batch-step-s",
        type=float,
        default=float(os.environ.get("EMULATOR_BATCH_STEP_S", "0.5")),
        help="Seconds per batch status step (default: $EMULATOR_BATCH_STEP_S or 0.5).",
    )
    data_dir = os.environ.get("EMULATOR_DATA_DIR")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(data_dir) if data_dir else None,
        help="Persist files and batches in this directory (default: $EMULATOR_DATA_DIR).",
    )
    parser.add_argument(
        "--models",
        default=None,
        help="Comma-separated chat models to accept (default: the gpt-5 and gpt-4o families).",
    )
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    try:
        faults = Faults.from_json(args.faults_json)
    except (ValueError, ValidationError) as exc:
        parser.error(f"invalid fault configuration: {exc}")
    settings: dict[str, object] = {
        "faults": faults,
        "batch_step_s": args.batch_step_s,
        "data_dir": args.data_dir,
    }
    if args.models:
        settings["known_models"] = [name.strip() for name in args.models.split(",") if name.strip()]
    return EmulatorConfig.model_validate(settings), args


def main(argv: list[str] | None = None) -> int:
    config, args = build_config(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    web.run_app(
        create_app(config), host=args.host, port=args.port, print=None, handler_cancellation=True
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
