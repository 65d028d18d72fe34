"""The re-scrape fast path on the live stack: router, cache-lookup and persister.

A listing the persister placed is recorded in Redis with the digest of its identity inputs; the
same listing re-scraped with a new price goes router -> products.prices.v1 -> persister, with no
cache-lookup work, and its price shows in the row, in the history and on catalog.offers.v1. A
Redis entry that does not match Postgres (the title changed meanwhile, or the listing is not
there) sends the listing back through the full path; redelivering a price batch changes
nothing and publishes the same events again; a master's state is published only when it changed
or after a redelivered message; without Redis every listing takes the full path.
"""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis.asyncio as redis
from prometheus_client.parser import text_string_to_metric_families

from catalog.cache.listing_digests import digest_key, listing_digest
from catalog.devstack.stack import Stack, free_port, redis_binary, wait_for_port
from catalog.kafka.topics import CATALOG_OFFERS, CATALOG_PRODUCTS, PRICES, RAW, ROUTED
from schemas.models import CatalogOffer, CatalogProduct, PriceObservation, RawListing
from tests.integration.harness import Pipeline, start_pipeline, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

SERVICES = ("router", "cache_lookup", "persister")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
# Titles the rules tier answers (no LLM services needed).
MILK = ("Leche Entera Soprole 1 L", "Lácteos")
COLA = ("Bebida Coca-Cola Original 2 L", "Bebidas")
PHONE = ("Celular Samsung Galaxy A35 5G 256GB Azul", "Celulares")

# Rows as the tests compare them: `persisted_at` is operational.
LISTING_COLUMNS = (
    "listing_key, product_id, title, price, price_original, stock_status, last_seen, version, "
    "price_version, normalization, identity_digest, facts, resolution, source"
)


@pytest.fixture(scope="module")
async def pipeline(stack: Stack) -> AsyncIterator[Pipeline]:
    p = await start_pipeline(stack, services=SERVICES)
    try:
        yield p
    finally:
        p.stop()


def namespace(p: Pipeline) -> str:
    return p.env()["CATALOG_CACHE__NAMESPACE"]


def listing(sku: str, title: tuple[str, str], price: int, seen: datetime) -> RawListing:
    name, category = title
    return RawListing(
        retailer="lider", sku=sku, name=name, category=category, price=price, scraped_at=seen
    )


def metric(p: Pipeline, process: str, name: str, **labels: str) -> float:
    """The value of one sample of a process's /metrics (0 when it was never counted)."""
    for family in text_string_to_metric_families(p.metrics(process)):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


def fast_path(p: Pipeline, service: str, outcome: str) -> float:
    return metric(p, service, "catalog_fast_path_total", service=service, outcome=outcome)


def routed_consumed(p: Pipeline) -> float:
    """Messages cache-lookup has processed from products.routed.v1."""
    return metric(
        p,
        "cache_lookup",
        "catalog_messages_total",
        service="cache_lookup",
        topic=p.topic(ROUTED),
        outcome="processed",
    )


async def row(p: Pipeline, key: str) -> dict[str, Any] | None:
    conn = await p.db()
    try:
        r = await conn.fetchrow(
            f"SELECT {LISTING_COLUMNS} FROM listings WHERE listing_key = $1", key
        )
        return dict(r) if r is not None else None
    finally:
        await conn.close()


async def history(p: Pipeline, key: str) -> list[tuple[int, datetime]]:
    conn = await p.db()
    try:
        rows = await conn.fetch(
            "SELECT price, observed_at FROM price_history WHERE listing_key = $1 ORDER BY id", key
        )
        return [(r["price"], r["observed_at"]) for r in rows]
    finally:
        await conn.close()


async def offers(p: Pipeline, key: str) -> list[CatalogOffer]:
    return [o for o in await p.read_models(CATALOG_OFFERS) if o.listing_key == key]


async def recorded(client: redis.Redis, p: Pipeline, key: str) -> str | None:
    value = await client.get(digest_key(namespace(p), key))
    return value.decode() if isinstance(value, bytes) else value


async def persist(p: Pipeline, item: RawListing, client: redis.Redis | None = None) -> None:
    """Publish a listing and wait until its row shows this price (and, with a client, until
    its digest is recorded)."""
    await p.produce(RAW, [(item.listing_key, item)])

    async def done() -> bool:
        current = await row(p, item.listing_key)
        if current is None or current["price"] != item.price or current["title"] != item.name:
            return False
        if client is None:
            return True
        return await recorded(client, p, item.listing_key) == listing_digest(item, namespace(p))

    await wait_until(done, 90)


@pytest.fixture(scope="module")
async def stack_redis(stack: Stack) -> AsyncIterator[redis.Redis]:
    client = redis.from_url(stack.redis_url)
    try:
        yield client
    finally:
        await client.aclose()


async def test_a_re_scrape_takes_the_fast_path_and_its_price_is_published(
    pipeline: Pipeline, stack_redis: redis.Redis
) -> None:
    sku = f"fast-{uuid.uuid4().hex[:8]}"
    first = listing(sku, MILK, 1090, T0)
    await persist(pipeline, first, stack_redis)
    before = await row(pipeline, first.listing_key)
    assert before is not None and before["identity_digest"] == listing_digest(
        first, namespace(pipeline)
    )
    routed_before = routed_consumed(pipeline)
    applied_before = fast_path(pipeline, "persister", "applied")
    router_before = fast_path(pipeline, "router", "routed")

    again = listing(sku, MILK, 990, T0 + timedelta(hours=6))
    await persist(pipeline, again)

    after = await row(pipeline, first.listing_key)
    assert after is not None
    assert fast_path(pipeline, "router", "routed") == router_before + 1
    assert fast_path(pipeline, "persister", "applied") == applied_before + 1
    # No normalization work: cache-lookup consumed nothing more from products.routed.v1.
    assert routed_consumed(pipeline) == routed_before
    assert after["last_seen"] == again.scraped_at
    assert after["version"] == before["version"] + 1 and after["price_version"] == after["version"]
    # Identity untouched: same master, normalization and resolution.
    for column in ("product_id", "normalization", "identity_digest", "resolution", "title"):
        assert after[column] == before[column], column
    assert after["facts"]["price"] == 990
    assert await history(pipeline, first.listing_key) == [(1090, T0), (990, again.scraped_at)]
    published = await wait_until(
        lambda: _offer_at_version(pipeline, first.listing_key, after["version"]), 30
    )
    assert published.price == 990 and published.price_changed is True
    assert published.last_seen == again.scraped_at


async def _offer_at_version(p: Pipeline, key: str, version: int) -> CatalogOffer | None:
    for offer in await offers(p, key):
        if offer.version == version:
            return offer
    return None


async def test_a_redelivered_price_batch_changes_nothing(
    pipeline: Pipeline, stack_redis: redis.Redis
) -> None:
    sku = f"redo-{uuid.uuid4().hex[:8]}"
    await persist(pipeline, listing(sku, COLA, 2190, T0), stack_redis)
    again = listing(sku, COLA, 1990, T0 + timedelta(days=1))
    applied_before = fast_path(pipeline, "persister", "applied")
    await persist(pipeline, again)
    assert fast_path(pipeline, "persister", "applied") == applied_before + 1
    key = again.listing_key
    state = await row(pipeline, key)
    rows = await history(pipeline, key)
    assert state is not None
    events = await wait_until(lambda: _offer_at_version(pipeline, key, state["version"]), 30)

    # The very records the router sent, consumed again (as after a crash before the commit).
    sent = [value for k, value in await pipeline.read(PRICES) if k == key]
    assert len(sent) == 1
    await pipeline.produce(PRICES, [(key, sent[0])])

    async def applied_again() -> bool:
        return fast_path(pipeline, "persister", "applied") >= applied_before + 2

    await wait_until(applied_again, 60)
    assert await row(pipeline, key) == state
    assert await history(pipeline, key) == rows

    async def republished() -> list[CatalogOffer]:
        same = [o for o in await offers(pipeline, key) if o.version == state["version"]]
        return same if len(same) >= 2 else []

    again_published = await wait_until(republished, 30)
    assert {o.event_id for o in again_published} == {events.event_id}
    assert max(o.version for o in await offers(pipeline, key)) == state["version"]
    # The master's state (its minimum price moved) goes out again too: same version, same id.
    fingerprint = await master_fingerprint(pipeline, state["product_id"])

    async def state_again() -> list[CatalogProduct]:
        latest = [s for s in await products(pipeline, fingerprint)]
        top = max(s.version for s in latest)
        same = [s for s in latest if s.version == top]
        return same if len(same) >= 2 else []

    states = await wait_until(state_again, 30)
    assert len({s.event_id for s in states}) == 1
    assert states[0].min_price is not None and states[0].min_price <= 1990


async def master_fingerprint(p: Pipeline, product_id: int) -> str:
    conn = await p.db()
    try:
        return str(
            await conn.fetchval(
                "SELECT fingerprint FROM productos_maestros WHERE id = $1", product_id
            )
        )
    finally:
        await conn.close()


async def products(p: Pipeline, fingerprint: str) -> list[CatalogProduct]:
    return [
        s for s in await p.read_models(CATALOG_PRODUCTS) if s.product_fingerprint == fingerprint
    ]


async def test_an_unchanged_master_state_is_not_published_again_unless_redelivered(
    pipeline: Pipeline, stack_redis: redis.Redis
) -> None:
    sku = f"same-{uuid.uuid4().hex[:8]}"
    await persist(pipeline, listing(sku, PHONE, 259_990, T0), stack_redis)
    placed = await row(pipeline, listing(sku, PHONE, 259_990, T0).listing_key)
    assert placed is not None
    fingerprint = await master_fingerprint(pipeline, placed["product_id"])
    await wait_until(
        lambda: _offer_at_version(pipeline, placed["listing_key"], placed["version"]), 30
    )
    published_before = await products(pipeline, fingerprint)
    assert published_before, "placing the listing publishes its master's state"

    # Re-scraped at the same price and stock: the offer moves (seen-at), the master does not.
    again = listing(sku, PHONE, 259_990, T0 + timedelta(hours=3))
    applied_before = fast_path(pipeline, "persister", "applied")
    await pipeline.produce(RAW, [(again.listing_key, again)])

    async def applied() -> bool:
        return fast_path(pipeline, "persister", "applied") >= applied_before + 1

    await wait_until(applied, 60)
    state = await row(pipeline, again.listing_key)
    assert state is not None and state["last_seen"] == again.scraped_at
    assert state["version"] == placed["version"] + 1
    offer = await wait_until(
        lambda: _offer_at_version(pipeline, again.listing_key, state["version"]), 30
    )
    assert offer.price_changed is False
    # Sent with the offer, before the batch was committed: had there been one, it would be here.
    await asyncio.sleep(2)
    assert await products(pipeline, fingerprint) == published_before
    assert await history(pipeline, again.listing_key) == [(259_990, T0)]

    # The same record again (a redelivery), now followed by a newer one of the same listing
    # that changes nothing the master publishes: the master's state goes out again, unchanged.
    sent = [
        value
        for k, value in await pipeline.read(PRICES)
        if k == again.listing_key
        and PriceObservation.model_validate_json(value).listing.scraped_at == again.scraped_at
    ]
    assert len(sent) == 1
    newer = PriceObservation(
        listing=listing(sku, PHONE, 259_990, T0 + timedelta(hours=4)),
        identity_digest=state["identity_digest"],
    )
    await pipeline.produce(PRICES, [(again.listing_key, sent[0]), (again.listing_key, newer)])

    async def republished() -> list[CatalogProduct]:
        now = await products(pipeline, fingerprint)
        return now[len(published_before) :]

    extra = await wait_until(republished, 30)
    last = max(published_before, key=lambda s: s.version)
    assert {(s.version, s.event_id) for s in extra} == {(last.version, last.event_id)}
    final = await row(pipeline, again.listing_key)
    assert final is not None and final["product_id"] == placed["product_id"]
    assert await history(pipeline, again.listing_key) == [(259_990, T0)]


async def test_a_stale_digest_in_redis_goes_the_full_path(
    pipeline: Pipeline, stack_redis: redis.Redis
) -> None:
    sku = f"stale-{uuid.uuid4().hex[:8]}"
    old = listing(sku, MILK, 1090, T0)
    await persist(pipeline, old, stack_redis)
    # The store retitles the listing: persisted on the full path (a new digest everywhere)...
    retitled = listing(sku, PHONE, 249_990, T0 + timedelta(hours=1))
    await persist(pipeline, retitled, stack_redis)
    moved = await row(pipeline, retitled.listing_key)
    assert moved is not None
    # ...then Redis falls behind Postgres (say, a write lost in a blip): it holds the old digest.
    await stack_redis.set(
        digest_key(namespace(pipeline), old.listing_key), listing_digest(old, namespace(pipeline))
    )
    detours = fast_path(pipeline, "persister", "full_path")
    routed_before = routed_consumed(pipeline)
    # The old title comes back: the router takes the fast path on Redis' word, Postgres says no.
    back = listing(sku, MILK, 1190, T0 + timedelta(hours=2))
    await persist(pipeline, back, stack_redis)

    assert fast_path(pipeline, "persister", "full_path") == detours + 1
    assert routed_consumed(pipeline) > routed_before
    final = await row(pipeline, back.listing_key)
    assert final is not None
    assert final["title"] == back.name and final["price"] == 1190
    assert final["identity_digest"] == listing_digest(back, namespace(pipeline))
    assert final["normalization"] != moved["normalization"]
    assert final["product_id"] != moved["product_id"]
    assert (1190, back.scraped_at) in await history(pipeline, back.listing_key)
    published = await wait_until(
        lambda: _offer_at_version(pipeline, back.listing_key, final["version"]), 30
    )
    assert published.price == 1190


async def test_a_digest_for_an_unknown_listing_goes_the_full_path(
    pipeline: Pipeline, stack_redis: redis.Redis
) -> None:
    fresh = listing(f"ghost-{uuid.uuid4().hex[:8]}", COLA, 1890, T0)
    # Redis says the listing was persisted (Postgres restored from a backup, say); it was not.
    await stack_redis.set(
        digest_key(namespace(pipeline), fresh.listing_key),
        listing_digest(fresh, namespace(pipeline)),
    )
    detours = fast_path(pipeline, "persister", "full_path")
    await persist(pipeline, fresh)
    assert fast_path(pipeline, "persister", "full_path") == detours + 1
    placed = await row(pipeline, fresh.listing_key)
    assert placed is not None
    assert placed["identity_digest"] == listing_digest(fresh, namespace(pipeline))
    assert await history(pipeline, fresh.listing_key) == [(1890, T0)]


@pytest.fixture
def own_redis() -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """A Redis of this test's own, so stopping it does not disturb other tests."""
    port = free_port()
    proc = subprocess.Popen(
        [redis_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", ""],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port(port, 10, proc)
    try:
        yield port, proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


async def test_without_redis_every_listing_takes_the_full_path(
    stack: Stack, own_redis: tuple[int, subprocess.Popen[bytes]]
) -> None:
    port, redis_proc = own_redis
    p = await start_pipeline(
        stack,
        {"CATALOG_REDIS__URL": f"redis://127.0.0.1:{port}/0", "CATALOG_REDIS__RETRY_AFTER_S": "1"},
        services=SERVICES,
    )
    client = redis.from_url(f"redis://127.0.0.1:{port}/0")
    try:
        sku = f"down-{uuid.uuid4().hex[:8]}"
        await persist(p, listing(sku, COLA, 2190, T0), client)
        await client.aclose()
        redis_proc.terminate()
        await asyncio.to_thread(redis_proc.wait, 10)
        routed_before = routed_consumed(p)

        again = listing(sku, COLA, 1990, T0 + timedelta(days=1))
        await persist(p, again)

        assert fast_path(p, "router", "routed") == 0
        assert fast_path(p, "persister", "applied") == 0
        assert routed_consumed(p) == routed_before + 1
        assert await history(p, again.listing_key) == [(2190, T0), (1990, again.scraped_at)]
        final = await row(p, again.listing_key)
        assert final is not None
        published = await wait_until(
            lambda: _offer_at_version(p, again.listing_key, final["version"]), 30
        )
        assert published.price == 1990 and published.price_changed is True
    finally:
        p.stop()
