"""Quality figures of the platform, measured through the same path users get.

`python -m catalog.evaluation` (`make eval`) normalizes data sets with the code behind
`catalog normalize` (`catalog.cli.normalize.normalize_listings`: router, rules tier or LLM with the
validator's fallback chain, then identity resolution in input order) and scores the output:

* `matching`: grouping quality on real listings nobody here wrote (`matching_data`): Abt-Buy
  valid, WDC Products valid and the held-back half of latam-grocery, read from
  `../shared/data` when present;
* `wdc_pave`: WDC PAVE attribute extraction, train split (English), read from
  `../shared/data/wdc-pave` when present;
* `chile`: real Chilean store titles without labels (Jumbo dairy, SoloTodo graphics cards),
  checked against what the sources state: false merges, section, brand, stated sizes;
* `devset`: the generated dev set (`tests/data/devset.jsonl`), a regression fixture only: its
  listings and labels come from the project's own templates, so it is no evidence of quality.

`recommendations` (run on its own by `make eval`) scores the recommendation sources and their
fusion on the shopper logs of `../shared/data/interactions`, beside a popularity baseline.

The public data sets are never copied into the repository; when their folder is absent the
evaluation says so and skips them. `report` prints one table and writes `out/eval.json`.
"""

from __future__ import annotations

import asyncio
import unicodedata
from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from catalog.inline import InlineResult, LLMMode
    from catalog.settings import Settings
    from schemas.models import RawListing

__all__ = [
    "PRF",
    "fold_model",
    "foreign_settings",
    "pairwise_prf",
    "run_listings",
    "values_equal",
]

REL_TOLERANCE = 0.01
ABS_TOLERANCE = 0.01


@dataclass(frozen=True)
class PRF:
    """Counts behind precision, recall and F1: true positives, predicted and gold totals."""

    tp: int
    predicted: int
    gold: int

    @property
    def precision(self) -> float:
        return self.tp / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.tp / self.gold if self.gold else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict[str, float | int]:
        return {
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
            "tp": self.tp,
            "predicted": self.predicted,
            "gold": self.gold,
        }


def fold_model(text: str | None) -> str:
    """Comparable form of a model name: casefolded, accents, spaces and hyphens removed."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return "".join(c for c in plain if not c.isspace() and c not in "-‐‑–—")


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip().replace(",", "."))
        except ValueError:
            return None
    return None


def values_equal(predicted: object, gold: object) -> bool:
    """Attribute values agree: numbers within 1% (or 0.01), booleans exactly, text casefolded."""
    if isinstance(predicted, bool) or isinstance(gold, bool):
        return isinstance(predicted, bool) and isinstance(gold, bool) and predicted == gold
    a, b = _number(predicted), _number(gold)
    if a is not None and b is not None:
        return abs(a - b) <= max(REL_TOLERANCE * max(abs(a), abs(b)), ABS_TOLERANCE)
    return str(predicted).strip().casefold() == str(gold).strip().casefold()


def _pairs(counts: Counter[Any]) -> int:
    return sum(n * (n - 1) // 2 for n in counts.values())


def pairwise_prf(predicted: Sequence[Hashable | None], gold: Sequence[Hashable]) -> PRF:
    """Pairwise clustering quality: a pair is predicted together when both items have the same
    non-None predicted key, and is truly together when they share the gold key."""
    if len(predicted) != len(gold):
        raise ValueError("predicted and gold must have the same length")
    pred = Counter(p for p in predicted if p is not None)
    both = Counter((p, g) for p, g in zip(predicted, gold, strict=True) if p is not None)
    return PRF(tp=_pairs(both), predicted=_pairs(pred), gold=_pairs(Counter(gold)))


def run_listings(
    settings: Settings, listings: Sequence[RawListing], llm: LLMMode, concurrency: int = 16
) -> list[InlineResult]:
    """Normalize listings exactly as `catalog normalize` does (same function, same decisions)."""
    from catalog.cli.normalize import normalize_listings

    return asyncio.run(normalize_listings(settings, listings, llm=llm, concurrency=concurrency))


def foreign_settings(settings: Settings) -> Settings:
    """Settings for the public data sets: their prices are USD amounts (or absent, then 1), so the
    router's CLP price floor is lowered to 1 instead of rejecting them as absurd."""
    return settings.model_copy(
        update={"routing": settings.routing.model_copy(update={"min_price_clp": 1})}
    )
