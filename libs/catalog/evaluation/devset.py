"""The labeled dev set (`tests/data/devset.jsonl`): how close the output is to the gold answers.

Per listing, a listing that could not be normalized counts as wrong on every field:

* brand: exact match with the gold canonical brand;
* model: equal after casefolding and removing accents, spaces and hyphens (`fold_model`);
* category: exact taxonomy id;
* attributes: micro precision/recall/F1 over (attribute, value) pairs, numbers within 1%.
  Only the attribute names the dev set labels are judged (the names in its gold answers); others
  the platform also emits (`storage_type`, `connectivity`, ...) are neither right nor wrong;
* grouping: pairwise precision/recall/F1 of "same master product" (identity resolution) against
  the gold `group`.

Also reported: the share of listings answered by the rules tier (no LLM) and the LLM calls made.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from catalog.evaluation import PRF, fold_model, pairwise_prf, run_listings, values_equal
from catalog.inline import InlineResult, LLMMode
from catalog.settings import Settings
from schemas.models import RawListing

DEVSET = Path(__file__).resolve().parents[3] / "tests" / "data" / "devset.jsonl"

__all__ = ["DEVSET", "DevsetScores", "evaluate", "load", "score"]


@dataclass(frozen=True)
class DevsetScores:
    listings: int
    normalized: int
    brand: float
    model: float
    category: float
    attributes: PRF
    grouping: PRF
    rules_share: float
    llm_calls: int
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "listings": self.listings,
            "normalized": self.normalized,
            "brand_accuracy": round(self.brand, 4),
            "model_accuracy": round(self.model, 4),
            "category_accuracy": round(self.category, 4),
            "attributes": self.attributes.as_dict(),
            "grouping": self.grouping.as_dict(),
            "rules_share": round(self.rules_share, 4),
            "llm_calls": self.llm_calls,
            "seconds": round(self.seconds, 2),
        }


def load(path: Path = DEVSET) -> tuple[list[RawListing], list[dict[str, Any]]]:
    """The listings and their gold answers, line-aligned."""
    listings: list[RawListing] = []
    gold: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                row = json.loads(line)
                listings.append(RawListing.model_validate(row["listing"]))
                gold.append(row["gold"])
    return listings, gold


def score(results: list[InlineResult], gold: list[dict[str, Any]]) -> DevsetScores:
    if len(results) != len(gold):
        raise ValueError("one result per gold row expected")
    judged = {name for g in gold for name in g["attributes"]}
    brand = model = category = 0
    tp = predicted = gold_pairs = 0
    for result, answer in zip(results, gold, strict=True):
        expected = answer["attributes"]
        gold_pairs += len(expected)
        product = result.product
        if product is None:
            continue
        brand += product.brand == answer["brand"]
        model += fold_model(product.model) == fold_model(answer["model"])
        category += product.category == answer["category"]
        for name, value in product.attributes.items():
            if name not in judged:
                continue
            predicted += 1
            tp += name in expected and values_equal(value, expected[name])
    n = len(gold) or 1
    return DevsetScores(
        listings=len(gold),
        normalized=sum(r.ok for r in results),
        brand=brand / n,
        model=model / n,
        category=category / n,
        attributes=PRF(tp=tp, predicted=predicted, gold=gold_pairs),
        grouping=pairwise_prf(
            [_master(r) for r in results],
            [g["group"] for g in gold],
        ),
        rules_share=sum(1 for r in results if r.product and r.product.source == "rules") / n,
        llm_calls=sum(r.llm_calls for r in results),
    )


def _master(result: InlineResult) -> str | None:
    """The master a listing was resolved to; normalization's exact hash when resolution did not
    run on it."""
    if result.decision is not None:
        return result.decision.master_id
    return result.product.product_fingerprint if result.product else None


def evaluate(
    settings: Settings, llm: LLMMode, path: Path = DEVSET, concurrency: int = 16
) -> DevsetScores:
    listings, gold = load(path)
    started = time.perf_counter()
    results = run_listings(settings, listings, llm, concurrency)
    scores = score(results, gold)
    return DevsetScores(**{**scores.__dict__, "seconds": time.perf_counter() - started})
