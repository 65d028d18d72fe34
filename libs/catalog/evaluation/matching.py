"""Grouping quality on real listings: do two offers of one product get one master?

Three public data sets (`catalog.evaluation.matching_data`), none written here and none tuned on:

* Abt-Buy valid: the offers `valid.csv` references, Abt's first, then Buy's; scored on the labeled
  pairs of `valid.csv`;
* WDC Products valid: the offers `valid.csv` references (tableA's, then tableB's: title, the
  `brand` field when filled, price in USD); scored on the labeled pairs of `valid.csv`;
* latam-grocery, the half the matcher was not trained on: store + title + price (never the EAN),
  in file order; scored on every cross-store pair, truth = same EAN.

Each set goes through `catalog normalize`'s code (`normalize_listings`: router, rules or LLM,
validator, then resolution in input order against an in-memory catalog). A pair is predicted the
same product iff both listings have a master and it is the same one; a listing that was not
normalized, or whose resolution went to review, has no master and matches nothing. Reported:
pairwise precision / recall / F1 and the share of listings without a master.

Because the closed taxonomy still sends many foreign listings to review before resolution, a
second figure, labelled "resolver on accepted listings", resolves every listing the router
accepted, with the rules extraction standing in where normalization did not finish: it measures
the resolver apart from normalization's coverage.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from catalog.evaluation import PRF, foreign_settings, run_listings
from catalog.evaluation.matching_data import LabeledPairs, LatamSet
from catalog.identity.resolver import load_resolver, matcher_judge
from catalog.inline import InlineResolution, InlineResult, LLMMode
from catalog.settings import Settings
from router.logic import Router

__all__ = [
    "BrandAgreement",
    "ResolutionScores",
    "brand_agreement",
    "cross_store_prf",
    "evaluate_labeled",
    "evaluate_latam",
    "labeled_prf",
]


@dataclass(frozen=True)
class Figures:
    """One way of running the set: matching quality and what became of the listings."""

    matching: PRF
    listings: int
    without_master: int
    outcomes: dict[str, int] = field(default_factory=dict)

    @property
    def review_rate(self) -> float:
        return self.without_master / self.listings if self.listings else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "matching": self.matching.as_dict(),
            "without_master": self.without_master,
            "without_master_rate": round(self.review_rate, 4),
            "outcomes": dict(sorted(self.outcomes.items())),
        }


@dataclass(frozen=True)
class ResolutionScores:
    name: str
    listings: int
    pairs: int
    normalize: Figures
    """Through `catalog normalize` as a user runs it."""
    resolver: Figures
    """Resolution on every listing the router accepted (rules extraction when normalization did
    not finish)."""
    normalized: int
    llm_calls: int
    seconds: float = 0.0
    brands: BrandAgreement | None = None
    """Where the truth groups listings across stores (latam-grocery's EAN)."""

    def as_dict(self) -> dict[str, Any]:
        out = {
            "listings": self.listings,
            "pairs": self.pairs,
            "normalized": self.normalized,
            "catalog_normalize": self.normalize.as_dict(),
            "resolver_on_accepted_listings": self.resolver.as_dict(),
            "llm_calls": self.llm_calls,
            "seconds": round(self.seconds, 2),
        }
        if self.brands is not None:
            out["brand_agreement_across_stores"] = self.brands.as_dict()
        return out


@dataclass(frozen=True)
class BrandAgreement:
    """Two stores' listings of one product (same gold key), both normalized: how often their
    canonical brands are the same. No brand labels exist for these titles; a pair that disagrees
    has at least one brand read wrongly (or spelled another way), so the share says how
    consistent the catalog's brand field is, and its complement is a floor on the pairs with a
    wrong brand."""

    pairs: int
    agreeing: int

    @property
    def rate(self) -> float:
        return self.agreeing / self.pairs if self.pairs else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"pairs": self.pairs, "agreeing": self.agreeing, "rate": round(self.rate, 4)}


def brand_agreement(
    brands: Sequence[str | None], gold: Sequence[str], stores: Sequence[str]
) -> BrandAgreement:
    """Over the cross-store pairs with one gold key where both listings have a brand."""
    by_key: dict[str, list[int]] = {}
    for index, key in enumerate(gold):
        if brands[index] is not None:
            by_key.setdefault(key, []).append(index)
    pairs = agreeing = 0
    for members in by_key.values():
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                if stores[a] != stores[b]:
                    pairs += 1
                    agreeing += brands[a] == brands[b]
    return BrandAgreement(pairs, agreeing)


def labeled_prf(pairs: Sequence[tuple[int, int, int]], masters: Sequence[str | None]) -> PRF:
    """Over labeled pairs of listing indices: predicted iff both have the same master."""
    tp = predicted = gold = 0
    for a, b, label in pairs:
        match = masters[a] is not None and masters[a] == masters[b]
        predicted += match
        gold += label == 1
        tp += match and label == 1
    return PRF(tp=tp, predicted=predicted, gold=gold)


def _cross_pairs(keys: Sequence[object], stores: Sequence[str]) -> int:
    """Pairs of items with the same key and different stores."""
    total: Counter[object] = Counter(keys)
    per_store: Counter[tuple[object, str]] = Counter(zip(keys, stores, strict=True))
    same = sum(n * (n - 1) // 2 for n in total.values())
    same_store = sum(n * (n - 1) // 2 for n in per_store.values())
    return same - same_store


def cross_store_prf(
    masters: Sequence[str | None], gold: Sequence[str], stores: Sequence[str]
) -> PRF:
    """Over every pair of listings from different stores: predicted iff both have the same
    master, truly the same iff the same gold key."""
    if not len(masters) == len(gold) == len(stores):
        raise ValueError("one master, gold key and store per listing")
    kept = [i for i, m in enumerate(masters) if m is not None]
    predicted = _cross_pairs([masters[i] for i in kept], [stores[i] for i in kept])
    tp = _cross_pairs([(masters[i], gold[i]) for i in kept], [stores[i] for i in kept])
    return PRF(tp=tp, predicted=predicted, gold=_cross_pairs(list(gold), list(stores)))


def _figures(results: Sequence[InlineResult], matching: PRF) -> Figures:
    outcomes: Counter[str] = Counter()
    for result in results:
        if result.decision is not None:
            outcomes[result.decision.outcome] += 1
        elif result.product is None:
            outcomes["not normalized"] += 1
    without = sum(1 for r in results if r.master_id is None)
    return Figures(matching, len(results), without, dict(outcomes))


def _run(
    settings: Settings, llm: LLMMode, listings: Sequence[Any], concurrency: int
) -> tuple[list[InlineResult], list[InlineResult]]:
    """The results of `catalog normalize`, and the same normalizations resolved again with
    every accepted listing included."""
    import asyncio

    settings = foreign_settings(settings)
    results = run_listings(settings, list(listings), llm, concurrency)
    resolver = load_resolver()
    everyone = InlineResolution(
        resolver,
        judge=matcher_judge(resolver.matcher),
        resolve_unnormalized=True,
        router=Router(settings),
    )
    again = asyncio.run(everyone.resolve_all([_unresolved(r) for r in results]))
    return results, again


def _unresolved(result: InlineResult) -> InlineResult:
    from dataclasses import replace

    return replace(result, decision=None)


def evaluate_labeled(
    settings: Settings, llm: LLMMode, data: LabeledPairs, concurrency: int = 16
) -> ResolutionScores:
    started = time.perf_counter()
    results, everyone = _run(settings, llm, data.listings, concurrency)
    official = _figures(results, labeled_prf(data.pairs, [r.master_id for r in results]))
    resolver = _figures(everyone, labeled_prf(data.pairs, [r.master_id for r in everyone]))
    return ResolutionScores(
        name=data.name,
        listings=len(data.listings),
        pairs=len(data.pairs),
        normalize=official,
        resolver=resolver,
        normalized=sum(r.ok for r in results),
        llm_calls=sum(r.llm_calls for r in results),
        seconds=time.perf_counter() - started,
    )


def evaluate_latam(
    settings: Settings, llm: LLMMode, data: LatamSet, concurrency: int = 16
) -> ResolutionScores:
    started = time.perf_counter()
    results, everyone = _run(settings, llm, data.listings, concurrency)
    stores = data.stores
    official = _figures(results, cross_store_prf([r.master_id for r in results], data.eans, stores))
    resolver = _figures(
        everyone, cross_store_prf([r.master_id for r in everyone], data.eans, stores)
    )
    brands = [r.product.brand if r.product is not None else None for r in results]
    return ResolutionScores(
        name="latam-grocery eval half",
        listings=len(data.listings),
        pairs=official.matching.gold,
        normalize=official,
        resolver=resolver,
        normalized=sum(r.ok for r in results),
        llm_calls=sum(r.llm_calls for r in results),
        seconds=time.perf_counter() - started,
        brands=brand_agreement(brands, data.eans, stores),
    )
