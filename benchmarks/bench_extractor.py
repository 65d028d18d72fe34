"""Rules-extractor throughput: titles per second on one core.

Input: every listing of the dev set (`tests/data/devset.jsonl`) and of the demo feed
(`data/sample/listings.jsonl`), extracted with the same arguments the router passes (title,
retailer category, brand field, spec table). One warm-up pass loads the taxonomy and brand data,
then the median of 5 timed passes is reported. The process is pinned to one CPU with
`os.sched_setaffinity` where the platform has it. Target: >= 5,000 titles/s.

Run: `.venv/bin/python benchmarks/bench_extractor.py` (or `make bench`).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from catalog.domain.extractor import extract
from catalog.domain.identity import input_fingerprint, product_fingerprint
from schemas.models import RawListing

ROOT = Path(__file__).resolve().parents[1]
SOURCES = (ROOT / "tests" / "data" / "devset.jsonl", ROOT / "data" / "sample" / "listings.jsonl")
TARGET_PER_S = 5_000
RUNS = 5


def pin_one_cpu() -> str:
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (no sched_setaffinity on this platform)"
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return f"pinned to CPU {cpu}"


def load_listings() -> list[RawListing]:
    listings: list[RawListing] = []
    for path in SOURCES:
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    row = json.loads(line)
                    listings.append(RawListing.model_validate(row.get("listing", row)))
    return listings


def median_rate(work: Callable[[], int], runs: int = RUNS) -> tuple[float, list[float]]:
    work()  # warm-up
    rates: list[float] = []
    for _ in range(runs):
        started = time.perf_counter()
        done = work()
        rates.append(done / (time.perf_counter() - started))
    return statistics.median(rates), rates


def main() -> int:
    where = pin_one_cpu()
    listings = load_listings()

    def extract_all() -> int:
        for x in listings:
            extract(x.name, x.category, x.brand, x.attributes)
        return len(listings)

    extractions = [extract(x.name, x.category, x.brand, x.attributes) for x in listings]
    complete = [e for e in extractions if e.brand and e.model and e.category]

    def fingerprint_all() -> int:
        for x, e in zip(listings, extractions, strict=True):
            input_fingerprint(x.name, e.category, "bench")
        for e in complete:
            product_fingerprint(e.brand or "", e.model or "", e.category or "", e.attributes)
        return len(listings)

    print(f"extractor benchmark: {len(listings)} titles, median of {RUNS} runs, {where}")
    failed = False
    for name, work, target in (
        ("extract()", extract_all, TARGET_PER_S),
        ("input + product fingerprint", fingerprint_all, None),
    ):
        median, rates = median_rate(work)
        spread = ", ".join(f"{r:,.0f}" for r in rates)
        line = f"  {name:<30} median {median:>9,.0f} titles/s  (runs: {spread})"
        if target is not None:
            ratio = median / target
            line += f"  target >= {target:,}/s: ratio {ratio:.2f}x"
            line += " OK" if ratio >= 1 else " BELOW TARGET"
            failed = failed or ratio < 1
        print(line)
    return 1 if failed and "--strict" in sys.argv else 0


if __name__ == "__main__":
    sys.exit(main())
