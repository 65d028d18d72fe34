"""`python -m catalog.evaluation [--llm emulator|none|configured] [--data-dir ../shared/data]`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from catalog.evaluation.matching_data import default_data_dir
from catalog.inline import LLM_MODES, LLMMode, Unreachable
from catalog.settings import get_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m catalog.evaluation",
        description="Normalize and resolve the public matching sets (Abt-Buy, WDC Products, "
        "latam-grocery) and WDC PAVE when present, and the dev set; score them.",
    )
    parser.add_argument("--llm", choices=LLM_MODES, default="emulator")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=default_data_dir(),
        help="folder holding abt-buy/, wdc-products/, latam-grocery/ and wdc-pave/ "
        "(each skipped when absent)",
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
