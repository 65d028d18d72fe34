"""Answer validation: schema coercion, enum correction, brands, strict taxonomy, quality gate.

The answers are shaped like the plan's expected responses (flujo-batch.md), in the compressed
and the long form.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from catalog.domain.brands import load_brands
from catalog.domain.extractor import extract
from catalog.domain.taxonomy import load_taxonomy
from catalog.kafka.loop import Rejected
from catalog.llm.answers import AnswerError, parse_answer
from catalog.review import (
    Correction,
    ReviewError,
    ReviewRow,
    build_correction,
    parse_attribute_options,
)
from catalog.settings import Settings
from catalog.validation import (
    Verdict,
    canonical_brand,
    check_attributes,
    correct_enum,
    coverage_note,
    gate,
    reason_label,
    resolve_category,
    review_answer,
    review_correction,
)
from router.logic import Router
from schemas.models import Extraction, RawListing, RoutedListing

TAXONOMY = load_taxonomy()
BRANDS = load_brands()
LIMITS = {"min_confidence": 0.75, "min_coverage": 0.70}


def routed(name: str, category: str, price: int, *, rules: bool = False) -> RoutedListing:
    """The router's view of a listing; without `rules` the rules extraction is blanked so the
    model's answer is judged on its own."""
    listing = RawListing(retailer="falabella", sku="S1", name=name, category=category, price=price)
    out = Router(Settings()).route(listing)
    return out if rules else out.model_copy(update={"rules": Extraction()})


IPHONE = routed("iPhone 15 Pro Max 256GB Negro", "smartphones", 1200000)
ROG = routed(
    "ASUS ROG Strix G16 Intel Core i9-13980HX RTX 4070 32GB DDR5 1TB NVMe Gen4",
    "notebooks",
    2800000,
)
TV = routed('Smart TV Samsung QLED 55" 4K QN55Q60C', "Televisores", 599990)
CHANEL = routed("Chanel N°5 Eau de Parfum 100 ml", "Perfumes", 159990)
COKE = routed("Coca Cola Original 2L", "beverages", 2500)


def judge(content: dict[str, Any] | str, listing: RoutedListing) -> Verdict:
    text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
    return review_answer(parse_answer(text), listing, TAXONOMY, BRANDS, **LIMITS)


# ------------------------------------------------------------------ the plan's examples pass


def test_iphone_compressed_batch_answer() -> None:
    verdict = judge(
        {
            "b": "Apple",
            "m": "iPhone 15 Pro Max",
            "a": {"c": "256GB", "cl": "negro", "s": "6.7"},
            "cf": 0.98,
        },
        IPHONE,
    )
    assert verdict.passed, verdict.reasons
    x = verdict.extraction
    assert (x.brand, x.model, x.category) == ("APPLE", "iPhone 15 Pro Max", "smartphones")
    assert x.attributes == {"storage_gb": 256, "color": "black", "screen_in": 6.7}
    assert x.normalized_name and x.normalized_name.startswith("APPLE iPhone 15 Pro Max")
    assert x.confidence == 0.98 and x.missing_required == []


def test_iphone_minimal_answer_with_long_keys() -> None:
    verdict = judge(
        {
            "brand": "APPLE INC",
            "model": "iPhone 15 Pro Max",
            "attrs": {"cap": "256 GB", "color": "Negro"},
            "conf": 0.9,
        },
        IPHONE,
    )
    assert verdict.passed, verdict.reasons
    assert verdict.extraction.brand == "APPLE"
    assert verdict.extraction.attributes == {"storage_gb": 256, "color": "black"}


def test_rog_strix_detailed_answer_keeps_the_strict_taxonomy() -> None:
    verdict = judge(
        {
            "brand": "ASUS",
            "model": "ROG Strix G16",
            "attributes": {
                "capacity": "1TB",
                "ram": "32GB DDR5",
                "processor": "Intel Core i9-13980HX",
                "graphics": "RTX 4070",
                "size": "16",
                "storage_type": "NVMe Gen4",
                "screen_type": "IPS 165Hz",
            },
            "normalized_name": "ASUS ROG Strix G16 i9-13980HX RTX 4070 32GB 1TB",
            "confidence": 0.96,
            "category_suggestion": "gaming_notebooks",
        },
        ROG,
    )
    assert verdict.passed, verdict.reasons
    x = verdict.extraction
    # "gaming_notebooks" is not in the taxonomy: the router's category stays.
    assert x.category == "notebooks"
    assert any(
        n.startswith("unknown_category_suggestion: 'gaming_notebooks'") for n in verdict.notes
    )
    assert x.attributes == {
        "storage_gb": 1024,
        "ram_gb": 32,
        "processor": "Intel Core i9-13980HX",
        "gpu_model": "RTX 4070",
        "screen_in": 16.0,
        "storage_type": "NVMe",
    }
    # Notebooks have no panel attribute: the key is noted and ignored, not a failure.
    assert "unknown_attribute: screen_type" in verdict.notes
    assert x.normalized_name == "ASUS ROG Strix G16 i9-13980HX RTX 4070 32GB 1TB"


def test_samsung_qled_standard_answer_coerces_units_and_enum_case() -> None:
    verdict = judge(
        {
            "brand": "samsung",
            "model": "QN55Q60C",
            "attributes": {"size": "55 pulgadas", "panel": "Qled", "resolution": "Ultra HD"},
            "confidence": 0.93,
        },
        TV,
    )
    assert verdict.passed, verdict.reasons
    assert verdict.extraction.brand == "SAMSUNG"
    assert verdict.extraction.attributes == {"screen_in": 55.0, "panel": "QLED", "resolution": "4K"}


def test_chanel_edp_answer() -> None:
    verdict = judge(
        {
            "brand": "Chanel",
            "model": "N°5",
            "attributes": {
                "volume_ml": "100 ml",
                "concentration": "eau de parfum",
                "gender": "Mujer",
            },
            "confidence": 0.95,
        },
        CHANEL,
    )
    assert verdict.passed, verdict.reasons
    assert verdict.extraction.brand == "CHANEL"
    assert verdict.extraction.attributes == {
        "volume_ml": 100,
        "concentration": "EDP",
        "gender": "women",
    }


def test_coca_cola_answer_from_the_plan() -> None:
    verdict = judge(
        {
            "brand": "Coca Cola",
            "model": "Original",
            "attributes": {"capacity": "2L", "flavor": "original"},
            "confidence": 0.99,
        },
        COKE,
    )
    assert verdict.passed, verdict.reasons
    assert verdict.extraction.brand == "COCA-COLA"
    assert verdict.extraction.attributes == {"volume_ml": 2000}
    assert "unknown_attribute: flavor" in verdict.notes


# ------------------------------------------------------------------ coercion and correction


@pytest.mark.parametrize(
    ("category", "key", "value", "expected"),
    [
        ("notebooks", "capacity", "1 TB", 1024),
        ("notebooks", "storage", 512, 512),
        ("smart_tv", "size", "55 pulgadas", 55.0),
        ("smart_tv", "pulgadas", '65"', 65.0),
        ("smart_tv", "panel", "Qled", "QLED"),
        ("smart_tv", "panel", "mini led", "MiniLED"),
        ("perfumes", "concentration", "eau de parfum", "EDP"),
        ("perfumes", "concentration", "Eau de Toilete", "EDT"),
        ("perfumes", "volume", "3.4 fl oz", 101),
        ("smartphones", "color", "Nergo", "black"),
        ("smartphones", "network", "LTE", "4G"),
        ("beverages", "capacity", "1,5 lt", 1500),
        ("beverages", "sugar_free", "si", True),
        ("notebooks", "storage_type", "NVMe Gen4", "NVMe"),
    ],
)
def test_values_are_coerced_to_the_schema(
    category: str, key: str, value: object, expected: object
) -> None:
    cat = TAXONOMY.get(category)
    assert cat is not None
    checked = check_attributes(cat, {key: value})
    assert checked.issues == []
    (name,) = checked.attributes
    assert checked.attributes[name] == expected
    assert type(checked.attributes[name]) is type(expected)


def test_spelling_corrections_are_noted() -> None:
    cat = TAXONOMY.get("perfumes")
    assert cat is not None
    checked = check_attributes(cat, {"concentration": "Eau de Toilete"})
    assert checked.notes == ["corrected_attribute: concentration='Eau de Toilete' -> 'EDT'"]


def test_invalid_enum_is_reported_and_dropped() -> None:
    cat = TAXONOMY.get("smart_tv")
    assert cat is not None
    checked = check_attributes(cat, {"size": 55, "panel": "plasma"})
    assert checked.attributes == {"screen_in": 55.0}
    assert len(checked.issues) == 1
    assert checked.issues[0].startswith("invalid_attribute: panel='plasma' (expected one of LED")


@pytest.mark.parametrize(
    ("key", "value", "shown"),
    [
        ("storage_gb", "lots", "storage_gb='lots'"),
        ("storage_gb", True, "storage_gb=True"),
        ("ram_gb", -8, "ram_gb=-8"),
        ("screen_in", "grande", "screen_in='grande'"),
    ],
)
def test_wrong_types_are_reported_and_dropped(key: str, value: object, shown: str) -> None:
    cat = TAXONOMY.get("smartphones")
    assert cat is not None
    checked = check_attributes(cat, {key: value})
    assert checked.attributes == {}
    assert checked.issues[0].startswith(f"wrong_type: {shown} (expected a non-negative")


def test_ambiguous_or_far_spellings_are_not_guessed() -> None:
    panel = TAXONOMY.get("smart_tv").attributes["panel"]  # type: ignore[union-attr]
    assert correct_enum(panel, "plasma") is None
    assert correct_enum(panel, "QLED u OLED") is None  # names two values
    assert correct_enum(panel, "Qeld") is None  # too far to be sure
    assert correct_enum(panel, "") is None


def test_hostile_values_are_cut_in_reasons() -> None:
    cat = TAXONOMY.get("smart_tv")
    assert cat is not None
    checked = check_attributes(cat, {"panel": "x" * 5000})
    assert len(checked.issues[0]) < 200


# ------------------------------------------------------------------ brands and taxonomy


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Apple", "APPLE"),
        ("apple inc", "APPLE"),
        ("APPLE", "APPLE"),
        ("Coca Cola", "COCA-COLA"),
        ("coca-cola", "COCA-COLA"),
        ("  Marca   Nueva ", "MARCA NUEVA"),
        ("", None),
        ("N/A", None),
        ("desconocida", None),
        ("marca detectada", None),
        (None, None),
    ],
)
def test_brand_aliases(raw: str | None, expected: str | None) -> None:
    assert canonical_brand(raw, BRANDS) == expected


def test_category_suggestion_only_if_it_exists() -> None:
    assert resolve_category("perfumes", "beauty", TAXONOMY) == ("perfumes", [])
    assert resolve_category("Smart TV", None, TAXONOMY) == ("smart_tv", [])
    category, notes = resolve_category("gaming_notebooks", "notebooks", TAXONOMY)
    assert category == "notebooks" and notes[0].startswith("unknown_category_suggestion")
    # A group (root) is not more specific than a leaf: not taken; nor is `other`.
    assert resolve_category("technology", "smartphones", TAXONOMY)[0] == "smartphones"
    assert resolve_category("other", "furniture", TAXONOMY)[0] == "furniture"
    # A coarse node is a category of its own (open world).
    assert resolve_category("furniture", "other", TAXONOMY) == ("furniture", [])
    assert resolve_category("Muebles", None, TAXONOMY)[0] in (None, "furniture")
    assert resolve_category(None, "smartphones", TAXONOMY) == ("smartphones", [])


# ------------------------------------------------------------------ the gate


def extraction(**changes: Any) -> Extraction:
    base: dict[str, Any] = {
        "brand": "APPLE",
        "model": "iPhone 15 Pro Max",
        "normalized_name": "APPLE iPhone 15 Pro Max 256GB Negro",
        "category": "smartphones",
        "attributes": {"storage_gb": 256, "color": "black"},
        "confidence": 0.9,
    }
    return Extraction.model_validate({**base, **changes})


@pytest.mark.parametrize(
    ("changes", "label"),
    [
        ({"category": "gaming_notebooks"}, "unknown_category"),
        ({"category": None}, "unknown_category"),
        ({"brand": None}, "missing_brand"),
        ({"model": ""}, "missing_model"),
        ({"normalized_name": None}, "missing_normalized_name"),
        ({"confidence": 0.74}, "low_confidence"),
    ],
)
def test_each_gate(changes: dict[str, Any], label: str) -> None:
    assert gate(extraction(), TAXONOMY, **LIMITS) == []
    reasons = gate(extraction(**changes), TAXONOMY, **LIMITS)
    assert [reason_label(r) for r in reasons] == [label]


def test_gate_details() -> None:
    (low,) = gate(extraction(confidence=0.41), TAXONOMY, **LIMITS)
    assert low == "low_confidence: 0.41 < 0.75"
    # Open world: a required attribute left out is unknown, not a failure; it is noted.
    incomplete = extraction(attributes={"storage_gb": 256})
    assert gate(incomplete, TAXONOMY, **LIMITS) == []
    assert coverage_note(incomplete, TAXONOMY, min_coverage=0.7) == (
        "incomplete: coverage 0.50 < 0.70 (unknown color)"
    )
    # A coarse node of the taxonomy is a category: no schema to fill, nothing missing.
    assert gate(extraction(category="technology", attributes={}), TAXONOMY, **LIMITS) == []
    assert gate(extraction(category="furniture", attributes={}), TAXONOMY, **LIMITS) == []
    # The configured floor applies when it is stricter than the category's.
    assert gate(extraction(confidence=0.85), TAXONOMY, min_confidence=0.9, min_coverage=0.7)


# ------------------------------------------------------------------ bad answers


def test_empty_brand_fails() -> None:
    verdict = judge(
        {"b": "", "m": "iPhone 15 Pro Max", "a": {"c": "256GB", "cl": "negro"}, "cf": 0.98}, IPHONE
    )
    # Without a brand no normalized name can be built either.
    assert [reason_label(r) for r in verdict.reasons] == [
        "missing_brand",
        "missing_normalized_name",
    ]


def test_empty_brand_is_filled_by_the_rules_brand() -> None:
    with_rules = routed("iPhone 15 Pro Max 256GB Negro", "smartphones", 1200000, rules=True)
    verdict = judge(
        {"b": "", "m": "iPhone 15 Pro Max", "a": {"c": "256GB", "cl": "negro"}, "cf": 0.98},
        with_rules,
    )
    assert verdict.passed and verdict.extraction.brand == "APPLE"


def test_low_confidence_fails() -> None:
    verdict = judge(
        {"b": "APPLE", "m": "iPhone 15 Pro Max", "a": {"c": "256GB", "cl": "negro"}, "cf": 0.41},
        IPHONE,
    )
    assert verdict.reasons == ["low_confidence: 0.41 < 0.75"]


def test_unknown_category_fails_when_nothing_resolves_it() -> None:
    nowhere = routed("Producto varios surtido", "Otros", 5000).model_copy(update={"category": None})
    verdict = judge(
        {
            "brand": "ACME",
            "model": "Surtido",
            "confidence": 0.9,
            "category_suggestion": "misc_goods",
        },
        nowhere,
    )
    assert "unknown_category" in [reason_label(r) for r in verdict.reasons]
    assert verdict.extraction.category is None


def test_invalid_enum_on_a_required_attribute_is_dropped_and_left_unknown() -> None:
    verdict = judge(
        {"b": "APPLE", "m": "iPhone 15 Pro Max", "a": {"c": "256GB", "cl": "plaid"}, "cf": 0.98},
        IPHONE,
    )
    # Open world: the colour is unknown, not a failure; the invalid value is still an issue.
    assert verdict.passed
    assert [reason_label(r) for r in verdict.all_reasons] == ["invalid_attribute"]
    assert verdict.extraction.attributes == {"storage_gb": 256}
    assert verdict.extraction.missing_required == ["color"]


def test_invalid_enum_on_an_optional_attribute_is_dropped_and_the_answer_passes() -> None:
    verdict = judge(
        {
            "brand": "SAMSUNG",
            "model": "QN55Q60C",
            "attributes": {"size": 55, "panel": "plasma"},
            "confidence": 0.9,
        },
        TV,
    )
    assert verdict.passed
    assert verdict.issues[0].startswith("invalid_attribute: panel='plasma'")
    assert "panel" not in verdict.extraction.attributes


def test_wrong_type_attribute_is_an_issue_and_the_attribute_stays_unknown() -> None:
    verdict = judge(
        {
            "brand": "Chanel",
            "model": "N°5",
            "attributes": {"volume_ml": "mucho"},
            "confidence": 0.95,
        },
        CHANEL,
    )
    labels = [reason_label(r) for r in verdict.all_reasons]
    assert labels == ["wrong_type"]
    assert verdict.passed and "volume_ml" not in verdict.extraction.attributes


@pytest.mark.parametrize(
    ("content", "label"),
    [
        ('{"b": "APPLE", "m": "iPhone", "cf": 0.9', "truncated_json"),
        ('```json\n{"b": "APPLE"}\n```', "code_fence"),
        ('{"b": "APPLE"} Espero que sirva', "trailing_text"),
        ("Claro, aquí va", "not_json_object"),
        ("", "empty_answer"),
        ('{"b": ["APPLE"], "cf": 0.9}', "wrong_type"),
        ('{"b": "APPLE", "cf": "alta"}', "wrong_type"),
        ('{"b": "APPLE", "cf": 1.7}', "confidence_out_of_range"),
        ('{"b": "APPLE", "a": [1, 2]}', "wrong_type"),
    ],
)
def test_unparseable_answers(content: str, label: str) -> None:
    with pytest.raises(AnswerError) as caught:
        parse_answer(content)
    assert caught.value.reason == label


# ------------------------------------------------------------------ human corrections


def correction(**changes: Any) -> Verdict:
    args: dict[str, Any] = {
        "brand": "apple",
        "model": "iPhone 15 Pro Max",
        "category": "smartphones",
        "attributes": {"storage_gb": "256", "color": "Negro"},
        "normalized": None,
    }
    args.update(changes)
    return review_correction(**args, taxonomy=TAXONOMY, brands=BRANDS, **LIMITS)


def test_a_human_correction_has_full_confidence_and_is_coerced() -> None:
    verdict = correction()
    assert verdict.passed, verdict.reasons
    x = verdict.extraction
    assert (x.brand, x.confidence) == ("APPLE", 1.0)
    assert x.attributes == {"storage_gb": 256, "color": "black"}
    assert x.normalized_name == "APPLE iPhone 15 Pro Max 256GB Black"


@pytest.mark.parametrize(
    ("changes", "label"),
    [
        ({"category": "gaming_phones"}, "unknown_category"),
        ({"brand": ""}, "missing_brand"),
        (
            {"attributes": {"storage_gb": "256", "color": "black", "panel": "x"}},
            "unknown_attribute",
        ),
        ({"attributes": {"storage_gb": "mucho", "color": "black"}}, "wrong_type"),
    ],
)
def test_a_bad_human_correction_is_refused(changes: dict[str, Any], label: str) -> None:
    verdict = correction(**changes)
    assert not verdict.passed
    assert label in [reason_label(r) for r in verdict.reasons]


# ------------------------------------------------------------------ review corrections


def review_row(best: Extraction | None) -> ReviewRow:
    return ReviewRow(
        listing_key="paris:P-1",
        listing=IPHONE.listing,
        input_fingerprint=IPHONE.input_fingerprint,
        reasons=["gpt-5: low_confidence: 0.30 < 0.75"],
        best_answer=best,
        attempts=2,
        status="pending",
        queued_at=datetime(2025, 11, 18, tzinfo=UTC),
        resolved_at=None,
        note=None,
        resolved_by=None,
        correction=None,
    )


BEST = Extraction(
    brand="APPLE",
    model="iPhone 15 Pro Max",
    normalized_name="APPLE iPhone 15 Pro Max 256GB Black",
    category="smartphones",
    attributes={"storage_gb": 256, "color": "black"},
    confidence=0.3,
)


def test_accepting_the_best_answer_as_it_is() -> None:
    verdict = build_correction(review_row(BEST), Correction(from_best=True))
    assert verdict.passed
    assert verdict.extraction == BEST.model_copy(update={"confidence": 1.0})


def test_a_correction_is_merged_over_the_best_answer_and_the_name_rebuilt() -> None:
    verdict = build_correction(review_row(BEST), Correction(attributes={"capacity": "512 GB"}))
    assert verdict.passed, verdict.reasons
    assert verdict.extraction.attributes == {"storage_gb": 512, "color": "black"}
    assert verdict.extraction.normalized_name == "APPLE iPhone 15 Pro Max 512GB Black"
    # A person may leave an attribute unknown (open world): no failure, a note.
    removed = build_correction(review_row(BEST), Correction(attributes={"color": None}))
    assert removed.passed
    assert [reason_label(n) for n in removed.notes] == ["incomplete"]


def test_a_new_category_keeps_only_the_attributes_it_has() -> None:
    verdict = build_correction(
        review_row(BEST),
        Correction(category="tablets", model="iPad Air", attributes={"size": '11"'}),
    )
    assert verdict.passed, verdict.reasons
    assert verdict.extraction.attributes == {"storage_gb": 256, "color": "black", "screen_in": 11.0}


def test_a_correction_needs_something_to_accept() -> None:
    with pytest.raises(ReviewError, match="--from-best"):
        build_correction(review_row(BEST), Correction())
    with pytest.raises(ReviewError, match="no best answer"):
        build_correction(review_row(None), Correction(from_best=True))
    verdict = build_correction(review_row(None), Correction(brand="Apple", model="iPhone 15"))
    assert "unknown_category" in [reason_label(r) for r in verdict.reasons]


def test_attribute_options() -> None:
    assert parse_attribute_options(["storage_gb=256", "color = Negro ", "panel="]) == {
        "storage_gb": "256",
        "color": "Negro",
        "panel": None,
    }
    with pytest.raises(ReviewError):
        parse_attribute_options(["storage_gb"])


def test_a_store_brand_named_in_the_title_outranks_the_models_reading() -> None:
    listing = RawListing(retailer="dia", sku="S2", name="Capelletis DIA Carne 500 Gr.", price=1990)
    routed_listing = Router(Settings()).route(listing)
    assert routed_listing.rules.brand == "DIA"
    answer = {"b": "Capelletis", "m": "Carne", "a": {}, "cf": 0.9}
    assert judge(answer, routed_listing).extraction.brand == "DIA"
    # The store's brand field comes first too: the prompts do not carry it.
    fielded = Router(Settings()).route(
        RawListing(
            retailer="paris",
            sku="S3",
            name='Tablet Pad X9 11.5" 128GB Gris',
            price=199990,
            brand="Honor",
        )
    )
    assert judge({"b": "Pad", "m": "X9", "a": {}, "cf": 0.9}, fielded).extraction.brand == "HONOR"
    # Elsewhere the title names no store of its own, and the model's reading stands.
    other = Router(Settings()).route(listing.model_copy(update={"retailer": "jumbo"}))
    assert judge(answer, other).extraction.brand == "CAPELLETIS"


def test_an_ambiguous_size_key_goes_where_its_unit_says() -> None:
    tuna = routed("Atún Lomitos en Agua Zorbax 160 g", "Conservas", 2990)
    verdict = judge({"b": "Zorbax", "m": "Atún Lomitos", "a": {"c": "160g"}, "cf": 0.9}, tuna)
    assert verdict.extraction.attributes == {"weight_g": 160}
    juice = routed("Jugo Zorbax Naranja 1.5 L", "Jugos", 2990)
    verdict = judge({"b": "Zorbax", "m": "Jugo", "a": {"c": "1.5 L"}, "cf": 0.9}, juice)
    assert verdict.extraction.attributes == {"volume_ml": 1500}


def test_a_corrected_size_replaces_the_attribute_its_unit_names() -> None:
    tuna = Extraction(
        brand="ZORBAX",
        model="Atún Lomitos",
        category="groceries",
        attributes={"weight_g": 160},
        confidence=0.3,
    )
    verdict = build_correction(review_row(tuna), Correction(attributes={"capacity": "170g"}))
    assert verdict.extraction.attributes == {"weight_g": 170}


def test_a_bracketed_part_number_tells_two_configurations_apart_in_the_name() -> None:
    # A price-comparison site titles a notebook by its line and part number alone: the name a
    # model answers without it would read the same for every configuration of the line.
    names = set()
    for number in ("82XB0005CL", "82XB0006CL"):
        listing = RawListing(
            retailer="solotodo",
            sku=number,
            name=f"Lenovo IdeaPad Slim 3 15IAN8 ({number})",
            price=399990,
        )
        answer = {"b": "Lenovo", "m": "IdeaPad Slim 3", "a": {}, "cf": 0.9}
        name = judge(answer, Router(Settings()).route(listing)).extraction.normalized_name
        assert name is not None and name.endswith(number)
        names.add(name)
    assert len(names) == 2
    # Written in the name already, or in a grocery title, it is not added.
    named = RawListing(retailer="a", sku="1", name="HP 240 G9 (6G8K6LA)", price=349990)
    answer = {"b": "HP", "m": "240 G9 6G8K6LA", "a": {}, "cf": 0.9}
    assert judge(answer, Router(Settings()).route(named)).extraction.normalized_name == (
        "HP 240 G9 6G8K6LA"
    )
    milk = extract("Leche Colun Entera (PK6X1L) 1 L")
    assert milk.category == "dairy" and "PK6X1L" not in (milk.normalized_name or "")


def test_the_router_refuses_a_listing_without_a_price_unless_told_not_to() -> None:
    unpriced = RawListing(retailer="jumbo", sku="1", name="Leche Colun Entera 1 L")
    with pytest.raises(Rejected, match="no price stated"):
        Router(Settings()).route(unpriced)
    lenient = Settings()
    lenient = lenient.model_copy(
        update={"routing": lenient.routing.model_copy(update={"require_price": False})}
    )
    routed = Router(lenient).route(unpriced)
    assert routed.listing.price is None and routed.tier == "rules"
    # The price rules still hold where a price is stated.
    with pytest.raises(Rejected, match="below"):
        Router(lenient).route(unpriced.model_copy(update={"price": 5}))
