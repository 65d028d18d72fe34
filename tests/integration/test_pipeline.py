"""Raw listings through all six services to Postgres and the catalog topics."""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator

import pytest

from catalog.devstack.stack import Stack
from catalog.kafka.topics import CATALOG_OFFERS, CATALOG_PRODUCTS, DLQ, RAW, VALIDATED
from schemas.models import CatalogOffer, CatalogProduct, DeadLetter, RawListing
from tests.integration.harness import BATCH_PATH_ENV, Pipeline, start_pipeline, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]


@pytest.fixture(scope="module")
async def pipeline(stack: Stack) -> AsyncIterator[Pipeline]:
    p = await start_pipeline(stack, BATCH_PATH_ENV)
    try:
        yield p
    finally:
        p.stop()


def listing(retailer: str, sku: str, name: str, price: int, **extra: object) -> RawListing:
    return RawListing.model_validate(
        {"retailer": retailer, "sku": sku, "name": name, "price": price, **extra}
    )


async def count(p: Pipeline, sql: str, *args: object) -> int:
    conn = await p.db()
    try:
        return int(await conn.fetchval(sql, *args))
    finally:
        await conn.close()


async def test_listing_through_llm_batch_then_cache_hit_from_another_retailer(
    pipeline: Pipeline,
) -> None:
    sku = uuid.uuid4().hex[:8]
    # A brand the rules only know from the retailer's field: not sure enough, so the LLM.
    first = listing(
        "falabella",
        f"F-{sku}",
        "Harina Sin Polvos Selecta 1 Kg",
        1990,
        category="Despensa",
        brand="Selecta",
    )
    await pipeline.produce(RAW, [(first.listing_key, first)])

    async def persisted(key: str) -> int:
        return await count(pipeline, "SELECT count(*) FROM listings WHERE listing_key = $1", key)

    await wait_until(lambda: persisted(first.listing_key), 90)
    # The same title at another retailer: answered by the cache, no new LLM item.
    second = listing(
        "paris", f"P-{sku}", "Harina Sin Polvos Selecta 1 Kg", 1890, category="Harinas"
    )
    await pipeline.produce(RAW, [(second.listing_key, second)])
    await wait_until(lambda: persisted(second.listing_key), 60)

    conn = await pipeline.db()
    try:
        rows = await conn.fetch(
            "SELECT listing_key, source, product_id FROM listings WHERE listing_key = ANY($1) "
            "ORDER BY listing_key",
            [first.listing_key, second.listing_key],
        )
        assert [r["listing_key"] for r in rows] == sorted([first.listing_key, second.listing_key])
        by_key = {r["listing_key"]: r for r in rows}
        assert by_key[first.listing_key]["source"] == "llm"
        assert by_key[second.listing_key]["source"] == "l1"
        # One master product with two offers, one per retailer.
        assert by_key[first.listing_key]["product_id"] == by_key[second.listing_key]["product_id"]
        product_id = by_key[first.listing_key]["product_id"]
        product = await conn.fetchrow("SELECT * FROM productos_maestros WHERE id = $1", product_id)
        assert product["brand"] == "SELECTA"
        assert product["category_id"] == "groceries"
        assert product["attributes"]["weight_g"] == 1000
        assert product["active"] is True
        offers = await conn.fetch(
            "SELECT retailer, sku, price_current FROM precios_actuales WHERE product_id = $1 "
            "ORDER BY retailer",
            product_id,
        )
        assert [(o["retailer"], o["sku"], int(o["price_current"])) for o in offers] == [
            ("falabella", f"F-{sku}", 1990),
            ("paris", f"P-{sku}", 1890),
        ]
        # The LLM answer went through a provider batch, and was recorded once.
        items = await conn.fetch(
            "SELECT status, batch_id FROM llm_batch_items WHERE request->'routed'->'listing'->>"
            "'sku' = $1",
            f"F-{sku}",
        )
        assert len(items) == 1 and items[0]["status"] == "done" and items[0]["batch_id"]
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM llm_batch_items "
                "WHERE request->'routed'->'listing'->>'sku' = $1",
                f"P-{sku}",
            )
            == 0
        )
        # One cache entry: both titles normalize to the same input fingerprint.
        cache_rows = await conn.fetchval(
            "SELECT count(*) FROM ai_metadata_cache WHERE fingerprint IN "
            "(SELECT input_fingerprint FROM listings WHERE listing_key = ANY($1))",
            [first.listing_key, second.listing_key],
        )
        assert cache_rows == 1
        history = await conn.fetchval(
            "SELECT count(*) FROM price_history WHERE listing_key = ANY($1)",
            [first.listing_key, second.listing_key],
        )
        assert history == 2
    finally:
        await conn.close()

    fingerprint = product["fingerprint"]

    async def catalog_messages() -> tuple[list[CatalogProduct], list[CatalogOffer]]:
        products = [
            m
            for m in await pipeline.read_models(CATALOG_PRODUCTS)
            if m.product_fingerprint == fingerprint
        ]
        offers = [
            m
            for m in await pipeline.read_models(CATALOG_OFFERS)
            if m.product_fingerprint == fingerprint
        ]
        return products, offers

    products, offers = await catalog_messages()
    assert {(o.retailer, o.price) for o in offers} == {("falabella", 1990), ("paris", 1890)}
    latest = products[-1]
    assert latest.offer_count == 2
    assert (latest.min_price, latest.max_price) == (1890, 1990)
    assert latest.brand == "SELECTA"


async def test_malformed_message_is_dead_lettered_and_the_next_one_flows(
    pipeline: Pipeline,
) -> None:
    sku = uuid.uuid4().hex[:8]
    bad_key = f"lider:BAD-{sku}"
    good = listing("lider", f"OK-{sku}", "Coca Cola Original 2L", 2490, category="Bebidas")
    await pipeline.produce(
        RAW,
        [
            (bad_key, b'{"retailer": "lider", "sku": "BAD", "name": '),
            (
                f"lider:WRONG-{sku}",
                b'{"retailer": "lider", "sku": "W", "name": "x y", "price": "gratis"}',
            ),
            # No price at all: no offer to compare, refused by the router's business rules.
            (
                f"lider:NOPRICE-{sku}",
                b'{"retailer": "lider", "sku": "NP", "name": "Leche Colun Entera 1 L"}',
            ),
            (good.listing_key, good),
        ],
    )

    async def good_persisted() -> int:
        return await count(
            pipeline, "SELECT count(*) FROM listings WHERE listing_key = $1", good.listing_key
        )

    await wait_until(good_persisted, 60)
    letters = [
        d
        for d in await pipeline.read_models(DLQ)
        if d.key_b64 and sku in base64.b64decode(d.key_b64).decode()
    ]
    assert len(letters) == 3
    by_key = {base64.b64decode(d.key_b64).decode(): d for d in letters}
    broken: DeadLetter = by_key[bad_key]
    assert broken.service == "router"
    assert broken.error_type == "contract_error"
    assert "RawListing invalid" in broken.error
    assert base64.b64decode(broken.value_b64) == b'{"retailer": "lider", "sku": "BAD", "name": '
    assert "price" in by_key[f"lider:WRONG-{sku}"].error
    unpriced = by_key[f"lider:NOPRICE-{sku}"]
    assert unpriced.error_type == "business_rule" and "no price stated" in unpriced.error
    # The audit table gets them too.
    await wait_until(
        lambda: count(
            pipeline,
            "SELECT count(*) FROM dead_letters WHERE key_b64 = ANY($1)",
            [d.key_b64 for d in letters],
        ),
        30,
    )
    validated = [
        v
        for v in await pipeline.read_models(VALIDATED)
        if v.listing.listing_key == good.listing_key
    ]
    assert validated and validated[0].brand == "COCA-COLA"
