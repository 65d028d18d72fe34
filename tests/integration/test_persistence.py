"""The persister alone: `ValidatedProduct`s produced straight to products.validated.v1.

Redelivery leaves the database as it was and re-publishes the same event ids and versions; a
re-scrape with a new price takes the fast path (no matching) and adds one history row; a
listing whose title changes is resolved again and moves its offer to another master product
without orphaning it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from catalog.devstack.stack import Stack
from catalog.domain.identity import input_fingerprint, product_fingerprint
from catalog.kafka.topics import CATALOG_OFFERS, CATALOG_PRODUCTS, VALIDATED
from catalog.masters import fuse_masters
from schemas.models import (
    AttributeValue,
    CatalogOffer,
    CatalogProduct,
    RawListing,
    Usage,
    ValidatedProduct,
)
from tests.integration.harness import Pipeline, start_pipeline, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

T0 = datetime(2025, 11, 18, 12, 0, tzinfo=UTC)

# Every table the persister writes, with a stable order; `persisted_at` is operational.
DUMPS = {
    "productos_maestros": "SELECT * FROM productos_maestros ORDER BY id",
    "precios_actuales": "SELECT * FROM precios_actuales ORDER BY id",
    "listings": "SELECT * FROM listings ORDER BY listing_key",
    "price_history": "SELECT * FROM price_history ORDER BY id",
    "ai_metadata_cache": "SELECT * FROM ai_metadata_cache ORDER BY id",
    "ai_embeddings": "SELECT id, fingerprint, embedding_model, category, created_at "
    "FROM ai_embeddings ORDER BY id",
}


@pytest.fixture(scope="module")
async def pipeline(stack: Stack) -> AsyncIterator[Pipeline]:
    p = await start_pipeline(stack, services=("persister",))
    try:
        yield p
    finally:
        p.stop()


def product(
    retailer: str,
    sku: str,
    name: str,
    price: int,
    *,
    model: str,
    attributes: dict[str, AttributeValue],
    brand: str = "SAMSUNG",
    category: str = "smartphones",
    seen: datetime = T0,
    confidence: float = 0.93,
) -> ValidatedProduct:
    listing = RawListing(
        retailer=retailer, sku=sku, name=name, price=price, category=category, scraped_at=seen
    )
    return ValidatedProduct(
        listing=listing,
        input_fingerprint=input_fingerprint(name, category, "test"),
        product_fingerprint=product_fingerprint(brand, model, category, attributes),
        brand=brand,
        model=model,
        normalized_name=f"{brand} {model}",
        category=category,
        attributes=attributes,
        confidence=confidence,
        source="llm",
        tier="mini",
        model_used="gpt-5-mini",
        prompt_version="norm-ia-v2.0",
        usage=Usage(prompt_tokens=50, completion_tokens=20),
        cost_usd=0.00002,
        custom_id=f"{uuid.uuid4().hex[:16]}-a1",
        validated_at=seen,
    )


async def dump(p: Pipeline) -> dict[str, list[dict[str, Any]]]:
    conn = await p.db()
    try:
        out: dict[str, list[dict[str, Any]]] = {}
        for table, sql in DUMPS.items():
            rows = [dict(r) for r in await conn.fetch(sql)]
            for row in rows:
                row.pop("persisted_at", None)
            out[table] = rows
        return out
    finally:
        await conn.close()


async def offers_for(p: Pipeline, key: str) -> list[CatalogOffer]:
    return [o for o in await p.read_models(CATALOG_OFFERS) if o.listing_key == key]


async def states_for(p: Pipeline, fingerprint: str) -> list[CatalogProduct]:
    return [
        m for m in await p.read_models(CATALOG_PRODUCTS) if m.product_fingerprint == fingerprint
    ]


def resolutions(p: Pipeline, outcome: str) -> float:
    """The persister's `catalog_resolutions_total{outcome=...}`."""
    found = re.search(
        rf'^catalog_resolutions_total\{{outcome="{outcome}"\}} (\S+)$', p.metrics("persister"), re.M
    )
    return float(found.group(1)) if found else 0.0


def same_title_attached(p: Pipeline) -> float:
    found = re.search(r"^catalog_same_title_attached_total (\S+)$", p.metrics("persister"), re.M)
    return float(found.group(1)) if found else 0.0


async def fetch(p: Pipeline, sql: str, *args: object) -> list[dict[str, Any]]:
    conn = await p.db()
    try:
        return [dict(r) for r in await conn.fetch(sql, *args)]
    finally:
        await conn.close()


async def test_the_same_message_twice_leaves_identical_state(pipeline: Pipeline) -> None:
    sku = uuid.uuid4().hex[:8]
    message = product(
        "falabella",
        sku,
        "Samsung Galaxy S24 Ultra 512GB Titanium Gray",
        1_199_990,
        model="Galaxy S24 Ultra",
        attributes={"storage_gb": 512, "color": "gray"},
    )
    key = message.listing.listing_key
    await pipeline.produce(VALIDATED, [(key, message)])
    await wait_until(lambda: offers_for(pipeline, key), 90)
    before = await dump(pipeline)
    assert [r["listing_key"] for r in before["listings"] if r["listing_key"] == key] == [key]
    assert sum(1 for r in before["price_history"] if r["listing_key"] == key) == 1

    # The very same bytes again (an at-least-once redelivery).
    await pipeline.produce(VALIDATED, [(key, message)])

    async def processed_twice() -> list[CatalogOffer] | None:
        offers = await offers_for(pipeline, key)
        return offers if len(offers) >= 2 else None

    offers = await wait_until(processed_twice, 90)
    # The replay re-publishes the very same offer event: same id, same version.
    assert offers[0] == offers[1]
    assert (offers[0].version, offers[0].price_changed) == (1, True)
    states = await states_for(pipeline, offers[0].product_fingerprint)
    assert len(states) == 2 and states[0] == states[1]
    assert states[0].version == 1
    after = await dump(pipeline)
    assert after == before


async def test_a_price_change_adds_one_history_row(pipeline: Pipeline) -> None:
    sku = uuid.uuid4().hex[:8]
    name = "Samsung Galaxy A55 5G 256GB Azul"
    common: dict[str, Any] = {
        "model": "Galaxy A55",
        "attributes": {"storage_gb": 256, "color": "blue"},
    }
    first = product("paris", sku, name, 399_990, **common)
    key = first.listing.listing_key
    await pipeline.produce(VALIDATED, [(key, first)])
    await wait_until(lambda: offers_for(pipeline, key), 90)
    master_before = await fetch(
        pipeline,
        "SELECT p.* FROM productos_maestros p JOIN listings l ON l.product_id = p.id "
        "WHERE l.listing_key = $1",
        key,
    )
    known_before = resolutions(pipeline, "known")
    cheaper = product("paris", sku, name, 349_990, seen=T0 + timedelta(hours=6), **common)
    await pipeline.produce(VALIDATED, [(key, cheaper)])

    async def two_offers() -> list[CatalogOffer] | None:
        offers = await offers_for(pipeline, key)
        return offers if len(offers) >= 2 else None

    offers = await wait_until(two_offers, 90)
    assert [(o.price, o.price_changed, o.version) for o in offers] == [
        (399_990, True, 1),
        (349_990, True, 2),
    ]
    assert offers[0].event_id != offers[1].event_id
    assert offers[0].product_fingerprint == offers[1].product_fingerprint
    # The re-scrape took the fast path: same title, no matching, the same master.
    assert resolutions(pipeline, "known") == known_before + 1
    (listing_row,) = await fetch(
        pipeline, "SELECT resolution FROM listings WHERE listing_key = $1", key
    )
    assert listing_row["resolution"] == "new"
    # Only the price moved: the master's row is as it was but for its published version.
    master_after = await fetch(
        pipeline, "SELECT * FROM productos_maestros WHERE id = $1", master_before[0]["id"]
    )
    moving = {"version", "state_hash", "updated_at"}
    assert {k: v for k, v in master_after[0].items() if k not in moving} == {
        k: v for k, v in master_before[0].items() if k not in moving
    }
    assert master_after[0]["version"] == master_before[0]["version"] + 1
    history = await fetch(
        pipeline,
        "SELECT price, observed_at FROM price_history WHERE listing_key = $1 ORDER BY id",
        key,
    )
    assert [(h["price"], h["observed_at"]) for h in history] == [
        (399_990, T0),
        (349_990, T0 + timedelta(hours=6)),
    ]
    (offer,) = await fetch(
        pipeline,
        "SELECT price_current, last_seen FROM precios_actuales WHERE listing_key = $1",
        key,
    )
    assert int(offer["price_current"]) == 349_990
    assert offer["last_seen"] == T0 + timedelta(hours=6)
    state = (await states_for(pipeline, offers[0].product_fingerprint))[-1]
    assert (state.offer_count, state.min_price, state.max_price) == (1, 349_990, 349_990)

    # A late redelivery of the older message does not roll the price back.
    await pipeline.produce(VALIDATED, [(key, first)])
    marker = product("paris", f"{sku}-m", name, 399_990, **common)
    await pipeline.produce(VALIDATED, [(marker.listing.listing_key, marker)])
    await wait_until(lambda: offers_for(pipeline, marker.listing.listing_key), 90)
    prices = await fetch(
        pipeline, "SELECT price FROM price_history WHERE listing_key = $1 ORDER BY id", key
    )
    assert [r["price"] for r in prices] == [399_990, 349_990]
    (listing,) = await fetch(pipeline, "SELECT price FROM listings WHERE listing_key = $1", key)
    assert listing["price"] == 349_990


async def test_a_retitled_listing_is_resolved_again_and_moves_its_offer(
    pipeline: Pipeline,
) -> None:
    run = uuid.uuid4().hex[:8]
    # Two stores sell the 128GB model: one master, two offers.
    first_read: dict[str, Any] = {
        "model": "Galaxy S23 FE",
        "attributes": {"storage_gb": 128, "color": "black"},
    }
    moving = product(
        "ripley", f"R-{run}", "Samsung Galaxy S23 FE 128GB Negro", 499_990, **first_read
    )
    staying = product("lider", f"L-{run}", "Samsung Galaxy S23 FE 128GB", 479_990, **first_read)
    await pipeline.produce(VALIDATED, [(moving.listing.listing_key, moving)])
    (first_offer,) = await wait_until(lambda: offers_for(pipeline, moving.listing.listing_key), 90)
    await pipeline.produce(VALIDATED, [(staying.listing.listing_key, staying)])
    (second_offer,) = await wait_until(
        lambda: offers_for(pipeline, staying.listing.listing_key), 90
    )
    old_fp = first_offer.product_fingerprint
    assert second_offer.product_fingerprint == old_fp

    async def offer_count(fingerprint: str, wanted: int) -> CatalogProduct | None:
        states = await states_for(pipeline, fingerprint)
        return states[-1] if states and states[-1].offer_count == wanted else None

    await wait_until(lambda: offer_count(old_fp, 2), 90)

    # The ripley listing is retitled as the 256GB model: resolved again, a different master.
    fixed = product(
        "ripley",
        f"R-{run}",
        "Samsung Galaxy S23 FE 256GB Negro",
        499_990,
        model="Galaxy S23 FE",
        attributes={"storage_gb": 256, "color": "black"},
        seen=T0 + timedelta(minutes=5),
    )
    await pipeline.produce(VALIDATED, [(fixed.listing.listing_key, fixed)])

    async def moved_offer() -> CatalogOffer | None:
        offers = await offers_for(pipeline, fixed.listing.listing_key)
        return offers[-1] if len(offers) == 2 else None

    moved_to = await wait_until(moved_offer, 90)
    new_fp = moved_to.product_fingerprint
    assert new_fp != old_fp
    assert (moved_to.version, moved_to.price_changed) == (2, False)
    await wait_until(lambda: offer_count(new_fp, 1), 90)
    old_state = await wait_until(lambda: offer_count(old_fp, 1), 90)
    assert old_state.min_price == 479_990

    products = {
        r["fingerprint"]: r
        for r in await fetch(
            pipeline,
            "SELECT id, fingerprint, active, attributes FROM productos_maestros "
            "WHERE fingerprint = ANY($1)",
            [old_fp, new_fp],
        )
    }
    assert products[old_fp]["active"] and products[new_fp]["active"]
    assert products[new_fp]["attributes"]["storage_gb"] == 256
    assert products[old_fp]["attributes"]["storage_gb"] == 128
    offers = await fetch(
        pipeline,
        "SELECT product_id, listing_key FROM precios_actuales WHERE listing_key = ANY($1)",
        [moving.listing.listing_key, staying.listing.listing_key],
    )
    assert {(o["product_id"], o["listing_key"]) for o in offers} == {
        (products[new_fp]["id"], moving.listing.listing_key),
        (products[old_fp]["id"], staying.listing.listing_key),
    }

    # The other store retitles too: it joins the 256GB master, the old one has no offers left.
    staying_fixed = product(
        "lider",
        f"L-{run}",
        "Samsung Galaxy S23 FE 256GB",
        479_990,
        model="Galaxy S23 FE",
        attributes={"storage_gb": 256, "color": "black"},
        seen=T0 + timedelta(minutes=5),
    )
    await pipeline.produce(VALIDATED, [(staying_fixed.listing.listing_key, staying_fixed)])
    emptied = await wait_until(lambda: offer_count(old_fp, 0), 90)
    assert (emptied.min_price, emptied.max_price) == (None, None)
    moved = await wait_until(lambda: offer_count(new_fp, 2), 90)
    assert (moved.min_price, moved.max_price) == (479_990, 499_990)
    (old,) = await fetch(
        pipeline, "SELECT active FROM productos_maestros WHERE fingerprint = $1", old_fp
    )
    assert old["active"] is False
    # No orphan offers: every offer belongs to the product its listing points to, and every
    # listing has its store's offer on its product.
    orphans = await fetch(
        pipeline,
        """SELECT pa.listing_key FROM precios_actuales pa
           LEFT JOIN listings l ON l.listing_key = pa.listing_key
           WHERE l.listing_key IS NULL OR l.product_id <> pa.product_id""",
    )
    assert orphans == []
    missing = await fetch(
        pipeline,
        """SELECT l.listing_key FROM listings l WHERE NOT EXISTS (
               SELECT 1 FROM precios_actuales pa
               WHERE pa.product_id = l.product_id AND pa.retailer = l.retailer)""",
    )
    assert missing == []
    # History keeps one row per listing: the price never changed.
    history = await fetch(
        pipeline,
        "SELECT listing_key FROM price_history WHERE listing_key = ANY($1)",
        [moving.listing.listing_key, staying.listing.listing_key],
    )
    assert len(history) == 2


async def test_a_listing_persisted_before_resolution_keeps_its_master(pipeline: Pipeline) -> None:
    """Rows written before identity resolution existed (no facts, no identifiers): the next
    message of the listing with its title unchanged keeps it on its master, which learns its
    identifiers from it."""
    run = uuid.uuid4().hex[:8]
    name = "Notebook Lenovo ThinkPad E14 Gen 5 21JK0083CL i7 16GB 512GB"
    legacy_id = f"legacy{run}"
    conn = await pipeline.db()
    try:
        product_id = await conn.fetchval(
            """INSERT INTO productos_maestros (fingerprint, brand, model, normalized_name,
                   category_id, attributes, ai_confidence, version)
               VALUES ($1, 'LENOVO', 'ThinkPad E14 Gen 5', 'Lenovo ThinkPad E14 Gen 5',
                       'notebooks', '{"ram_gb": 16}', 0.9, 1) RETURNING id""",
            legacy_id,
        )
        await conn.execute(
            """INSERT INTO listings (listing_key, retailer, sku, product_id, input_fingerprint,
                   title, price, source, first_seen, last_seen)
               VALUES ($1, 'pc_factory', $2, $3, 'x', $4, 899990, 'llm', $5, $5)""",
            f"pc_factory:{run}",
            run,
            product_id,
            name,
            T0,
        )
    finally:
        await conn.close()
    message = product(
        "pc_factory",
        run,
        name,
        849_990,
        brand="LENOVO",
        model="ThinkPad E14 Gen 5",
        category="notebooks",
        attributes={"ram_gb": 16, "storage_gb": 512},
        seen=T0 + timedelta(hours=1),
    )
    await pipeline.produce(VALIDATED, [(message.listing.listing_key, message)])
    (offer,) = await wait_until(lambda: offers_for(pipeline, message.listing.listing_key), 90)
    assert (offer.product_fingerprint, offer.price, offer.price_changed) == (
        legacy_id,
        849_990,
        True,
    )
    (master,) = await fetch(
        pipeline,
        "SELECT model_codes, category_group, attributes FROM productos_maestros "
        "WHERE fingerprint = $1",
        legacy_id,
    )
    assert "21jk0083cl" in master["model_codes"]
    assert master["category_group"] == "technology"
    assert master["attributes"]["storage_gb"] == 512


async def test_the_same_title_at_another_store_attaches_in_one_lookup(pipeline: Pipeline) -> None:
    """The cache-hit path: a new listing whose title and identity facts another listing already
    carries is scored against that listing's master alone and attached to it."""
    code = uuid.uuid4().hex[:6].upper()
    name = f"Smartphone Samsung Galaxy A56 5G 128GB Negro SM-A{code}"
    common: dict[str, Any] = {
        "model": f"Galaxy A56 SM-A{code}",
        "attributes": {"storage_gb": 128, "color": "black"},
    }
    first = product("paris", uuid.uuid4().hex[:8], name, 299_990, **common)
    await pipeline.produce(VALIDATED, [(first.listing.listing_key, first)])
    (offer,) = await wait_until(lambda: offers_for(pipeline, first.listing.listing_key), 90)
    attached_before = resolutions(pipeline, "attached")
    shortcut_before = same_title_attached(pipeline)
    # Two stores in one batch: one query finds the master for both.
    others = [
        product(store, uuid.uuid4().hex[:8], name, price, **common)
        for store, price in (("ripley", 289_990), ("lider", 309_990))
    ]
    await pipeline.produce(VALIDATED, [(p.listing.listing_key, p) for p in others])
    for other in others:
        (moved,) = await wait_until(lambda o=other: offers_for(pipeline, o.listing.listing_key), 90)
        assert moved.product_fingerprint == offer.product_fingerprint
    rows = await fetch(
        pipeline,
        "SELECT resolution, match_score FROM listings WHERE listing_key = ANY($1)",
        [p.listing.listing_key for p in others],
    )
    assert [r["resolution"] for r in rows] == ["attached", "attached"]
    assert all(r["match_score"] is not None and r["match_score"] > 0.5 for r in rows)
    assert resolutions(pipeline, "attached") == attached_before + 2
    assert same_title_attached(pipeline) == shortcut_before + 2
    (master,) = await fetch(
        pipeline,
        "SELECT count(*) AS offers FROM precios_actuales pa JOIN productos_maestros p "
        "ON p.id = pa.product_id WHERE p.fingerprint = $1",
        offer.product_fingerprint,
    )
    assert master["offers"] == 3
    # Seen after every listing of the master: attached without re-fusing it (the two above,
    # seen at the same moment as the first, sort before it and re-fused it).
    later = product(
        "hites", uuid.uuid4().hex[:8], name, 279_990, seen=T0 + timedelta(minutes=5), **common
    )
    await pipeline.produce(VALIDATED, [(later.listing.listing_key, later)])
    (last,) = await wait_until(lambda: offers_for(pipeline, later.listing.listing_key), 90)
    assert last.product_fingerprint == offer.product_fingerprint
    assert same_title_attached(pipeline) == shortcut_before + 3
    # Either way the master is what fusing all four listings gives: fusing it again now must
    # change nothing (its facts, name and the listings they are credited to).
    fused_columns = (
        "SELECT attributes, normalized_name, category_id, gtin, model_codes, code_keys, "
        "match_brand, category_group, match_title, attribute_sources, name_source "
        "FROM productos_maestros WHERE fingerprint = $1"
    )
    (kept,) = await fetch(pipeline, fused_columns, offer.product_fingerprint)
    conn = await pipeline.db()
    try:
        master_id = await conn.fetchval(
            "SELECT id FROM productos_maestros WHERE fingerprint = $1", offer.product_fingerprint
        )
        await fuse_masters(conn, [master_id])
    finally:
        await conn.close()
    (refused,) = await fetch(pipeline, fused_columns, offer.product_fingerprint)
    assert refused == kept
