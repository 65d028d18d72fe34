"""Recommendations for a user or a product: content similarity (pgvector and trigram neighbours
in the catalog) fused with item-to-item co-occurrence learned from the interactions table, with
popularity to fill in for users and products nobody interacted with yet.

The co-occurrence model is refitted from the table in the background (`Recommender.refit`); a
request never waits for a fit.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

import asyncpg

from catalog.search import interactions
from catalog.search.engine import CatalogSearch
from catalog.search.models import Recommendation, Recommendations

log = logging.getLogger(__name__)

# How much one event says about a shopper's interest.
KIND_WEIGHTS: Mapping[str, float] = {"view": 1.0, "click": 2.0, "purchase": 4.0}


@dataclass(frozen=True)
class FusionWeights:
    content: float = 1.0
    collaborative: float = 1.0
    popularity: float = 0.1


class CoOccurrence:
    """Item-to-item cosine over users' interaction strengths (kind-weighted)."""

    def __init__(self) -> None:
        self._pairs: dict[str, dict[str, float]] = {}

    def fit(self, events: Iterable[interactions.StoredInteraction]) -> CoOccurrence:
        strength: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        for e in events:
            strength[e.user_id][e.product_id] += KIND_WEIGHTS.get(e.kind, 1.0)
        norms: dict[str, float] = defaultdict(float)
        dots: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        for items in strength.values():
            for item, s in items.items():
                norms[item] += s * s
            ordered = list(items.items())
            for i, (a, sa) in enumerate(ordered):
                for b, sb in ordered[i + 1 :]:
                    dots[a][b] += sa * sb
                    dots[b][a] += sa * sb
        self._pairs = {
            a: {b: d / math.sqrt(norms[a] * norms[b]) for b, d in row.items()}
            for a, row in dots.items()
        }
        return self

    def neighbours(self, item_ids: Sequence[str], k: int) -> dict[str, float]:
        scores: dict[str, float] = defaultdict(float)
        for item in item_ids:
            for other, sim in self._pairs.get(item, {}).items():
                scores[other] += sim
        top = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:k]
        return dict(top)


class Popularity:
    def __init__(self) -> None:
        self._scores: dict[str, float] = {}

    def fit(self, events: Iterable[interactions.StoredInteraction]) -> Popularity:
        scores: dict[str, float] = defaultdict(float)
        for e in events:
            scores[e.product_id] += KIND_WEIGHTS.get(e.kind, 1.0)
        self._scores = dict(scores)
        return self

    def top(self, k: int, exclude: Collection[str] = ()) -> dict[str, float]:
        ranked = sorted(self._scores.items(), key=lambda kv: (-kv[1], kv[0]))
        return dict([kv for kv in ranked if kv[0] not in exclude][:k])


def _normalised(scores: Mapping[str, float]) -> dict[str, float]:
    top = max(scores.values(), default=0.0)
    return {item: s / top for item, s in scores.items()} if top > 0 else {}


def fuse(
    content: Mapping[str, float],
    collaborative: Mapping[str, float],
    popularity: Mapping[str, float],
    weights: FusionWeights,
    k: int,
    exclude: Collection[str] = (),
) -> list[tuple[str, float]]:
    """Weighted sum of each signal scaled to [0, 1]; ties by id."""
    fused: dict[str, float] = defaultdict(float)
    for signal, weight in (
        (content, weights.content),
        (collaborative, weights.collaborative),
        (popularity, weights.popularity),
    ):
        for item, score in _normalised(signal).items():
            if item not in exclude:
                fused[item] += weight * score
    return sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))[:k]


class Recommender:
    def __init__(
        self, search: CatalogSearch, pool: asyncpg.Pool, weights: FusionWeights | None = None
    ) -> None:
        self.search = search
        self.pool = pool
        self.weights = weights or FusionWeights()
        self.cooccurrence = CoOccurrence()
        self.popularity = Popularity()
        self.fitted_events = 0
        self._lock = asyncio.Lock()

    async def refit(self) -> int:
        """Refit from the whole interactions table; returns the number of events used."""
        async with self._lock:
            events = await interactions.load(self.pool)
            cooccurrence = await asyncio.to_thread(CoOccurrence().fit, events)
            popularity = Popularity().fit(events)
            self.cooccurrence, self.popularity = cooccurrence, popularity
            self.fitted_events = len(events)
        return len(events)

    async def recommend(
        self, *, user: str | None = None, product: str | None = None, k: int = 10
    ) -> Recommendations:
        seeds: list[str] = []
        if product:
            seeds = [product]
        elif user:
            seeds = await interactions.user_history(self.pool, user)
        exclude = set(seeds)
        pool_k = max(3 * k, 30)
        content = await self.search.content_scores(seeds[:5], pool_k) if seeds else {}
        collaborative = self.cooccurrence.neighbours(seeds, pool_k) if seeds else {}
        popular = self.popularity.top(pool_k, exclude)
        strategy = "hybrid" if seeds else "popularity"
        # Over-fetch: some recommended ids may be merged or deactivated since the last fit.
        ranked = fuse(content, collaborative, popular, self.weights, 3 * k, exclude)
        live = await self.search.summaries([item for item, _ in ranked])
        results = [
            Recommendation(
                id=hit.id,
                name=hit.name,
                brand=hit.brand,
                category=hit.category,
                best_offer=hit.best_offer,
                score=round(score, 6),
            )
            for item, score in ranked
            if (hit := live.get(item)) is not None
        ][:k]
        return Recommendations(user=user, product=product, strategy=strategy, results=results)
