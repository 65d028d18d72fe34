"""Item-to-item collaborative filtering from co-occurrence in users' histories.

Two items are close when the same users interacted with both. The raw co-occurrence of weighted
user-item strengths is normalised by cosine (so a best-seller does not become everyone's
neighbour) and shrunk towards zero when few users support it (`support / (support + shrinkage)`,
the usual damping of similarities seen in one or two histories).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
from scipy import sparse

from catalog.recommendations.interactions import KIND_WEIGHTS, Interaction, user_item_strengths
from catalog.recommendations.ranking import top_scores


class CoOccurrence:
    def __init__(
        self,
        shrinkage: float = 2.0,
        kind_weights: Mapping[str, float] = KIND_WEIGHTS,
    ) -> None:
        self.shrinkage = shrinkage
        self.kind_weights = kind_weights
        self._items: list[str] = []
        self._index: dict[str, int] = {}
        self._similarity: sparse.csr_matrix = sparse.csr_matrix((0, 0))

    @classmethod
    def fit(
        cls,
        interactions: Iterable[Interaction],
        shrinkage: float = 2.0,
        kind_weights: Mapping[str, float] = KIND_WEIGHTS,
    ) -> CoOccurrence:
        model = cls(shrinkage=shrinkage, kind_weights=kind_weights)
        model._fit(interactions)
        return model

    def _fit(self, interactions: Iterable[Interaction]) -> None:
        cells = user_item_strengths(interactions, self.kind_weights)
        users = {user: n for n, user in enumerate(sorted({u for u, _ in cells}))}
        self._items = sorted({i for _, i in cells})
        self._index = {item: n for n, item in enumerate(self._items)}
        if not cells:
            self._similarity = sparse.csr_matrix((0, 0))
            return
        rows = np.fromiter((users[u] for u, _ in cells), dtype=np.int64, count=len(cells))
        cols = np.fromiter((self._index[i] for _, i in cells), dtype=np.int64, count=len(cells))
        values = np.fromiter(cells.values(), dtype=np.float64, count=len(cells))
        shape = (len(users), len(self._items))
        weighted = sparse.csr_matrix((values, (rows, cols)), shape=shape)
        present = sparse.csr_matrix((np.ones_like(values), (rows, cols)), shape=shape)
        cooccurrence = (weighted.T @ weighted).tocoo()
        support = (present.T @ present).tocsr()
        norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=0)).ravel())
        i, j, raw = cooccurrence.row, cooccurrence.col, cooccurrence.data
        off_diagonal = i != j
        i, j, raw = i[off_diagonal], j[off_diagonal], raw[off_diagonal]
        n_users = np.asarray(support[i, j]).ravel()
        cosine = raw / (norms[i] * norms[j])
        damped = cosine * n_users / (n_users + self.shrinkage)
        self._similarity = sparse.csr_matrix(
            (np.clip(damped, 0.0, 1.0), (i, j)), shape=(len(self._items), len(self._items))
        )

    @property
    def items(self) -> Sequence[str]:
        return tuple(self._items)

    def similarity(self, a: str, b: str) -> float:
        if a not in self._index or b not in self._index:
            return 0.0
        return float(self._similarity[self._index[a], self._index[b]])

    def neighbours(self, item_ids: Sequence[str], k: int) -> dict[str, float]:
        """The `k` items closest to the seeds, best first: the mean of their similarities to
        each seed, so in [0, 1]; the seeds themselves are never returned. Unknown seeds count
        as seeds with no neighbours."""
        seeds = list(dict.fromkeys(item_ids))
        rows = [self._index[s] for s in seeds if s in self._index]
        if k <= 0 or not rows:
            return {}
        scores = np.asarray(self._similarity[rows].sum(axis=0)).ravel() / len(seeds)
        scores[rows] = 0.0
        return top_scores(self._items, scores, k)
