"""`catalog normalize` throughput with identity resolution on, one core: the listings of
`data/sample/listings.jsonl`, repeated under fresh skus to `LISTINGS`, normalized by the rules
(`--llm none`, so the figure is the platform's own work, not an LLM's latency) and resolved in
input order against the in-memory catalog. Prints the median of 3 runs of the whole path and of
resolution alone; target >= 300 listings/s.

Run: `.venv/bin/python benchmarks/bench_normalize_resolution.py`
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

from catalog.cli.normalize import normalize_listings
from catalog.identity.resolver import load_resolver, matcher_judge
from catalog.inline import InlineResolution, InlineResult
from catalog.settings import Settings
from schemas.models import RawListing

LISTINGS = 3_000
RUNS = 3
TARGET_PER_S = 300.0
SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample" / "listings.jsonl"


def listings(n: int) -> list[RawListing]:
    rows = [json.loads(line) for line in SAMPLE.read_text().splitlines() if line.strip()]
    out: list[RawListing] = []
    while len(out) < n:
        for row in rows:
            if len(out) == n:
                break
            copy = {**row, "sku": f"{row.get('sku')}-{len(out)}"}
            try:
                out.append(RawListing.model_validate(copy))
            except ValueError:
                continue
    return out


def main() -> int:
    settings = Settings(environment="test")
    batch = listings(LISTINGS)
    whole: list[float] = []
    alone: list[float] = []
    for _ in range(RUNS):
        started = time.perf_counter()
        results = asyncio.run(normalize_listings(settings, batch, llm="none"))
        whole.append(len(batch) / (time.perf_counter() - started))
        resolver = load_resolver()
        resolution = InlineResolution(resolver, judge=matcher_judge(resolver.matcher))
        bare = [InlineResult(r.listing, product=r.product) for r in results]
        started = time.perf_counter()
        asyncio.run(resolution.resolve_all(bare))
        alone.append(len(batch) / (time.perf_counter() - started))
    resolved = sum(1 for r in results if r.decision is not None)
    rate = statistics.median(whole)
    print(
        f"catalog normalize --llm none with resolution: {rate:,.0f} listings/s "
        f"({resolved} of {len(batch)} resolved); resolution alone "
        f"{statistics.median(alone):,.0f} listings/s; target {TARGET_PER_S:,.0f} "
        f"-> {rate / TARGET_PER_S:.2f}x"
    )
    return 0 if rate >= TARGET_PER_S else 1


if __name__ == "__main__":
    sys.exit(main())
