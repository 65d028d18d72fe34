"""Selecting the best-scored items of a dense score vector."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def top_scores(items: Sequence[str], scores: np.ndarray, k: int) -> dict[str, float]:
    """The `k` best positive scores by item, best first; ties broken by item id."""
    candidates = np.flatnonzero(scores > 0.0)
    if candidates.size > k:
        cut = np.partition(scores[candidates], -k)[-k]
        candidates = candidates[scores[candidates] >= cut]
    ranked = sorted(candidates.tolist(), key=lambda n: (-scores[n], items[n]))[:k]
    return {items[n]: float(scores[n]) for n in ranked}
