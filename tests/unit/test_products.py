"""A cache hit's validated product, built without validating its parts again, is the product
full validation builds; an entry outside the contract still fails."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from catalog.cache.entry import CacheEntry
from catalog.kafka.codec import encode
from catalog.products import from_entry
from schemas.models import Extraction, RawListing, RoutedListing, ValidatedProduct

T0 = datetime(2025, 11, 20, 10, 0, tzinfo=UTC)


def routed() -> RoutedListing:
    return RoutedListing(
        listing=RawListing(
            retailer="paris", sku="A1", name="Samsung Galaxy S24 Ultra 256GB", price="$1.099.990"
        ),
        input_fingerprint="f" * 32,
        category="smartphones",
        complexity=0.2,
        tier="rules",
        rules=Extraction(brand="SAMSUNG", model="Galaxy S24 Ultra", category="smartphones"),
    )


def entry(confidence: float = 0.93) -> CacheEntry:
    return CacheEntry(
        brand="SAMSUNG",
        model="Galaxy S24 Ultra",
        normalized_name="Samsung Galaxy S24 Ultra 256GB",
        category="smartphones",
        attributes={"storage_gb": 256, "color": "gray"},
        confidence=confidence,
        product_fingerprint="p" * 32,
        model_used="gpt-5-mini",
        prompt_version="norm-ia-v2.0",
    )


def test_a_cache_hit_builds_the_product_full_validation_builds() -> None:
    built = from_entry(routed(), entry(), "l1")
    validated = ValidatedProduct.model_validate(
        {**built.model_dump(), "validated_at": built.validated_at}
    )
    assert built == validated
    assert encode(built) == encode(validated)
    assert ValidatedProduct.model_validate_json(encode(built)) == validated
    assert built.usage.prompt_tokens == 0 and built.cost_usd == 0.0 and built.custom_id is None


def test_an_entry_outside_the_contract_still_fails() -> None:
    with pytest.raises(ValidationError):
        from_entry(routed(), entry(confidence=1.5), "l1")


def test_a_cache_hit_takes_the_routed_listing_as_it_is() -> None:
    # The listing was validated by its topic's contract: the product holds that very object,
    # not a copy validated again.
    hit = routed()
    built = from_entry(hit, entry(), "l2")
    assert built.listing is hit.listing
    assert built.source == "l2" and built.tier == "rules"
    assert built.attributes == {"storage_gb": 256, "color": "gray"}
    assert isinstance(built.attributes["storage_gb"], int)
