"""The framework-free parts of search: facets, price bands and ranges, query cleaning, the
cache key and the known-item short form."""

from __future__ import annotations

from catalog.evaluation.search import short_form
from catalog.search.engine import (
    QueryPlan,
    clean_query,
    facets_of,
    in_price_range,
    plan_query,
    price_band,
)
from catalog.search.models import Hit, Offer, SearchRequest


def hit(id_: str, category: str, brand: str, price: int | None) -> Hit:
    return Hit(
        id=id_,
        name=f"{brand} {id_}",
        brand=brand,
        model=id_,
        category=category,
        category_name=category.title(),
        offer_count=1,
        best_offer=Offer(retailer="paris", price=price) if price is not None else None,
        score=0.0,
    )


def test_facet_counts_add_up_to_the_hits() -> None:
    hits = [
        hit("a", "smartphones", "Samsung", 5_000),
        hit("b", "smartphones", "Apple", 900_000),
        hit("c", "dairy", "Colún", None),
    ]
    facets = facets_of(hits)
    assert [(f.value, f.count) for f in facets.category] == [("smartphones", 2), ("dairy", 1)]
    assert facets.category[0].label == "Smartphones"
    assert sum(f.count for f in facets.brand) == 3
    # A hit with nothing in stock has no price band.
    assert {f.value: f.count for f in facets.price} == {"0-9999": 1, "200000-999999": 1}


def test_price_bands_and_ranges() -> None:
    assert price_band(0) == "0-9999"
    assert price_band(10_000) == "10000-49999"
    assert price_band(5_000_000) == "1000000-"
    cheap = hit("a", "x", "y", 1_000)
    assert in_price_range(cheap, None, None)
    assert in_price_range(cheap, 1_000, 1_000)
    assert not in_price_range(cheap, 1_001, None)
    assert not in_price_range(hit("b", "x", "y", None), 0, None)
    assert in_price_range(hit("b", "x", "y", None), None, None)


def test_queries_are_trimmed_and_bounded() -> None:
    assert clean_query("  samsung \t galaxy\n ", 100) == "samsung galaxy"
    assert clean_query("x" * 500, 300) == "x" * 300


def test_the_cache_key_covers_every_filter_and_ignores_their_order() -> None:
    base = SearchRequest(q="leche", categories=["dairy", "groceries"], brands=["Colún"])
    same = SearchRequest(q="leche", categories=["groceries", "dairy"], brands=["Colún"])
    assert base.cache_key() == same.cache_key()
    for other in (
        base.model_copy(update={"price_min": 1}),
        base.model_copy(update={"sort": "price_asc"}),
        base.model_copy(update={"page": 2}),
        base.model_copy(update={"brands": []}),
    ):
        assert other.cache_key() != base.cache_key()


def test_the_short_form_is_the_brand_and_the_first_product_words() -> None:
    assert short_form("Leche Colún Semidescremada 1 L", "COLUN") == "COLUN Leche Semidescremada"
    assert short_form("Samsung Galaxy S24 Ultra 256GB", "SAMSUNG") == "SAMSUNG Galaxy S24"
    assert short_form("Arroz grado 2 x 1 kg", None) == "Arroz grado"


def test_full_text_keeps_the_rarest_lexemes_within_the_budget() -> None:
    rows = [(None, "leche", 5000), (None, "colun", 40), (None, "1", 9000), (None, "gris", 900)]
    plan = plan_query(rows, budget=3000)
    assert plan.full_text == "'colun' | 'gris'"
    assert plan.corrected is None
    # The rarest lexeme is always searched, however common.
    assert plan_query([(None, "leche", 5000)], budget=10).full_text == "'leche'"
    # Lexemes no master holds yet cost nothing and are kept.
    assert plan_query([(None, "nuevo", 0), (None, "1", 9000)], 10).full_text == "'nuevo'"
    assert plan_query([], 10) == QueryPlan(None, None)


def test_typo_corrections_join_the_rarest_query_lexemes() -> None:
    rows = [
        (None, "samgsung", 0),
        (None, "negr", 2500),
        ("samgsung", "samsung", 300),
        ("galaxi", "galaxy", 200),
        ("galaxi", "galax", 3),
        ("samgsung", "it's", 1),
    ]
    plan = plan_query(rows, budget=1000)
    assert plan.corrected == "'galax' | 'galaxy' | 'it''s' | 'samgsung' | 'samsung'"
    assert plan.full_text == "'samgsung'"
    # The rarest correction is searched even past the budget.
    assert plan_query([("x", "común", 5000)], budget=10).corrected == "'común'"
