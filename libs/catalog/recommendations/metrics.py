"""Top-K ranking metrics with binary relevance, as used for offline recommendation checks."""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Sequence


def precision_at_k(recommended: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Relevant items among the first `k` recommended, divided by `k` (a short list is not
    rewarded for being short)."""
    if k <= 0:
        raise ValueError("k must be positive")
    return sum(1 for item in recommended[:k] if item in relevant) / k


def recall_at_k(recommended: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Relevant items among the first `k` recommended, divided by the number of relevant items."""
    if k <= 0:
        raise ValueError("k must be positive")
    if not relevant:
        return 0.0
    return sum(1 for item in recommended[:k] if item in relevant) / len(relevant)


def ndcg_at_k(recommended: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Discounted cumulative gain of the first `k` (gain 1 per relevant item at rank r, divided
    by log2(r + 1)) over the best achievable with `min(k, |relevant|)` hits."""
    if k <= 0:
        raise ValueError("k must be positive")
    dcg = sum(
        1.0 / math.log2(rank + 2) for rank, item in enumerate(recommended[:k]) if item in relevant
    )
    ideal = sum(1.0 / math.log2(rank + 2) for rank in range(min(k, len(relevant))))
    return dcg / ideal if ideal else 0.0


def catalog_coverage(
    recommendations: Iterable[Sequence[str]], catalog: Collection[str], k: int
) -> float:
    """Share of the catalog that appears in at least one user's first `k` recommendations."""
    if not catalog:
        return 0.0
    shown = {item for ranked in recommendations for item in ranked[:k]}
    return len(shown & set(catalog)) / len(catalog)
