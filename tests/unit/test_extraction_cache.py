"""The router's extraction cache: keys name exactly what the extractor reads, and an extraction
read back from its stored JSON is the one the extractor made."""

from __future__ import annotations

from pathlib import Path

from catalog.cache.extractions import extraction_key
from catalog.domain.extractor import extract
from schemas.models import Extraction, RawListing

FEED = Path(__file__).resolve().parents[2] / "data/sample/listings.jsonl"


def listings() -> list[RawListing]:
    return [RawListing.model_validate_json(line) for line in FEED.read_text().splitlines()]


def test_a_stored_extraction_reads_back_equal() -> None:
    for listing in listings():
        rules = extract(
            listing.name,
            retailer_category=listing.category,
            brand_hint=listing.brand,
            retailer_attributes=listing.attributes,
        )
        assert Extraction.model_validate_json(rules.model_dump_json()) == rules, listing.name


def test_the_key_follows_what_the_extractor_reads_and_nothing_else() -> None:
    listing = listings()[0]
    key = extraction_key(listing)
    # Price, store, sku and time do not change the extraction: the same key.
    elsewhere = listing.model_copy(update={"price": listing.price + 1000, "retailer": "lider",
                                           "sku": "other", "scraped_at": None})  # fmt: skip
    assert extraction_key(elsewhere) == key
    for change in (
        {"name": listing.name + " 256GB"},
        {"category": "Otra categoría"},
        {"brand": "OTRA"},
        {"attributes": {"Capacidad": "1TB"}},
    ):
        assert extraction_key(listing.model_copy(update=change)) != key, change
