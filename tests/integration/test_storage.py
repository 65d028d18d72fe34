"""Migrations and the embedded stack's Postgres."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from catalog.cache.l2 import SemanticCache
from catalog.db.migrate import MigrationError, load_migrations, migrate
from catalog.db.pool import create_pool
from catalog.devstack.stack import Stack
from catalog.settings import PostgresSettings
from tests.integration.harness import create_database

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]


async def test_migrations_apply_once_and_load_reference_data(stack: Stack) -> None:
    dsn = await create_database(stack, f"mig_{uuid.uuid4().hex[:8]}")
    # create_database already migrated: a second run applies nothing and changes nothing.
    assert await migrate(dsn) == []
    conn = await asyncpg.connect(dsn)
    try:
        versions = [r["version"] for r in await conn.fetch(
            "SELECT version FROM schema_migrations ORDER BY version")]  # fmt: skip
        assert versions == [m.version for m in load_migrations()]
        tables = {r["tablename"] for r in await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}  # fmt: skip
        assert {"ai_metadata_cache", "ai_embeddings", "productos_maestros", "precios_actuales",
                "categories", "brand_aliases", "llm_batches", "llm_batch_items", "price_history",
                "listings", "dead_letters", "review_items"} <= tables  # fmt: skip
        categories = await conn.fetchval("SELECT count(*) FROM categories")
        brands = await conn.fetchval("SELECT count(DISTINCT brand_canonical) FROM brand_aliases")
        assert categories >= 20 and brands >= 150
        schema = await conn.fetchval(
            "SELECT attribute_schema FROM categories WHERE category_id = 'smartphones'"
        )
        assert "storage_gb" in schema
        assert (
            await conn.fetchval(
                "SELECT brand_canonical FROM brand_aliases WHERE alias = 'coca cola'"
            )
            == "COCA-COLA"
        )
        extensions = {r["extname"] for r in await conn.fetch("SELECT extname FROM pg_extension")}
        assert {"vector", "pg_trgm", "btree_gin"} <= extensions
    finally:
        await conn.close()


async def test_an_edited_applied_migration_is_refused(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    dsn = await create_database(stack, f"mig_{uuid.uuid4().hex[:8]}")
    original = load_migrations()
    edited = [type(m)(m.version, m.name, m.sql + "\n-- edited") if m.version == 3 else m
              for m in original]  # fmt: skip
    monkeypatch.setattr("catalog.db.migrate.load_migrations", lambda: edited)
    with pytest.raises(MigrationError, match="changed after it was applied"):
        await migrate(dsn)


async def test_services_starting_together_create_the_vector_index_once(stack: Stack) -> None:
    # cache-lookup and the persister both ensure the L2 index at start, at the same moment.
    dsn = await create_database(stack, f"idx_{uuid.uuid4().hex[:8]}")
    pools = [await create_pool(PostgresSettings(dsn=dsn)) for _ in range(4)]  # type: ignore[arg-type]
    try:
        await asyncio.gather(*(SemanticCache(p, "test-model", 8).ensure_index() for p in pools))
        indexes = await pools[0].fetchval(
            "SELECT count(*) FROM pg_indexes WHERE indexname = 'idx_embeddings_hnsw_test_model_8'"
        )
        assert indexes == 1
    finally:
        for pool in pools:
            await pool.close()
