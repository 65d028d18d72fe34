"""The pairwise LLM judgement of resolution's uncertain band.

Between the matcher's `new_below` and `attach_at` the matcher is not sure enough to decide
alone. When an LLM is configured the persister asks it, one candidate at a time: "are these two
listings the same product?". The request is a chat completion through the real `openai` SDK and
the project's resilience layer (breaker, RPM/TPM limits, retries), with its own versioned prompt
(`MATCH_PROMPT_VERSION`) and its own accounting (`catalog_identity_judgements_total`,
`catalog_identity_judge_cost_usd_total`, plus the LLM call, token and cost counters every call
feeds). The project's emulator recognises this prompt and answers it with the matcher at its
`judge_at` threshold for the listing's category group, so offline runs judge exactly as
`CATALOG_IDENTITY__JUDGE=matcher` would.

An answer that is not the JSON object the prompt asks for counts as "not the same product": the
listing gets a master of its own, which the re-resolution pass (`catalog resolve --rerun`) can
merge later; nothing is lost and nothing is merged on a guess.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from openai import AsyncOpenAI

from catalog import metrics
from catalog.identity.model import Candidate, Facts
from catalog.llm.calls import account, usage_from
from catalog.llm.client import chat_body
from catalog.llm.resilience import Resilience
from catalog.llm.tokens import estimate_request
from catalog.settings import LLMSettings

__all__ = [
    "MATCH_PROMPT_VERSION",
    "LLMJudge",
    "build_match_messages",
    "facts_from_payload",
    "parse_match_prompt",
    "parse_verdict",
]

MATCH_PROMPT_VERSION = "match-v1"
_HEADER = f"[{MATCH_PROMPT_VERSION}] Are these two listings the same product?"
SYSTEM_PROMPT = (
    "You are a retail catalog expert. Decide whether two store listings sell the same product: "
    "the same manufacturer model with the same identity attributes (capacity, screen size, "
    "volume, weight, pack count, processor). Colour names, store wording, word order and "
    "price differences do not make two products different; a different model code, capacity, "
    "size, volume or pack count does. Answer with one JSON object only: "
    '{"same": true or false, "confidence": a number from 0 to 1}.'
)


def _payload(facts: Facts) -> dict[str, Any]:
    """What the model is shown of one side: the facts resolution compares, nothing else."""
    payload: dict[str, Any] = {"title": facts.title}
    if facts.brand:
        payload["brand"] = facts.brand
    if facts.category:
        payload["category"] = facts.category
    if facts.attributes:
        payload["attributes"] = dict(facts.attributes)
    if facts.gtin:
        payload["gtin"] = facts.gtin
    if facts.codes:
        payload["codes"] = sorted(facts.codes)
    if facts.price is not None:
        payload["price"] = facts.price
    if facts.retailer:
        payload["store"] = facts.retailer
    return payload


def build_match_messages(listing: Facts, candidate: Candidate) -> list[dict[str, str]]:
    master = _payload(candidate.facts)
    if candidate.retailers:
        master["stores"] = sorted(candidate.retailers)
    body = json.dumps(
        {"listing": _payload(listing), "candidate": master},
        ensure_ascii=False,
        sort_keys=True,
    )
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": f"{_HEADER}\n{body}"},
    ]


def facts_from_payload(payload: Mapping[str, Any]) -> Facts:
    """The inverse of what the prompt shows: how the emulator reads a side back."""
    attributes = payload.get("attributes")
    price = payload.get("price")
    return Facts(
        title=str(payload.get("title") or ""),
        brand=payload.get("brand") or None,
        category=payload.get("category") or None,
        attributes=dict(attributes) if isinstance(attributes, Mapping) else {},
        gtin=payload.get("gtin") or None,
        codes=frozenset(str(c) for c in payload.get("codes") or ()),
        price=float(price) if isinstance(price, int | float) else None,
        retailer=payload.get("store") or None,
    )


def parse_match_prompt(user_text: str) -> tuple[Facts, Candidate] | None:
    """The two sides of a pairwise prompt, or None when `user_text` is not one."""
    header, _, body = user_text.partition("\n")
    if header != _HEADER:
        return None
    try:
        data = json.loads(body)
        master = data["candidate"]
        candidate = Candidate(
            "candidate",
            facts_from_payload(master),
            frozenset(str(store) for store in master.get("stores") or ()),
        )
        return facts_from_payload(data["listing"]), candidate
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def parse_verdict(content: str | None) -> bool | None:
    """`same` from the answer, or None when the answer is not the object the prompt asks for."""
    try:
        data = json.loads(content or "")
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("same"), bool):
        return None
    return bool(data["same"])


class LLMJudge:
    """A resolution `Judge` backed by a chat model (default: the configured mini model)."""

    def __init__(
        self,
        client: AsyncOpenAI,
        llm: LLMSettings,
        *,
        resilience: Resilience | None = None,
        model: str | None = None,
    ) -> None:
        self.client = client
        self.llm = llm
        self.resilience = resilience or Resilience(llm)
        self.model = model or llm.mini_model

    async def __call__(self, facts: Facts, candidate: Candidate) -> bool:
        body = chat_body(self.llm, self.model, build_match_messages(facts, candidate))
        estimate = estimate_request(self.llm, body, batch=False)
        started = time.perf_counter()
        try:
            response = await self.resilience.call(
                self.model,
                "judge",
                lambda: self.client.chat.completions.create(**body),
                tokens=estimate.tokens,
            )
        except Exception:
            # Not a verdict: the persister's batch fails and is retried once the endpoint is
            # back (an outage is waited out, never turned into a decision).
            account(self.llm, self.model, "sync", usage_from(None), ok=False)
            raise
        usage = usage_from(response.usage)
        cost = account(self.llm, self.model, "sync", usage, ok=True)
        metrics.JUDGE_COST.inc(cost)
        metrics.JUDGE_SECONDS.observe(time.perf_counter() - started)
        content = response.choices[0].message.content if response.choices else None
        verdict = parse_verdict(content)
        metrics.JUDGEMENTS.labels(
            "unparseable" if verdict is None else ("same" if verdict else "different")
        ).inc()
        return bool(verdict)
