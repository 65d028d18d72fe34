import pytest

from catalog.domain import choose_tier, complexity_score, extract
from catalog.domain.routing import FACTOR_WEIGHTS, complexity_factors
from schemas.models import Extraction


def _score(title: str, price: int, category: str | None = None) -> float:
    extraction = extract(title, category)
    return complexity_score(title, category or extraction.category, price, extraction)


def test_weights_sum_to_one() -> None:
    assert sum(FACTOR_WEIGHTS.values()) == pytest.approx(1.0)


def test_simple_grocery_scores_low_and_complex_notebook_high() -> None:
    simple = _score("Coca Cola Original 2L", 2_500)
    complex_ = _score(
        "Notebook ASUS ROG Strix G16 Intel Core i9-13980HX RTX 4070 32GB DDR5 1TB NVMe Gen4",
        2_800_000,
    )
    phone = _score("iPhone 15 Pro Max 256GB Negro", 1_200_000)
    assert simple < 0.35
    assert complex_ >= 0.70
    assert simple < phone < complex_


def test_each_factor_moves_the_score() -> None:
    base = Extraction()
    short = complexity_factors("TV", None, 0, base)
    assert short["length"] < complexity_factors("TV " * 40, None, 0, base)["length"]
    assert (
        complexity_factors("16GB RAM 1TB SSD RTX 4070 Intel 144Hz", None, 0, base)["technical"]
        == 1.0
    )
    assert (
        complexity_factors("x", "notebooks", 0, base)["category"]
        > complexity_factors("x", "dairy", 0, base)["category"]
    )
    assert (
        complexity_factors("x", None, 1_000_000, base)["price"]
        > complexity_factors("x", None, 5_000, base)["price"]
    )
    assert complexity_factors("x", None, 0, base)["price"] == 0.0
    assert complexity_factors("Combo Pack 2 x 1 L + vaso Negro", None, 0, base)["variants"] > 0.5
    for value in complexity_factors("anything", None, 10**12, base).values():
        assert 0.0 <= value <= 1.0


def test_choose_tier() -> None:
    confident = extract("Leche Entera Soprole 1 L")
    assert choose_tier(0.1, confident) == "rules"
    assert choose_tier(0.9, confident) == "rules"
    incomplete = extract("iPhone 15 Pro Max Negro")
    assert choose_tier(0.5, incomplete) == "mini"
    assert choose_tier(0.75, incomplete) == "full"
    assert choose_tier(0.1, incomplete) == "mini"
    no_brand = Extraction(category="dairy", confidence=0.95)
    assert choose_tier(0.2, no_brand) == "mini"
    assert choose_tier(0.69, no_brand, complex_threshold=0.6) == "full"
    assert choose_tier(0.2, confident, rules_min_confidence=0.99) == "mini"


def _factors_read_in_full(
    title: str, category: str | None, price: int, extraction: Extraction
) -> dict[str, float]:
    """The factors as computed before the title's part was cached: every regular expression
    read on every call."""
    import math

    from catalog.domain import routing, units
    from catalog.domain.taxonomy import load_taxonomy

    text = units.fold(title if isinstance(title, str) else "")[:1000]
    length = min(len(text) / 120, 1.0)
    technical = min(len(routing._TECHNICAL.findall(text)) / 5, 1.0)
    cat = load_taxonomy().get(category or extraction.category)
    category_factor = cat.complexity if cat is not None and not cat.is_root else 0.5
    if isinstance(price, int | float) and not isinstance(price, bool) and price > 1_000:
        span = math.log10(2_000_000) - math.log10(1_000)
        price_factor = min((math.log10(price) - math.log10(1_000)) / span, 1.0)
    else:
        price_factor = 0.0
    markers = len(routing._VARIANT.findall(text))
    if units.color_spans(text) or "color" in extraction.attributes:
        markers += 1
    if len(routing._NUMBER.findall(text)) >= 4:
        markers += 1
    return {
        "length": length,
        "technical": technical,
        "category": category_factor,
        "price": price_factor,
        "variants": min(markers / 3, 1.0),
    }


def test_factors_and_score_equal_reading_the_title_in_full_every_time() -> None:
    import json
    from pathlib import Path

    from schemas.models import RawListing

    root = Path(__file__).resolve().parents[3]
    listings = [
        RawListing.model_validate(json.loads(line)["listing"])
        for line in (root / "tests/data/devset.jsonl").read_text().splitlines()
    ] + [
        RawListing.model_validate_json(line)
        for line in (root / "data/sample/listings.jsonl").read_text().splitlines()
    ]
    assert len(listings) > 1000
    coloured = Extraction(attributes={"color": "black"})
    checked = 0
    # Twice over: the second pass reads every title's part from the cache, with other prices,
    # another category and a colour the extraction states.
    for bump in (0, 137_000):
        for listing in listings:
            rules = extract(listing.name, listing.category, listing.brand, listing.attributes)
            for category, extraction in ((rules.category, rules), ("dairy", coloured)):
                price = listing.price + bump
                expected = _factors_read_in_full(listing.name, category, price, extraction)
                assert complexity_factors(listing.name, category, price, extraction) == expected
                assert complexity_score(listing.name, category, price, extraction) == round(
                    min(max(sum(FACTOR_WEIGHTS[k] * v for k, v in expected.items()), 0.0), 1.0),
                    4,
                )
                checked += 1
    assert checked == 4 * len(listings)
    # Not a title: the factors of an empty one, as before.
    assert complexity_factors(None, None, 0, Extraction()) == _factors_read_in_full(  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
        None,
        0,
        Extraction(),
    )
