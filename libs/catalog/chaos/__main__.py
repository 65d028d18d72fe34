"""`python -m catalog.chaos` (the Makefile's `chaos`): see `catalog.chaos.run`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from catalog.chaos.run import ChaosConfig, run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m catalog.chaos",
        description="Crash, fault and outage test of the whole platform on a private stack.",
    )
    parser.add_argument("--listings", type=int, default=5000, help="messages to publish")
    parser.add_argument("--kills", type=int, default=12, help="SIGKILLs over the six services")
    parser.add_argument(
        "--outage-scale",
        type=float,
        default=1.0,
        help="1.0: Postgres and Redis down 30 s each, the LLM endpoint 60 s, faults 30 s",
    )
    parser.add_argument("--fault-rate", type=float, default=0.05)
    parser.add_argument("--kill-interval", type=float, default=5.0)
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds to wait at the end")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--oversized-bytes", type=int, default=950_000, help="size of the oversized poison listing"
    )
    parser.add_argument("--dir", type=Path, default=None, help="stack directory (default: temp)")
    parser.add_argument("--keep", action="store_true", help="keep the stack directory and logs")
    args = parser.parse_args(argv)
    config = ChaosConfig(
        listings=args.listings,
        kills=args.kills,
        outage_scale=args.outage_scale,
        fault_rate=args.fault_rate,
        kill_interval_s=args.kill_interval,
        timeout_s=args.timeout,
        seed=args.seed,
        oversized_bytes=args.oversized_bytes,
        root=args.dir,
        keep=args.keep,
    )
    return 0 if run(config).ok else 1


if __name__ == "__main__":
    sys.exit(main())
