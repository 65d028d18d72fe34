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
