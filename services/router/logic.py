"""Routing decisions for one raw listing; no I/O."""

from __future__ import annotations

from collections.abc import Sequence

from catalog import metrics
from catalog.domain.extractor import extract
from catalog.domain.identity import input_fingerprint
from catalog.domain.routing import choose_tier, complexity_score
from catalog.kafka.topics import ROUTED
from catalog.service import Incoming, Outgoing, Rejected, Result
from catalog.settings import Settings
from schemas.models import RawListing, RoutedListing


def _fold(text: str) -> str:
    return " ".join(text.lower().split())


class Router:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.routing = settings.routing
        self.excluded = {_fold(c) for c in self.routing.excluded_categories}

    def check_business_rules(self, listing: RawListing) -> None:
        rules = self.routing
        if listing.price < rules.min_price_clp:
            raise Rejected(
                "business_rule", f"price {listing.price} CLP below {rules.min_price_clp}"
            )
        if listing.price > rules.max_price_clp:
            raise Rejected(
                "business_rule", f"price {listing.price} CLP above {rules.max_price_clp}"
            )
        if listing.price_original is not None and listing.price_original < listing.price:
            raise Rejected(
                "business_rule",
                f"price_original {listing.price_original} below price {listing.price}",
            )
        if listing.category and _fold(listing.category) in self.excluded:
            raise Rejected("excluded_category", f"category {listing.category!r} is excluded")

    def route(self, listing: RawListing) -> RoutedListing:
        self.check_business_rules(listing)
        rules = extract(
            listing.name,
            retailer_category=listing.category,
            brand_hint=listing.brand,
            retailer_attributes=listing.attributes,
        )
        score = complexity_score(listing.name, rules.category, listing.price, rules)
        tier = choose_tier(
            score,
            rules,
            simple_threshold=self.routing.simple_threshold,
            complex_threshold=self.routing.complex_threshold,
            rules_min_confidence=self.routing.rules_min_confidence,
        )
        return RoutedListing(
            listing=listing,
            input_fingerprint=input_fingerprint(
                listing.name, rules.category, self.settings.cache.namespace
            ),
            category=rules.category,
            complexity=round(min(max(score, 0.0), 1.0), 4),
            tier=tier,
            rules=rules,
        )

    async def handle(self, batch: Sequence[Incoming[RawListing]]) -> list[Result]:
        results: list[Result] = []
        for item in batch:
            try:
                routed = self.route(item.value)
            except Rejected as rejected:
                results.append(rejected)
                continue
            metrics.LISTINGS.labels(item.value.retailer).inc()
            metrics.TIERS.labels(routed.tier).inc()
            results.append([Outgoing(ROUTED, item.value.listing_key, routed)])
        return results
