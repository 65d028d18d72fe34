"""Popularity: the items most users engaged with, optionally favouring recent engagement."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import datetime

from catalog.recommendations.interactions import KIND_WEIGHTS, Interaction, user_item_strengths


class Popularity:
    """Each item scores the sum over users of their (log-damped) strength on it, so one user
    viewing an item a hundred times does not make it popular. With `half_life_days`, an event
    loses half its weight every half-life before `now` (default: the latest event). Scores are
    divided by the best item's, so the most popular item scores 1.0."""

    def __init__(self, scores: Mapping[str, float]) -> None:
        best = max(scores.values(), default=0.0)
        ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
        self._ranked: list[tuple[str, float]] = [
            (item, score / best) for item, score in ranked if score > 0.0
        ]

    @classmethod
    def fit(
        cls,
        interactions: Iterable[Interaction],
        half_life_days: float | None = None,
        now: datetime | None = None,
        kind_weights: Mapping[str, float] = KIND_WEIGHTS,
    ) -> Popularity:
        cells = user_item_strengths(interactions, kind_weights, half_life_days, now)
        scores: dict[str, float] = {}
        for (_, item), value in cells.items():
            scores[item] = scores.get(item, 0.0) + value
        return cls(scores)

    def __len__(self) -> int:
        return len(self._ranked)

    def top(self, k: int, exclude: Collection[str] = ()) -> dict[str, float]:
        """The `k` most popular items not in `exclude`, best first, scores in (0, 1]."""
        out: dict[str, float] = {}
        if k <= 0:
            return out
        excluded = set(exclude)
        for item, score in self._ranked:
            if item in excluded:
                continue
            out[item] = score
            if len(out) >= k:
                break
        return out
