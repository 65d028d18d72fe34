"""The L2 identity guard and the offline semantic-cache evaluation."""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog.cache.entry import CacheEntry
from catalog.cache.multilevel import LookupKey, identity_conflict, model_conflict
from catalog.domain.taxonomy import load_taxonomy
from catalog.evaluation.semantic_cache import devset_rows, render, run


def entry(**attributes: object) -> CacheEntry:
    return CacheEntry(
        brand="SAMSUNG", model="Galaxy S24", normalized_name="SAMSUNG Galaxy S24",
        category="smartphones", attributes=attributes, confidence=0.95,
        product_fingerprint="f", prompt_version="v",
    )  # fmt: skip


def key(model: str = "Galaxy S24", brand: str = "SAMSUNG", **attributes: object) -> LookupKey:
    return LookupKey("fp", "title", "smartphones", brand, attributes, model)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("mine", "theirs", "conflict"),
    [
        pytest.param("Galaxy S24", "Galaxy S24 Ultra", True, id="ultra"),
        pytest.param("Tune 520BT", "Tune 720BT", True, id="model number"),
        pytest.param("Agua Mineral con Gas", "Agua Mineral sin Gas", True, id="con vs sin"),
        pytest.param("Galaxy S24", "galaxy s24", False, id="case"),
        pytest.param("Café Tradición", "Tradición Café", False, id="word order"),
        pytest.param("Galaxy S24", None, False, id="unknown model"),
    ],
)
def test_model_conflict(mine: str, theirs: str | None, conflict: bool) -> None:
    assert (model_conflict(mine, theirs) is not None) is conflict


def test_identity_conflict_checks_brand_model_and_identity_attributes() -> None:
    cached = entry(storage_gb=256, color="black")
    assert identity_conflict(key(storage_gb=256, color="blue"), cached, ["storage_gb"]) is None
    assert "storage_gb" in (identity_conflict(key(storage_gb=512), cached, ["storage_gb"]) or "")
    assert "unknown" in (identity_conflict(key(), cached, ["storage_gb"]) or "")
    other_brand = key(brand="APPLE", storage_gb=256)
    assert "brand" in (identity_conflict(other_brand, cached, ["storage_gb"]) or "")
    other_model = key("Galaxy S24 FE", storage_gb=256)
    assert "model" in (identity_conflict(other_model, cached, ["storage_gb"]) or "")


def test_guard_bounds_wrong_hits_on_the_dev_set() -> None:
    found = devset_rows(Path("tests/data/devset.jsonl"), load_taxonomy())
    rows = {(r.threshold, r.guard): r for r in found}
    production_guarded = rows[(None, True)]
    production_unguarded = rows[(None, False)]
    assert production_guarded.hits > 200
    assert production_guarded.wrong_rate <= 0.005
    # Without the guard the same thresholds let many wrong neighbours through.
    assert production_unguarded.wrong > 5 * max(production_guarded.wrong, 1)


def test_report_renders_every_row(tmp_path: Path) -> None:
    rows = run(tmp_path)  # no public data there: dev set only
    text = render(rows)
    assert text.count("dev set (CL)") == len(rows) == 14
    assert "taxonomy" in text


def test_a_title_naming_its_part_number_agrees_only_with_an_answer_naming_it() -> None:
    title = "Lenovo IdeaPad Slim 3 15IAN8 (82XB0006CL)"
    mine = LookupKey("fp", title, "notebooks", "LENOVO", {}, "IdeaPad Slim 3")
    other = CacheEntry(
        brand="LENOVO", model="IdeaPad Slim 3", normalized_name="LENOVO IdeaPad Slim 3 82XB0005CL",
        category="notebooks", attributes={}, confidence=0.9, product_fingerprint="f",
        prompt_version="v",
    )  # fmt: skip
    same = other.model_copy(update={"normalized_name": "LENOVO IdeaPad Slim 3 82XB0006CL"})
    assert identity_conflict(mine, other, (), part_numbers=True) is not None
    assert identity_conflict(mine, same, (), part_numbers=True) is None
    # Outside technology names carry no part number, and the guard does not ask for one.
    assert identity_conflict(mine, other, ()) is None
