"""What to do with each routed listing once the cache has answered (or not); no I/O here."""

from __future__ import annotations

from collections.abc import Sequence

from catalog import products
from catalog.cache.multilevel import Hit, LookupKey
from catalog.kafka.topics import LLM_REQUESTS, VALIDATED
from catalog.service import Outgoing
from catalog.settings import Settings
from schemas.models import LLMRequest, PromptKind, RoutedListing


def lookup_key(routed: RoutedListing) -> LookupKey:
    return LookupKey(
        input_fingerprint=routed.input_fingerprint,
        title=routed.listing.name,
        category=routed.category,
        brand=routed.rules.brand,
        attributes=routed.rules.attributes,
        model=routed.rules.model,
    )


def prompt_kind_for(routed: RoutedListing, settings: Settings) -> PromptKind:
    if routed.tier == "full":
        return "detailed"
    if routed.complexity < settings.routing.simple_threshold:
        return "minimal"
    return "standard"


def decide(routed: RoutedListing, hit: Hit | None, settings: Settings) -> Sequence[Outgoing]:
    key = routed.listing.listing_key
    if hit is not None:
        return [Outgoing(VALIDATED, key, products.from_entry(routed, hit.entry, hit.level))]  # type: ignore[arg-type]
    rules = routed.rules
    if routed.tier == "rules" and rules.brand and rules.model and rules.category:
        validated = products.from_extraction(
            routed, rules, source="rules", prompt_version=settings.llm.prompt_version
        )
        return [Outgoing(VALIDATED, key, validated)]
    model = settings.llm.full_model if routed.tier == "full" else settings.llm.mini_model
    request = LLMRequest(
        custom_id=products.custom_id(key, routed.input_fingerprint, 1),
        routed=routed,
        model=model,
        prompt_kind=prompt_kind_for(routed, settings),
        prompt_version=settings.llm.prompt_version,
    )
    return [Outgoing(LLM_REQUESTS, request.custom_id, request, {"attempt": "1"})]
