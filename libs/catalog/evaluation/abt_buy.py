"""Abt-Buy product matching (valid split): do two offers get the same product fingerprint?

Data: `<data-dir>/abt-buy/` (DeepMatcher form: lowercased, tokenised English titles of US
electronics). Each table row becomes a raw listing: retailer `abt` (tableA) or `buy` (tableB),
`sku` = row id, `name` = the title, `price` = the listed USD amount rounded to an integer, or 1
when the row has none; no retailer category and no brand field. The evaluation settings lower the
router's price floor to 1 so that these USD amounts are not rejected as absurd CLP prices.

A pair of `valid.csv` is predicted to match iff both offers were normalized and their product
fingerprints are equal; precision, recall and F1 are over the labeled pairs. This is a hard,
foreign test for a platform built for Chilean, Spanish-language listings: the taxonomy and brand
table cover only part of these products, and a listing without a category gets no fingerprint.
The published reference points (LLM matchers and Ditto) compare offers pairwise with a model;
the figure here is what the identity function alone achieves.
"""

from __future__ import annotations

import csv
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from catalog.evaluation import PRF, foreign_settings, run_listings
from catalog.inline import LLMMode
from catalog.settings import Settings
from schemas.models import RawListing

__all__ = ["REFERENCE", "AbtBuyScores", "evaluate", "listing", "load", "score"]

REFERENCE = "published F1: GPT-4o-mini 87-91, GPT-4o 90-94, Ditto 89.3"
RETAILERS = ("abt", "buy")
Pairs = list[tuple[str, str, int]]


@dataclass(frozen=True)
class AbtBuyScores:
    pairs: int
    matching: PRF
    listings: int
    normalized: int
    llm_calls: int
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "pairs": self.pairs,
            "matching": self.matching.as_dict(),
            "listings": self.listings,
            "normalized": self.normalized,
            "llm_calls": self.llm_calls,
            "seconds": round(self.seconds, 2),
            "reference": REFERENCE,
        }


def _price(raw: str | None) -> int:
    text = (raw or "").replace("$", "").replace(",", "").strip()
    try:
        value = round(float(text))
    except ValueError:
        return 1
    return max(value, 1)


def listing(retailer: str, row: dict[str, str]) -> RawListing:
    return RawListing(
        retailer=retailer,
        sku=row["id"].strip(),
        name=(row["name"] or "").strip()[:500] or "(no title)",
        price=_price(row.get("price")),
    )


def _table(path: Path, retailer: str) -> dict[str, RawListing]:
    with path.open(encoding="utf-8", newline="") as handle:
        return {row["id"].strip(): listing(retailer, row) for row in csv.DictReader(handle)}


def load(folder: Path) -> tuple[dict[str, RawListing], dict[str, RawListing], Pairs]:
    """tableA and tableB listings by id, and the valid pairs (a id, b id, label)."""
    left = _table(folder / "tableA.csv", RETAILERS[0])
    right = _table(folder / "tableB.csv", RETAILERS[1])
    with (folder / "valid.csv").open(encoding="utf-8", newline="") as handle:
        pairs = [
            (row["ltable_id"].strip(), row["rtable_id"].strip(), int(row["label"]))
            for row in csv.DictReader(handle)
        ]
    return left, right, pairs


def score(
    pairs: Pairs,
    left: dict[str, str | None],
    right: dict[str, str | None],
) -> PRF:
    """Matching quality from each side's product fingerprint (None: not normalized)."""
    tp = predicted = gold = 0
    for a, b, label in pairs:
        fa, fb = left.get(a), right.get(b)
        match = fa is not None and fa == fb
        predicted += match
        gold += label == 1
        tp += match and label == 1
    return PRF(tp=tp, predicted=predicted, gold=gold)


def evaluate(settings: Settings, llm: LLMMode, folder: Path, concurrency: int = 16) -> AbtBuyScores:
    left, right, pairs = load(folder)
    wanted_a = sorted({a for a, _, _ in pairs if a in left})
    wanted_b = sorted({b for _, b, _ in pairs if b in right})
    listings = [left[a] for a in wanted_a] + [right[b] for b in wanted_b]
    started = time.perf_counter()
    results = run_listings(foreign_settings(settings), listings, llm, concurrency)
    fingerprints = [r.product.product_fingerprint if r.product else None for r in results]
    by_a = dict(zip(wanted_a, fingerprints[: len(wanted_a)], strict=True))
    by_b = dict(zip(wanted_b, fingerprints[len(wanted_a) :], strict=True))
    return AbtBuyScores(
        pairs=len(pairs),
        matching=score(pairs, by_a, by_b),
        listings=len(listings),
        normalized=sum(r.ok for r in results),
        llm_calls=sum(r.llm_calls for r in results),
        seconds=time.perf_counter() - started,
    )
