"""Content similarity between items from their texts, for offline evaluation.

Online, the search service finds content neighbours with pgvector over the catalog's stored
embeddings. Offline there is no database, so this helper embeds item texts with the project's
offline embedder (`HashingEmbedder`, the same one the semantic cache uses) and scores neighbours
by cosine similarity, with the same contract as `CoOccurrence.neighbours`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from catalog.cache.embeddings import HashingEmbedder
from catalog.recommendations.ranking import top_scores


@dataclass(frozen=True)
class ItemText:
    title: str
    brand: str | None = None
    category: str | None = None

    def text(self) -> str:
        """Title first, then brand and category when the title does not already say them."""
        parts = [self.title]
        lowered = self.title.lower()
        for extra in (self.brand, self.category):
            if extra and extra.lower() not in lowered:
                parts.append(extra)
        return " ".join(parts)


class ContentSimilarity:
    def __init__(self, embedder: HashingEmbedder | None = None) -> None:
        self.embedder = embedder or HashingEmbedder()
        self._items: list[str] = []
        self._index: dict[str, int] = {}
        self._vectors = np.zeros((0, self.embedder.dim), dtype=np.float32)

    @classmethod
    def fit(
        cls, items: Mapping[str, ItemText], embedder: HashingEmbedder | None = None
    ) -> ContentSimilarity:
        model = cls(embedder)
        model._items = sorted(items)
        model._index = {item: n for n, item in enumerate(model._items)}
        if model._items:
            model._vectors = np.vstack(
                [model.embedder.embed_one(items[i].text()) for i in model._items]
            )
        return model

    @property
    def items(self) -> Sequence[str]:
        return tuple(self._items)

    def similarity(self, a: str, b: str) -> float:
        if a not in self._index or b not in self._index:
            return 0.0
        va, vb = self._vectors[self._index[a]], self._vectors[self._index[b]]
        return max(float(va @ vb), 0.0)

    def neighbours(self, item_ids: Sequence[str], k: int) -> dict[str, float]:
        """The `k` items whose texts are closest to the seeds': the mean over seeds of the cosine
        similarity (negative similarities count as 0), so in [0, 1]; seeds are never returned."""
        seeds = list(dict.fromkeys(item_ids))
        rows = [self._index[s] for s in seeds if s in self._index]
        if k <= 0 or not rows:
            return {}
        similarities = np.clip(self._vectors[rows] @ self._vectors.T, 0.0, 1.0)
        scores = similarities.sum(axis=0).astype(np.float64) / len(seeds)
        scores[rows] = 0.0
        return top_scores(self._items, scores, k)
