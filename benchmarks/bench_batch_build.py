"""Build and submit one 50,000-request batch: JSONL written streaming (with the per-request token
pre-count and cost estimate the builder does), uploaded, and `batches.create`d, through the real
`openai` SDK against an in-process emulator. Prints the median of 3 runs; target <= 3 s.

Run: `.venv/bin/python benchmarks/bench_batch_build.py`
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from catalog.llm.calls import batch_body, batch_line
from catalog.llm.client import make_client
from catalog.llm.tokens import estimate_request, tokenizer_name
from catalog.settings import LLMSettings, Settings
from openai_emulator import EmulatorConfig, run_in_background
from router.logic import Router
from schemas.models import LLMRequest, RawListing

REQUESTS = 50_000
RUNS = 3
TARGET_S = 3.0
SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample" / "listings.jsonl"


def make_requests(n: int) -> list[LLMRequest]:
    router = Router(Settings())
    rows = [json.loads(line) for line in SAMPLE.read_text().splitlines() if line.strip()]
    routed = []
    for row in rows:
        try:
            routed.append(router.route(RawListing.model_validate(row)))
        except Exception:  # listings the router rejects are not LLM work
            continue
    out = []
    for i in range(n):
        base = routed[i % len(routed)]
        # Distinct prompts (the price is in the prompt), as in a real backlog.
        listing = base.listing.model_copy(
            update={"sku": f"{base.listing.sku}-{i}", "price": base.listing.price + i}
        )
        out.append(
            LLMRequest(
                custom_id=f"bench-{i:06d}-a1",
                routed=base.model_copy(update={"listing": listing}),
                model="gpt-5-mini",
                prompt_kind="minimal",
                prompt_version="norm-ia-v2.0",
            )
        )
    return out


async def one_run(llm: LLMSettings, requests: list[LLMRequest]) -> tuple[float, int, float]:
    client = make_client(llm, max_retries=0)
    started = time.perf_counter()
    estimate = 0.0
    size = 0
    with tempfile.SpooledTemporaryFile(max_size=64 * 1024 * 1024) as out:
        for request in requests:
            body = batch_body(llm, request)
            line = batch_line(request.custom_id, body)
            estimate += estimate_request(llm, body, batch=True).cost_usd
            out.write(line)
            size += len(line)
        out.seek(0)
        uploaded = await client.files.create(file=("bench.jsonl", out), purpose="batch")
    created = await client.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    elapsed = time.perf_counter() - started
    assert created.status == "validating"
    await client.close()
    return elapsed, size, estimate


async def main() -> int:
    requests = make_requests(REQUESTS)
    handle = await run_in_background(EmulatorConfig(batch_step_s=3600), port=0)
    try:
        llm = LLMSettings(base_url=handle.base_url, timeout_s=120)
        runs = [await one_run(llm, requests) for _ in range(RUNS)]
    finally:
        await handle.stop()
    times = [t for t, _, _ in runs]
    median = statistics.median(times)
    _, size, estimate = runs[0]
    print(f"batch build+upload+create, {REQUESTS} requests ({size / 1e6:.1f} MB JSONL)")
    print(f"  token counter: {tokenizer_name()}; estimated batch cost <= {estimate:.2f} USD")
    print(f"  runs: {', '.join(f'{t:.2f}s' for t in times)}")
    verdict = "OK" if median <= TARGET_S else "SLOW"
    print(f"  median: {median:.2f}s (target <= {TARGET_S:.1f}s) -> {verdict}")
    return 0 if median <= TARGET_S else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
