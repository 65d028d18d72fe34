"""Cost of normalizing 100,000 listings: the plan's reference mix against the naive approach.

Optimized (the plan): 40% of listings answered by the cache (no LLM call); the rest through the
Batch API (50% discount) with 80% on gpt-5-mini with the compressed batch prompt, 15% on gpt-5
with the detailed prompt and 5% on the fallback model with the fallback prompt.
Naive: every listing sent synchronously to gpt-5 with the detailed prompt.

Prompt tokens are the real counts of the rendered prompts (`catalog.llm.tokens`, o200k when
tiktoken can load it offline, else the calibrated estimate) for every routable listing of
`data/sample/listings.jsonl`; answer sizes (completion tokens, reasoning included) are measured
by asking an in-process emulator each of those prompts through the real `openai` SDK. Prices come
from `LLMSettings.prices`. Prints both totals and their ratio; target <= 10%.

Run: `.venv/bin/python benchmarks/bench_cost.py`
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

from catalog.llm.calls import prompt_input
from catalog.llm.client import chat_body, make_client
from catalog.llm.cost import cost_usd
from catalog.llm.prompts import build_messages
from catalog.llm.tokens import count_message_tokens, tokenizer_name
from catalog.settings import LLMSettings, Settings
from openai_emulator import EmulatorConfig, run_in_background
from router.logic import Router
from schemas.models import LLMRequest, PromptKind, RawListing, Usage

LISTINGS = 100_000
CACHE_HIT_RATE = 0.40
MIX: dict[str, float] = {"mini": 0.80, "full": 0.15, "fallback": 0.05}
TARGET_RATIO = 0.10
SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample" / "listings.jsonl"


@dataclass(frozen=True)
class Profile:
    """Mean billed tokens of one (model, prompt) pair over the sample."""

    model: str
    kind: PromptKind
    prompt_tokens: float
    completion_tokens: float


def sample_requests() -> list[LLMRequest]:
    router = Router(Settings())
    out = []
    for i, line in enumerate(SAMPLE.read_text().splitlines()):
        if not line.strip():
            continue
        try:
            routed = router.route(RawListing.model_validate(json.loads(line)))
        except Exception:  # rejected by the router's business rules: never reaches an LLM
            continue
        out.append(
            LLMRequest(
                custom_id=f"cost-{i}",
                routed=routed,
                model="gpt-5-mini",
                prompt_kind="minimal",
                prompt_version="norm-ia-v2.0",
            )
        )
    return out


async def profile(
    llm: LLMSettings, requests: list[LLMRequest], model: str, kind: PromptKind
) -> Profile:
    client = make_client(llm, max_retries=0)
    gate = asyncio.Semaphore(32)
    prompts: list[int] = []
    completions: list[int] = []

    async def one(request: LLMRequest) -> None:
        messages = build_messages(kind, prompt_input(request))
        prompts.append(count_message_tokens(messages))
        async with gate:
            response = await client.chat.completions.create(**chat_body(llm, model, messages))
        assert response.usage is not None
        completions.append(response.usage.completion_tokens)

    await asyncio.gather(*(one(r) for r in requests))
    await client.close()
    return Profile(model, kind, statistics.mean(prompts), statistics.mean(completions))


def cost_of(llm: LLMSettings, p: Profile, n: float, *, batch: bool) -> float:
    usage = Usage(
        prompt_tokens=round(p.prompt_tokens * 1000),
        completion_tokens=round(p.completion_tokens * 1000),
    )
    return cost_usd(llm, p.model, usage, batch=batch) * n / 1000


async def main() -> int:
    requests = sample_requests()
    handle = await run_in_background(EmulatorConfig(), port=0)
    try:
        llm = LLMSettings(base_url=handle.base_url)
        tiers = {
            "mini": await profile(llm, requests, llm.mini_model, "batch"),
            "full": await profile(llm, requests, llm.full_model, "detailed"),
            "fallback": await profile(llm, requests, llm.fallback_model, "fallback"),
        }
        naive_profile = tiers["full"]
    finally:
        await handle.stop()
    sent = LISTINGS * (1 - CACHE_HIT_RATE)
    print(f"cost of {LISTINGS:,} listings; {len(requests)} sampled listings; {tokenizer_name()}")
    optimized = 0.0
    for tier, share in MIX.items():
        p = tiers[tier]
        cost = cost_of(llm, p, sent * share, batch=True)
        optimized += cost
        print(
            f"  {tier:8s} {p.model:12s} {p.kind:9s} prompt {p.prompt_tokens:6.1f} tok, "
            f"answer {p.completion_tokens:6.1f} tok, {sent * share:8,.0f} req (batch): "
            f"{cost:8.2f} USD"
        )
    naive = cost_of(llm, naive_profile, LISTINGS, batch=False)
    ratio = optimized / naive
    print(f"  optimized (40% cache hits, 80/15/5 mix, batch -50%): {optimized:8.2f} USD")
    print(f"  naive (all sync, {naive_profile.model}, detailed prompt):   {naive:8.2f} USD")
    verdict = "OK" if ratio <= TARGET_RATIO else "ABOVE TARGET"
    print(f"  ratio: {ratio:.1%} (target <= {TARGET_RATIO:.0%}) -> {verdict}")
    return 0 if ratio <= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
