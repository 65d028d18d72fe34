"""Recommendations for a user or a product, served from the live catalog: content similarity
(the search engine's similar products: pgvector and trigram neighbours in the same category)
fused with item co-occurrence learned from the interactions table and popularity, with the
fusion weights tuned offline (`catalog.recommendations`, `FusionWeights.load()`).

The co-occurrence and popularity models are refitted from the table in the background
(`Recommender.refit`); a request never waits for a fit.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import cast

import asyncpg

from catalog.recommendations import (
    CANDIDATE_DEPTH,
    CoOccurrence,
    FusionWeights,
    Interaction,
    InteractionKind,
    Popularity,
    recommend,
)
from catalog.search import interactions
from catalog.search.engine import CatalogSearch
from catalog.search.models import Recommendation, Recommendations

log = logging.getLogger(__name__)

# Content neighbours are looked up for at most this many of a user's latest items.
CONTENT_SEEDS = 5


def as_interactions(events: Sequence[interactions.StoredInteraction]) -> list[Interaction]:
    return [
        Interaction(
            user_id=e.user_id,
            item_id=e.product_id,
            kind=cast(InteractionKind, e.kind),
            at=e.occurred_at,
        )
        for e in events
    ]


class Recommender:
    def __init__(
        self, search: CatalogSearch, pool: asyncpg.Pool, weights: FusionWeights | None = None
    ) -> None:
        self.search = search
        self.pool = pool
        self.weights = weights or FusionWeights.load()
        self.cooccurrence: CoOccurrence | None = None
        self.popularity: Popularity | None = None
        self.fitted_events = 0
        self._lock = asyncio.Lock()

    async def refit(self) -> int:
        """Refit from the whole interactions table; returns the number of events used."""
        async with self._lock:
            events = as_interactions(await interactions.load(self.pool))
            cooccurrence = await asyncio.to_thread(CoOccurrence.fit, events)
            popularity = await asyncio.to_thread(Popularity.fit, events)
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
        content = (
            await self.search.content_scores(seeds[:CONTENT_SEEDS], CANDIDATE_DEPTH)
            if seeds
            else {}
        )
        # Over-fetch: some recommended ids may be merged or deactivated since the last fit.
        ranked = recommend(
            seeds,
            self.weights,
            3 * k,
            content=content,
            cooccurrence=self.cooccurrence,
            popularity=self.popularity,
        )
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
        return Recommendations(
            user=user,
            product=product,
            strategy=f"hybrid {self.weights.version}" if seeds else "popularity",
            results=results,
        )
