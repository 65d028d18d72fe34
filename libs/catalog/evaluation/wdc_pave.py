"""WDC PAVE attribute extraction (train split, normalized gold values): English offers from five
categories, scored on the attributes that have a counterpart in our taxonomy.

Data: `<data-dir>/wdc-pave/wdc_with_all_attributes_normalized/train.jsonl`. Each offer becomes a
raw listing (retailer `wdc`, `sku` = offer id, `name` = `input_title`, price 1 with the router's
price floor lowered to 1, no category). The platform reads titles only, so the gold values are
those annotated in the title (`pid` contains 0); an attribute whose only gold values come from the
description is not judged either way.

Mapping of their attributes to ours (`MAPPING`):

* Brand (Office Products, Grocery And Gourmet Food, Jewelry) and Manufacturer (Computers And
  Accessories, Home And Garden) -> `brand`: the same canonical brand in our alias table, else the
  same folded words;
* Color (Home And Garden), Color(s) (Office Products) -> `color`: our base hue mapped to their
  buckets (black -> Black, gray/silver/gold/titanium -> Gray and Metallic, orange ->
  Assorted/Others, ...);
* Pack Quantity (Office Products, Grocery And Gourmet Food) -> `pack_count`: numbers within 1%;
* Size/Weight (Grocery And Gourmet Food) -> `weight_g`: grams, within 1%;
* Capacity (Computers And Accessories) -> `storage_gb`: "300 Gigabytes", "1 Terabytes" (x1024),
  "128 Megabytes" (/1024), within 1%;
* Gender (Jewelry) -> `gender`: women -> Ladies/Women's/her/she, men -> Gents/Men's.

Every other attribute (Product Type, which uses their own category scheme; part, model and stock
numbers; UPC; dimensions; material; interface, generation, cache, clock and rotational speed;
metal and stones; flavor; packing type; Capacity outside computers, ...) has no counterpart and
is reported as not covered, with how many title-stated gold values it has.

Micro precision/recall/F1 over (offer, attribute) pairs: a prediction is one mapped attribute in
a normalized listing's output; a listing that was not normalized predicts nothing.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from catalog.domain.brands import load_brands
from catalog.domain.units import alias_key
from catalog.evaluation import PRF, foreign_settings, run_listings, values_equal
from catalog.inline import InlineResult, LLMMode
from catalog.settings import Settings
from schemas.models import RawListing, ValidatedProduct

__all__ = ["MAPPING", "WdcScores", "evaluate", "load", "score"]

TRAIN = Path("wdc_with_all_attributes_normalized") / "train.jsonl"

# (their category, their attribute) -> our attribute.
MAPPING: dict[tuple[str, str], str] = {
    ("Office Products", "Brand"): "brand",
    ("Grocery And Gourmet Food", "Brand"): "brand",
    ("Jewelry", "Brand"): "brand",
    ("Computers And Accessories", "Manufacturer"): "brand",
    ("Home And Garden", "Manufacturer"): "brand",
    ("Home And Garden", "Color"): "color",
    ("Office Products", "Color(s)"): "color",
    ("Office Products", "Pack Quantity"): "pack_count",
    ("Grocery And Gourmet Food", "Pack Quantity"): "pack_count",
    ("Grocery And Gourmet Food", "Size/Weight"): "weight_g",
    ("Computers And Accessories", "Capacity"): "storage_gb",
    ("Jewelry", "Gender"): "gender",
}

COLOR_BUCKETS = {
    "black": "Black",
    "white": "White",
    "brown": "Brown",
    "green": "Green",
    "beige": "Beige",
    "gray": "Gray and Metallic",
    "silver": "Gray and Metallic",
    "gold": "Gray and Metallic",
    "titanium": "Gray and Metallic",
    "blue": "Blue",
    "red": "Red",
    "pink": "Pink",
    "yellow": "Yellow",
    "purple": "Purple",
    "orange": "Assorted/Others",
    "multicolor": "Assorted/Others",
    "transparent": "No Color/Transparent",
}
GENDER_WORDS = {
    "women": {"ladies", "women's", "women", "her", "she"},
    "men": {"gents", "men's", "men", "him", "he"},
}
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


@dataclass(frozen=True)
class Offer:
    listing: RawListing
    category: str
    # their attribute -> values stated in the title; None when only the description states one
    gold: dict[str, list[str] | None]


@dataclass(frozen=True)
class WdcScores:
    offers: int
    normalized: int
    overall: PRF
    by_attribute: dict[str, PRF]
    not_covered: dict[str, int]
    llm_calls: int
    seconds: float = 0.0
    mapping: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "offers": self.offers,
            "normalized": self.normalized,
            "attributes": self.overall.as_dict(),
            "by_attribute": {k: v.as_dict() for k, v in sorted(self.by_attribute.items())},
            "not_covered_gold_values": dict(sorted(self.not_covered.items())),
            "mapping": self.mapping,
            "llm_calls": self.llm_calls,
            "seconds": round(self.seconds, 2),
        }


def load(folder: Path) -> list[Offer]:
    offers: list[Offer] = []
    with (folder / TRAIN).open(encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            row = json.loads(line)
            gold: dict[str, list[str] | None] = {}
            for name, values in row["target_scores"].items():
                stated = {v: info for v, info in values.items() if v != "n/a"}
                if not stated:
                    continue
                in_title = [v for v, info in stated.items() if 0 in info.get("pid", [])]
                gold[name] = in_title or None
            title = " ".join(str(row.get("input_title") or "").split())[:500] or "(no title)"
            listing = RawListing(retailer="wdc", sku=str(row["id"]), name=title, price=1)
            offers.append(Offer(listing, row["category"], gold))
    return offers


def _brand_key(text: str) -> str:
    return load_brands().canonical(text) or alias_key(text)


def _gigabytes(text: str) -> float | None:
    match = _NUMBER.search(text.replace(",", ""))
    if match is None:
        return None
    value = float(match.group())
    lowered = text.lower()
    if "tera" in lowered or "tb" in lowered:
        return value * 1024
    if "mega" in lowered or "mb" in lowered:
        return value / 1024
    if "giga" in lowered or "gb" in lowered:
        return value
    return None


def _equal(ours: str, predicted: object, gold: str) -> bool:
    comparators: dict[str, Callable[[object, str], bool]] = {
        "brand": lambda p, g: _brand_key(str(p)) == _brand_key(g),
        "color": lambda p, g: COLOR_BUCKETS.get(str(p)) == g,
        "gender": lambda p, g: g.strip().lower() in GENDER_WORDS.get(str(p), set()),
        "storage_gb": lambda p, g: (gb := _gigabytes(g)) is not None and values_equal(p, gb),
    }
    compare = comparators.get(ours)
    if compare is not None:
        return compare(predicted, gold)
    number = _NUMBER.search(gold.replace(",", ""))
    return number is not None and values_equal(predicted, number.group())


def _predicted(product: ValidatedProduct, ours: str) -> object | None:
    if ours == "brand":
        return product.brand
    return product.attributes.get(ours)


def score(offers: list[Offer], results: list[InlineResult]) -> WdcScores:
    counts: dict[str, list[int]] = {}
    not_covered: Counter[str] = Counter()
    for offer, result in zip(offers, results, strict=True):
        for name, values in offer.gold.items():
            if (offer.category, name) not in MAPPING and values:
                not_covered[name] += 1
        for (category, name), ours in MAPPING.items():
            if category != offer.category:
                continue
            tally = counts.setdefault(name, [0, 0, 0])
            values = offer.gold.get(name, [])
            if values is None:
                continue  # stated only in the description: not judged
            tally[2] += bool(values)
            if result.product is None:
                continue
            predicted = _predicted(result.product, ours)
            if predicted is None:
                continue
            tally[1] += 1
            tally[0] += any(_equal(ours, predicted, v) for v in values)
    by_attribute = {name: PRF(*tally) for name, tally in counts.items()}
    overall = PRF(
        tp=sum(p.tp for p in by_attribute.values()),
        predicted=sum(p.predicted for p in by_attribute.values()),
        gold=sum(p.gold for p in by_attribute.values()),
    )
    return WdcScores(
        offers=len(offers),
        normalized=sum(r.ok for r in results),
        overall=overall,
        by_attribute=by_attribute,
        not_covered=dict(not_covered),
        llm_calls=sum(r.llm_calls for r in results),
        mapping={f"{c} / {a}": ours for (c, a), ours in MAPPING.items()},
    )


def evaluate(settings: Settings, llm: LLMMode, folder: Path, concurrency: int = 16) -> WdcScores:
    offers = load(folder)
    started = time.perf_counter()
    results = run_listings(
        foreign_settings(settings), [o.listing for o in offers], llm, concurrency
    )
    scores = score(offers, results)
    return WdcScores(**{**scores.__dict__, "seconds": time.perf_counter() - started})
