"""`python -m catalog.evaluation [--llm emulator|none|configured] [--data-dir ../shared/data]`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from catalog.inline import LLM_MODES, LLMMode, Unreachable
from catalog.settings import get_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m catalog.evaluation",
        description="Normalize the dev set and, when present, Abt-Buy and WDC PAVE; score them.",
    )
    parser.add_argument("--llm", choices=LLM_MODES, default="emulator")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path("../shared/data"),
        help="folder holding abt-buy/ and wdc-pave/ (skipped when absent)",
    )
    parser.add_argument("--out", type=Path, default=Path("out/eval.json"))
    args = parser.parse_args(argv)
    from catalog.evaluation.report import run

    llm: LLMMode = args.llm
    try:
        run(get_settings(), llm, args.data_dir, args.out)
    except Unreachable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
