"""Routing: how hard is a listing, and which tier should normalize it.

`complexity_score` blends five factors, each in 0..1:

1. title length - longer titles carry more specifications to get right;
2. technical terms - GB, RAM, Hz, Intel, RTX, mAh... each one is an attribute to extract;
3. category - the taxonomy's per-category prior (computing high, groceries low);
4. price - log scale over CLP, 1,000 -> 0 and 2,000,000 -> 1: expensive items are costly to get
   wrong and usually technical;
5. variant markers - colour, pack size, "vs", "+", "combo", many numbers: listings where a
   variant is easy to confuse with another.

`choose_tier` sends confident rules results to the rules tier, complex listings to the full
model and everything else to the mini model (plan target: 80% mini / 15% full).
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import Literal

from catalog.domain import units
from catalog.domain.taxonomy import OTHER, load_taxonomy
from schemas.models import Extraction

__all__ = ["FACTOR_WEIGHTS", "choose_tier", "complexity_factors", "complexity_score"]

FACTOR_WEIGHTS: dict[str, float] = {
    "length": 0.15,
    "technical": 0.25,
    "category": 0.25,
    "price": 0.20,
    "variants": 0.15,
}

_LENGTH_FULL = 120  # characters at which the length factor saturates
_TECH_FULL = 5  # technical terms at which the factor saturates
_VARIANT_FULL = 3
_PRICE_LOW = 1_000  # CLP
_PRICE_HIGH = 2_000_000  # CLP
_UNKNOWN_CATEGORY = 0.5

_TECHNICAL = re.compile(
    r"(?<![a-z])(?:\d+\s*(?:gb|tb|mb|hz|ghz|mhz|mah|mp|w|nits|ms)(?![a-z])|ram|ssd|hdd|nvme|emmc"
    r"|l?ddr\d x?|gddr\d|intel|amd|ryzen|core\s*(?:i\d|ultra)|celeron|snapdragon|dimensity|helio"
    r"|exynos|rtx|gtx|radeon|rx\s*\d{4}|geforce|oled|qled|amoled|ips|4k|8k|uhd|fhd|qhd|hdr\d*|5g"
    r"|4g|lte|wifi\s*\d?e?|bluetooth|usb(?:-c)?|nfc|thunderbolt|pcie|m\.2|inverter|no\s*frost)"
    r"(?![a-z])"
)
_VARIANT = re.compile(
    r"(?<![a-z])(?:vs|combo|kit|bundle|set|pack|\+|x\s*\d+|\d+\s*x|talla|tamano|sabor|surtido)"
    r"(?![a-z])"
)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")


def complexity_factors(
    title: str, category: str | None, price: int | None, extraction: Extraction
) -> dict[str, float]:
    """The five routing factors, each in 0..1 (see the module docstring)."""
    length, technical, markers, coloured = _title_signals(title if isinstance(title, str) else "")
    cat = load_taxonomy().get(category or extraction.category)
    category_factor = cat.complexity if cat is not None and not cat.is_root else _UNKNOWN_CATEGORY
    if isinstance(price, (int, float)) and not isinstance(price, bool) and price > _PRICE_LOW:
        span = math.log10(_PRICE_HIGH) - math.log10(_PRICE_LOW)
        price_factor = min((math.log10(price) - math.log10(_PRICE_LOW)) / span, 1.0)
    else:
        price_factor = 0.0
    if coloured or "color" in extraction.attributes:
        markers += 1
    variants = min(markers / _VARIANT_FULL, 1.0)
    return {
        "length": length,
        "technical": technical,
        "category": category_factor,
        "price": price_factor,
        "variants": variants,
    }


# Every listing of a title is scored again (its price and store change, its title does not),
# and the title's regular expressions were most of the score: they are read once per title.
@lru_cache(maxsize=65536)
def _title_signals(title: str) -> tuple[float, float, int, bool]:
    """The title's part of the factors: the length and technical factors, the variant markers
    other than colour, and whether the title names a colour."""
    text = units.fold(title)[:1000]
    length = min(len(text) / _LENGTH_FULL, 1.0)
    technical = min(len(_TECHNICAL.findall(text)) / _TECH_FULL, 1.0)
    markers = len(_VARIANT.findall(text))
    if len(_NUMBER.findall(text)) >= 4:
        markers += 1
    return length, technical, markers, bool(units.color_spans(text))


def complexity_score(
    title: str, category: str | None, price: int | None, extraction: Extraction
) -> float:
    """Weighted blend of the five factors, in 0..1."""
    factors = complexity_factors(title, category, price, extraction)
    score = sum(FACTOR_WEIGHTS[name] * value for name, value in factors.items())
    return round(min(max(score, 0.0), 1.0), 4)


def choose_tier(
    score: float,
    extraction: Extraction,
    *,
    simple_threshold: float = 0.35,
    complex_threshold: float = 0.70,
    rules_min_confidence: float = 0.90,
) -> Literal["rules", "mini", "full"]:
    """`rules` when the deterministic extraction is complete and confident (known brand,
    category, nothing required missing, confidence >= `rules_min_confidence`), or when the
    listing sits on a coarse node of the taxonomy (no schema to fill) and the rules read a brand
    (or a declared unbranded product) and a model; else `full` for scores >= `complex_threshold`;
    else `mini`. `simple_threshold` marks the listings the plan calls simple: they also go to
    `mini` (batched with the minimal prompt)."""
    category = load_taxonomy().get(extraction.category)
    if (
        category is not None
        and category.coarse
        and category.id != OTHER  # nothing placed the listing: a model may
        and extraction.brand
        and extraction.model
    ):
        return "rules"
    if (
        extraction.brand
        and extraction.category
        and not extraction.missing_required
        and extraction.confidence >= rules_min_confidence
    ):
        return "rules"
    if score >= complex_threshold:
        return "full"
    return "mini"
