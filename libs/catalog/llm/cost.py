"""Pricing of LLM calls from the configured price table (USD per million tokens)."""

from __future__ import annotations

from catalog.settings import LLMSettings
from schemas.models import Usage


def cost_usd(llm: LLMSettings, model: str, usage: Usage, *, batch: bool) -> float:
    """Reasoning tokens are billed as output tokens; they are already inside
    `completion_tokens` as the API reports them, so they are not added twice."""
    price = llm.prices.get(model)
    if price is None:
        raise KeyError(f"no price configured for model {model!r}")
    total = (
        usage.prompt_tokens * price.input_per_m + usage.completion_tokens * price.output_per_m
    ) / 1_000_000
    return round(total * (llm.batch_discount if batch else 1.0), 8)
