"""The registry's pure helpers: canonical spelling and the observations a listing makes."""

from __future__ import annotations

from catalog.brand_registry import canonical_spelling, observations


def test_canonical_spelling() -> None:
    assert canonical_spelling("apple inc") == "APPLE"
    assert canonical_spelling("  Linksys   Labs ") == "LINKSYS LABS"
    assert canonical_spelling("Genérico") == "GENERICO"
    assert canonical_spelling("") is None
    assert canonical_spelling(" - ") is None
    assert canonical_spelling(None) is None
    assert len(canonical_spelling("x" * 300) or "") == 100


def test_observations_credit_the_field_and_the_reader() -> None:
    assert observations("Apple Inc", "APPLE", "rules") == [("APPLE", "listing")]
    assert observations(None, "LINKSYS", "rules") == [("LINKSYS", "title")]
    assert observations("Rosen", "ROSEN SPA", "llm") == [("ROSEN", "listing"), ("ROSEN SPA", "llm")]
    assert observations("", None, "rules") == []
