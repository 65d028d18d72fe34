"""Shopper interactions and how much each one says about interest in an item."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

InteractionKind = Literal["view", "click", "purchase", "rating"]

# A purchase says more than a click, a click more than a view. A rating is a purchase with an
# opinion: its strength is scaled by the stars (value / RATING_SCALE), so a 1-star review still
# counts as the user having the item, only less.
KIND_WEIGHTS: Mapping[str, float] = {"view": 1.0, "click": 2.0, "purchase": 4.0, "rating": 4.0}
RATING_SCALE = 5.0


@dataclass(frozen=True)
class Interaction:
    """One event of a user on an item. `value` is the rating for `rating` events and an event
    weight (usually 1.0) for the others."""

    user_id: str
    item_id: str
    kind: InteractionKind
    at: datetime
    value: float = 1.0


def strength(interaction: Interaction, kind_weights: Mapping[str, float] = KIND_WEIGHTS) -> float:
    """The weight one event adds to its (user, item) cell."""
    base = kind_weights.get(interaction.kind, 1.0)
    if interaction.kind == "rating":
        return base * max(interaction.value, 0.0) / RATING_SCALE
    return base * max(interaction.value, 0.0)


def user_item_strengths(
    interactions: Iterable[Interaction],
    kind_weights: Mapping[str, float] = KIND_WEIGHTS,
    half_life_days: float | None = None,
    now: datetime | None = None,
) -> dict[tuple[str, str], float]:
    """Summed strength per (user, item), log-damped so that repeated views of one item do not
    outweigh a single purchase of many. With `half_life_days`, each event is discounted by its
    age at `now` (default: the latest event)."""
    events = list(interactions)
    if half_life_days is not None and now is None and events:
        now = max(e.at for e in events)
    totals: dict[tuple[str, str], float] = {}
    for event in events:
        weight = strength(event, kind_weights)
        if half_life_days is not None and now is not None:
            age_days = max((now - event.at).total_seconds(), 0.0) / 86400.0
            weight *= 0.5 ** (age_days / half_life_days)
        if weight <= 0.0:
            continue
        key = (event.user_id, event.item_id)
        totals[key] = totals.get(key, 0.0) + weight
    return {key: math.log1p(total) for key, total in totals.items()}
