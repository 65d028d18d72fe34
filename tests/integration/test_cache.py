"""The multilevel cache against real Redis and Postgres + pgvector.

Entries are written the way production writes them (the persister's `CatalogWriter`), then
looked up through `MultiLevelCache` exactly as cache-lookup does.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import pytest
import redis.asyncio as redis
from typer.testing import CliRunner

from cache_lookup.logic import lookup_key
from catalog import cli, products
from catalog.cache import maintenance
from catalog.cache.embeddings import HashingEmbedder
from catalog.cache.l1 import L1Cache
from catalog.cache.l2 import SemanticCache
from catalog.cache.multilevel import MultiLevelCache
from catalog.db.pool import create_pool
from catalog.devstack.stack import Stack
from catalog.domain.taxonomy import load_taxonomy
from catalog.service import Incoming
from catalog.settings import CacheSettings, PostgresSettings, Settings, get_settings
from persister.logic import CatalogWriter
from router.logic import Router
from schemas.models import RawListing, RoutedListing, ValidatedProduct
from tests.integration.harness import create_database

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]


@dataclass
class CacheRig:
    pool: asyncpg.Pool
    redis: redis.Redis
    l1: L1Cache
    cache: MultiLevelCache
    writer: CatalogWriter
    router: Router
    settings: Settings
    dsn: str

    def route(
        self, name: str, category: str | None = None, sku: str | None = None
    ) -> RoutedListing:
        listing = RawListing(
            retailer="ripley", sku=sku or uuid.uuid4().hex[:10], name=name, price=9990,
            category=category,
        )  # fmt: skip
        return self.router.route(listing)

    async def remember(self, routed: RoutedListing) -> ValidatedProduct:
        """Persist a listing's rules answer as the persister would (L3 + L2 + L1)."""
        rules = routed.rules
        assert rules.brand and rules.model and rules.category, rules
        validated = products.from_extraction(
            routed, rules, source="rules", prompt_version=self.settings.llm.prompt_version
        )
        incoming = Incoming(validated, None, {}, "products.validated.v1", 0, 0)
        await self.writer.handle_validated([incoming])
        return validated


@pytest.fixture(scope="module")
async def rig(stack: Stack) -> AsyncIterator[CacheRig]:
    dsn = await create_database(stack, f"cache_{uuid.uuid4().hex[:8]}")
    namespace = f"test-{uuid.uuid4().hex[:8]}"
    settings = Settings(cache=CacheSettings(namespace=namespace))
    pool = await create_pool(PostgresSettings(dsn=dsn))  # type: ignore[arg-type]
    client = redis.Redis.from_url(stack.redis_url)
    l1 = L1Cache(client, namespace, retry_after_s=0.5)
    embedder = HashingEmbedder()
    semantic = SemanticCache(pool, embedder.model, embedder.dim)
    await semantic.ensure_index()
    taxonomy = load_taxonomy()
    cache = MultiLevelCache(settings.cache, taxonomy, l1, pool, semantic, embedder)
    writer = CatalogWriter(pool, taxonomy, l1, semantic, embedder, namespace, 3600)
    try:
        yield CacheRig(pool, client, l1, cache, writer, Router(settings), settings, dsn)
    finally:
        await client.aclose()
        await pool.close()


async def test_l1_hit_for_the_same_title_at_another_retailer(rig: CacheRig) -> None:
    first = rig.route("Celular Samsung Galaxy S24 Ultra 512GB Titanium Gray", "Celulares")
    stored = await rig.remember(first)
    again = rig.route("Celular Samsung Galaxy S24 Ultra 512GB Titanium Gray", "Smartphones")
    assert again.input_fingerprint == first.input_fingerprint
    [hit] = await rig.cache.lookup([lookup_key(again)])
    assert hit is not None and hit.level == "l1"
    assert hit.entry.product_fingerprint == stored.product_fingerprint


async def test_l1_miss_then_l2_hit_is_promoted_to_l1(rig: CacheRig) -> None:
    stored = await rig.remember(rig.route("Smart TV LG 65 Pulgadas OLED evo C4 4K OLED65C4", "TV"))
    # Same TV written another way: a different input fingerprint, a close embedding.
    other = rig.route('LG OLED evo C4 65" 4K Smart TV OLED65C4', "Televisores")
    assert other.input_fingerprint != stored.input_fingerprint
    assert await rig.l1.get_many([other.input_fingerprint]) == {}
    [hit] = await rig.cache.lookup([lookup_key(other)])
    assert hit is not None and hit.level == "l2", hit
    assert hit.entry.product_fingerprint == stored.product_fingerprint
    assert hit.similarity >= 0.88
    promoted = await rig.l1.get_many([other.input_fingerprint])
    assert promoted[other.input_fingerprint].product_fingerprint == stored.product_fingerprint
    [again] = await rig.cache.lookup([lookup_key(other)])
    assert again is not None and again.level == "l1"


@pytest.mark.parametrize(
    ("cached", "new", "category", "attribute"),
    [
        pytest.param(
            "Celular Apple iPhone 15 Pro Max 256GB Titanio Natural Liberado Dual eSIM 5G "
            "Pantalla 6.7 Super Retina XDR",
            "Celular Apple iPhone 15 Pro Max 512GB Titanio Natural Liberado Dual eSIM 5G "
            "Pantalla 6.7 Super Retina XDR",
            "Celulares",
            "storage_gb",
            id="256GB vs 512GB",
        ),
        pytest.param(
            "Perfume Carolina Herrera Good Girl EDP 100 ml Mujer",
            "Perfume Carolina Herrera Good Girl EDP 50 ml Mujer",
            "Perfumes", "volume_ml", id="100 ml vs 50 ml",
        ),
        pytest.param(
            "Smart TV Samsung 55\" Crystal UHD 4K DU7000",
            "Smart TV Samsung 65\" Crystal UHD 4K DU7000",
            "Televisores", "screen_in", id="55 vs 65 inches",
        ),
    ],
)  # fmt: skip
async def test_identity_guard_rejects_a_close_neighbour_that_is_another_product(
    rig: CacheRig, cached: str, new: str, category: str, attribute: str
) -> None:
    stored = await rig.remember(rig.route(cached, category))
    routed = rig.route(new, category)
    assert routed.rules.attributes[attribute] != stored.attributes[attribute]
    # The neighbour is close enough to pass the similarity threshold on its own ...
    [vector] = await rig.cache.embedder.embed([new])  # type: ignore[union-attr]
    neighbours = await rig.cache.semantic.nearest(vector, routed.category, 5)  # type: ignore[union-attr,arg-type]
    close = [n for n in neighbours if n.entry.product_fingerprint == stored.product_fingerprint]
    assert close and close[0].similarity >= rig.cache.threshold(routed.category or ""), neighbours
    # ... and the guard still refuses it.
    [hit] = await rig.cache.lookup([lookup_key(routed)])
    assert hit is None or hit.entry.product_fingerprint != stored.product_fingerprint


async def test_l3_hit_refills_l1_and_l2(rig: CacheRig) -> None:
    routed = rig.route("Leche Semidescremada Colun 1 L", "Lácteos")
    await rig.remember(routed)
    # Forget the fast levels: only the durable record is left.
    await rig.l1.invalidate()
    async with rig.pool.acquire() as conn:
        await conn.execute(
            "DELETE FROM ai_embeddings WHERE fingerprint = $1", routed.input_fingerprint
        )
    [hit] = await rig.cache.lookup([lookup_key(routed)])
    assert hit is not None and hit.level == "l3"
    assert routed.input_fingerprint in await rig.l1.get_many([routed.input_fingerprint])
    async with rig.pool.acquire() as conn:
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM ai_embeddings WHERE fingerprint = $1",
                routed.input_fingerprint,
            )
            == 1
        )


async def test_redis_unreachable_degrades_to_l2_and_l3(rig: CacheRig) -> None:
    routed = rig.route("Bebida Coca-Cola Original 1.5 L", "Bebidas")
    await rig.remember(routed)
    dead = L1Cache(redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2), "x", 5.0)
    cache = MultiLevelCache(rig.settings.cache, rig.cache.taxonomy, dead, rig.pool,
                            rig.cache.semantic, rig.cache.embedder)  # fmt: skip
    [hit] = await cache.lookup([lookup_key(routed)])
    assert hit is not None and hit.level in ("l2", "l3")
    assert dead.available is False
    # While Redis is marked down, lookups do not wait on it again.
    [again] = await cache.lookup([lookup_key(routed)])
    assert again is not None


async def test_warm_refills_l1_and_l2_then_invalidate_drops_a_category(
    rig: CacheRig, stack: Stack
) -> None:
    routed = rig.route("Perfume Paco Rabanne 1 Million EDT 200 ml Hombre", "Perfumes")
    await rig.remember(routed)
    fp = routed.input_fingerprint
    await rig.l1.invalidate()
    async with rig.pool.acquire() as conn:
        await conn.execute("DELETE FROM ai_embeddings WHERE fingerprint = $1", fp)
    semantic, embedder = rig.cache.semantic, rig.cache.embedder
    assert semantic is not None and embedder is not None
    report = await maintenance.warm(
        rig.pool, rig.l1, semantic, embedder, rig.cache.taxonomy,
        rig.settings.cache.namespace, 3600,
    )  # fmt: skip
    assert report.vectors_added >= 1 and report.l1_written == report.entries
    assert fp in await rig.l1.get_many([fp])

    # The same through the CLI, scoped to one category.
    env = {
        "CATALOG_POSTGRES__DSN": rig.dsn,
        "CATALOG_REDIS__URL": stack.redis_url,
        "CATALOG_CACHE__NAMESPACE": rig.settings.cache.namespace,
    }
    get_settings.cache_clear()
    try:
        # The CLI runs its own event loop: give it a thread of its own.
        result = await asyncio.to_thread(
            CliRunner().invoke,
            cli.app,
            ["cache", "invalidate", "--category", "perfumes", "--yes"],
            env=env,
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "invalidated" in result.output
    assert await rig.l1.get_many([fp]) == {}
    async with rig.pool.acquire() as conn:
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM ai_metadata_cache WHERE category = 'perfumes'"
            )
            == 0
        )
        assert await conn.fetchval("SELECT count(*) FROM ai_metadata_cache") > 0
