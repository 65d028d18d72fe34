"""Routing decisions for raw listings; the only I/O is the optional extraction cache.

A re-scrape (the persister recorded this listing's identity digest, and it is unchanged) goes
to products.prices.v1 after the business rules, with no extraction, scoring or cache lookup;
a listing the persister sent back with `FULL_PATH_HEADER` always takes the full path."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from catalog import metrics
from catalog.cache.extractions import ExtractionCache, TitleRouting, extraction_key
from catalog.cache.listing_digests import FULL_PATH_HEADER, listing_digest
from catalog.domain.extractor import extract_listing
from catalog.domain.identity import input_fingerprint
from catalog.domain.routing import choose_tier, complexity_score
from catalog.kafka.topics import PRICES, ROUTED
from catalog.service import Incoming, Outgoing, Rejected, Result
from catalog.settings import Settings
from schemas.models import Extraction, PriceObservation, RawListing, RoutedListing


def _fold(text: str) -> str:
    return " ".join(text.lower().split())


class Router:
    def __init__(self, settings: Settings, extractions: ExtractionCache | None = None) -> None:
        self.settings = settings
        self.extractions = extractions
        self.routing = settings.routing
        self.excluded = {_fold(c) for c in self.routing.excluded_categories}
        self.namespace = settings.cache.namespace
        self.fast_path = self.routing.listing_digest_ttl_s > 0

    def check_business_rules(self, listing: RawListing) -> None:
        rules = self.routing
        price = listing.price
        if price is None and rules.require_price:
            raise Rejected("business_rule", "no price stated")
        if price is not None:
            if price < rules.min_price_clp:
                raise Rejected("business_rule", f"price {price} CLP below {rules.min_price_clp}")
            if price > rules.max_price_clp:
                raise Rejected("business_rule", f"price {price} CLP above {rules.max_price_clp}")
            if listing.price_original is not None and listing.price_original < price:
                raise Rejected(
                    "business_rule", f"price_original {listing.price_original} below price {price}"
                )
        if listing.category and _fold(listing.category) in self.excluded:
            raise Rejected("excluded_category", f"category {listing.category!r} is excluded")

    def extract(self, listing: RawListing) -> Extraction:
        return extract_listing(listing)

    def title_routing(self, listing: RawListing) -> TitleRouting:
        rules = self.extract(listing)
        fingerprint = input_fingerprint(listing.name, rules.category, self.settings.cache.namespace)
        return TitleRouting(input_fingerprint=fingerprint, rules=rules)

    def route(self, listing: RawListing, known: TitleRouting | None = None) -> RoutedListing:
        """Route one listing; `known` is what its title fields gave before, if that is known."""
        self.check_business_rules(listing)
        titled = known or self.title_routing(listing)
        rules = titled.rules
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
            input_fingerprint=titled.input_fingerprint,
            category=rules.category,
            complexity=round(min(max(score, 0.0), 1.0), 4),
            tier=tier,
            rules=rules,
        )

    async def handle(self, batch: Sequence[Incoming[RawListing]]) -> list[Result]:
        # The batch's titles seen before and its listings' recorded identity digests, in one
        # lookup: re-scrapes skip the rest, and only unseen titles are extracted.
        digests = [extraction_key(item.value) for item in batch]
        candidates = (
            sorted({i.value.listing_key for i in batch if FULL_PATH_HEADER not in i.headers})
            if self.fast_path
            else []
        )
        known: dict[str, TitleRouting] = {}
        recorded: dict[str, str] = {}
        if self.extractions is not None:
            known, recorded = await self.extractions.lookup(list(set(digests)), candidates)
        fresh: dict[str, TitleRouting] = {}
        results: list[Result] = []
        stores: Counter[str] = Counter()
        tiers: Counter[str] = Counter()
        prices = 0
        for item, digest in zip(batch, digests, strict=True):
            listing = item.value
            stored = recorded.get(listing.listing_key)
            try:
                if stored is not None and FULL_PATH_HEADER not in item.headers:
                    identity = listing_digest(listing, self.namespace)
                    if identity == stored:
                        self.check_business_rules(listing)
                        observation = PriceObservation(listing=listing, identity_digest=identity)
                        results.append([Outgoing(PRICES, listing.listing_key, observation)])
                        stores[listing.retailer] += 1
                        prices += 1
                        continue
                routed = self.route(listing, known.get(digest) or fresh.get(digest))
            except Rejected as rejected:
                results.append(rejected)
                continue
            if digest not in known and digest not in fresh:
                fresh[digest] = TitleRouting(
                    input_fingerprint=routed.input_fingerprint, rules=routed.rules
                )
            stores[listing.retailer] += 1
            tiers[routed.tier] += 1
            results.append([Outgoing(ROUTED, listing.listing_key, routed)])
        # Counted once per label and batch, not once per listing.
        for store, n in stores.items():
            metrics.LISTINGS.labels(store).inc(n)
        for tier, n in tiers.items():
            metrics.TIERS.labels(tier).inc(n)
        if prices:
            metrics.FAST_PATH.labels("router", "routed").inc(prices)
        if self.extractions is not None and fresh:
            await self.extractions.set_many(list(fresh.items()))
        return results
