"""The router's extraction cache: keys name exactly what the extractor reads, and an extraction
read back from its stored JSON is the one the extractor made."""

from __future__ import annotations

from pathlib import Path

from catalog.cache.extractions import TitleRouting, extraction_key
from catalog.settings import Settings
from router.logic import Router
from schemas.models import RawListing

FEED = Path(__file__).resolve().parents[2] / "data/sample/listings.jsonl"


def listings() -> list[RawListing]:
    return [RawListing.model_validate_json(line) for line in FEED.read_text().splitlines()]


def test_a_stored_routing_reads_back_equal_and_routes_alike() -> None:
    router = Router(Settings())
    for listing in listings():
        titled = router.title_routing(listing)
        stored = TitleRouting.model_validate_json(titled.model_dump_json())
        assert stored == titled, listing.name
        if listing.price < router.routing.min_price_clp:
            continue
        fresh = router.route(listing)
        cached = router.route(listing, stored)
        assert cached.model_dump(exclude={"routed_at"}) == fresh.model_dump(
            exclude={"routed_at"}
        ), listing.name


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


def test_the_store_counts_only_where_its_title_names_it() -> None:
    house = RawListing(retailer="dia", sku="1", name="Ravioles DIA 4 Quesos 500 Gr.", price=2500)
    # The same title from another store reads no house brand: another extraction, another key.
    assert extraction_key(house.model_copy(update={"retailer": "jumbo"})) != extraction_key(house)
    assert Router(Settings()).extract(house).brand == "DIA"
