"""The re-scrape fast path's digest: moves with every identity input, never with the price."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from catalog.cache.listing_digests import digest_key, listing_digest
from schemas.models import RawListing

BASE: dict[str, Any] = {
    "retailer": "lider",
    "sku": "123",
    "name": "Leche Entera Soprole 1 L",
    "category": "Lácteos",
    "price": 990,
    "ean": "7801234567890",
    "brand": "Soprole",
    "attributes": {"volumen": "1 L"},
}


def digest(namespace: str = "ns", **changes: Any) -> str:
    return listing_digest(RawListing.model_validate({**BASE, **changes}), namespace)


@pytest.mark.parametrize(
    "changes",
    [
        {"price": 890, "price_original": 1290},
        {"stock_status": "out_of_stock"},
        {"url": "https://example.test/p/123"},
        {"scraped_at": datetime(2026, 1, 1, tzinfo=UTC)},
    ],
)
def test_what_a_re_scrape_may_change_keeps_the_digest(changes: dict[str, Any]) -> None:
    assert digest(**changes) == digest()


@pytest.mark.parametrize(
    "changes",
    [
        {"name": "Leche Descremada Soprole 1 L"},
        {"ean": "7801234567891"},
        {"ean": None},
        {"brand": "Colun"},
        {"category": "Despensa"},
        {"attributes": {"volumen": "2 L"}},
    ],
)
def test_every_identity_input_moves_the_digest(changes: dict[str, Any]) -> None:
    assert digest(**changes) != digest()


def test_another_cache_namespace_is_another_digest() -> None:
    assert digest("v2") != digest("v1")
    assert digest_key("v1", "lider:123") != digest_key("v2", "lider:123")
