"""Migrations and the embedded stack's Postgres."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from batch_builder.app import BatchBuilderProcessor
from catalog.cache.l2 import SemanticCache
from catalog.db.migrate import MigrationError, load_migrations, migrate
from catalog.db.pool import close_pool, create_pool
from catalog.devstack.stack import Stack
from catalog.settings import PostgresSettings, Settings
from tests.integration.harness import create_database, wait_until

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


async def test_a_pooled_connection_comes_back_without_its_transaction(stack: Stack) -> None:
    # The pool skips asyncpg's session reset query; a transaction left open on release is still
    # rolled back, with its transaction-local settings.
    dsn = await create_database(stack, f"pool_{uuid.uuid4().hex[:8]}")
    pool = await create_pool(PostgresSettings(dsn=dsn), min_size=1, max_size=1)  # type: ignore[arg-type]
    try:
        conn = await pool.acquire()
        pid = await conn.fetchval("SELECT pg_backend_pid()")
        left_open = conn.transaction()
        await left_open.start()
        await conn.execute("SET LOCAL statement_timeout = '1234ms'")
        await conn.execute("CREATE TABLE left_behind (id int)")
        await pool.release(conn)
        async with pool.acquire() as again:
            assert await again.fetchval("SELECT pg_backend_pid()") == pid  # the same session
            assert not again.is_in_transaction()
            assert await again.fetchval("SHOW statement_timeout") == "0"
            assert await again.fetchval("SELECT to_regclass('left_behind')") is None
    finally:
        await pool.close()


async def test_a_pool_closes_though_a_connection_was_never_released(stack: Stack) -> None:
    # A service whose start failed halfway (Postgres gone in the middle of it) can leave a
    # connection acquired; its restart closes the pool first and must not wait for it for ever.
    dsn = await create_database(stack, f"pool_{uuid.uuid4().hex[:8]}")
    pool = await create_pool(PostgresSettings(dsn=dsn), min_size=1, max_size=2)  # type: ignore[arg-type]
    await pool.acquire()  # never released
    with pytest.raises(TimeoutError):  # what a plain close does
        await asyncio.wait_for(asyncio.shield(pool.close()), 0.5)
    started = asyncio.get_running_loop().time()
    await close_pool(pool, timeout_s=0.5)
    assert asyncio.get_running_loop().time() - started < 5
    assert pool.is_closing()


async def _closed(conn: asyncpg.Connection) -> bool:
    """Closed, or already taken back by its pool when the pool saw it die."""
    try:
        return conn.is_closed()
    except asyncpg.InterfaceError:
        return True


async def test_a_stopping_llm_service_closes_its_pool_though_its_lock_connection_broke(
    stack: Stack,
) -> None:
    # The liveness lock's connection dies with its server session (a Postgres restart): releasing
    # the lock then fails, and the pool must be closed all the same, or the next start waits.
    dsn = await create_database(stack, f"pool_{uuid.uuid4().hex[:8]}")
    processor = BatchBuilderProcessor(Settings(postgres=PostgresSettings(dsn=dsn)))  # type: ignore[arg-type]

    async def publish(_outgoing: object) -> None:
        return None

    await processor.start(publish)
    assert processor.pool is not None and processor.store is not None
    lock_conn = processor.store._lock_conn
    assert lock_conn is not None
    pid = await lock_conn.fetchval("SELECT pg_backend_pid()")
    admin = await asyncpg.connect(dsn)
    try:
        await admin.execute("SELECT pg_terminate_backend($1)", pid)
    finally:
        await admin.close()
    # The server closes the session soon after it is told to: wait for the client to see it.
    await wait_until(lambda: _closed(lock_conn), 10)
    with pytest.raises((asyncpg.PostgresError, asyncpg.InterfaceError, OSError)):
        await asyncio.wait_for(processor.stop(), 30)
    assert processor.pool.is_closing()


# What 011's generated columns computed, for comparison with what the trigger of 015 writes.
SEARCH_TEXT_011 = """lower(catalog_unaccent(coalesce(brand, '') || ' ' || coalesce(model, '') || ' '
    || coalesce(normalized_name, '') || ' ' || replace(coalesce(category_id, ''), '_', ' ')))"""
SEARCH_TSV_011 = """setweight(to_tsvector('spanish'::regconfig,
        catalog_unaccent(coalesce(brand, '') || ' ' || coalesce(model, ''))), 'A')
    || setweight(to_tsvector('spanish'::regconfig,
        catalog_unaccent(coalesce(normalized_name, ''))), 'B')
    || setweight(to_tsvector('spanish'::regconfig,
        replace(coalesce(category_id, ''), '_', ' ')), 'C')"""


async def test_search_columns_follow_the_text_and_skip_version_bumps(stack: Stack) -> None:
    dsn = await create_database(stack, f"srch_{uuid.uuid4().hex[:8]}")
    conn = await asyncpg.connect(dsn)

    async def matches_011(fingerprint: str) -> bool:
        return bool(
            await conn.fetchval(
                f"""SELECT search_text = {SEARCH_TEXT_011} AND search_tsv = {SEARCH_TSV_011}
                    FROM productos_maestros WHERE fingerprint = $1""",
                fingerprint,
            )
        )

    async def trigger_calls() -> int:
        # Calls of the trigger function in the current transaction (track_functions = 'pl').
        return int(
            await conn.fetchval(
                "SELECT coalesce(pg_stat_get_xact_function_calls("
                "'productos_maestros_search_columns'::regproc), 0)"
            )
        )

    try:
        await conn.execute("SET track_functions = 'pl'")
        await conn.execute(
            """INSERT INTO productos_maestros (fingerprint, brand, model, normalized_name,
                   category_id)
               VALUES ('fp-a', 'CAFÉ ARÁBICO', 'Tostado', 'Café Molido Ñuñoa 250 g',
                       'cafe_molido'),
                      ('fp-b', 'SAMSUNG', 'Galaxy A35', 'Celular Galaxy A35 256GB',
                       'smartphones')"""
        )
        assert await matches_011("fp-a") and await matches_011("fp-b")
        text = await conn.fetchval("SELECT search_text FROM productos_maestros WHERE id = 1")
        assert text == "cafe arabico tostado cafe molido nunoa 250 g cafe molido"

        # A change of the text is followed, and a direct write cannot make the columns lie.
        await conn.execute(
            "UPDATE productos_maestros SET normalized_name = 'Café en Grano 1 kg' "
            "WHERE fingerprint = 'fp-a'"
        )
        await conn.execute(
            "UPDATE productos_maestros SET search_text = 'otra cosa', search_tsv = NULL "
            "WHERE fingerprint = 'fp-b'"
        )
        assert await matches_011("fp-a") and await matches_011("fp-b")
        assert "grano" in await conn.fetchval(
            "SELECT search_text FROM productos_maestros WHERE fingerprint = 'fp-a'"
        )

        # A version bump (what the persister does to each master whose offers changed) leaves
        # the columns as they are without computing them again.
        async with conn.transaction():
            before = await trigger_calls()
            await conn.execute(
                "UPDATE productos_maestros SET version = version + 1, state_hash = 'h', "
                "updated_at = now(), active = true"
            )
            assert await trigger_calls() == before
            await conn.execute("UPDATE productos_maestros SET category_id = 'granos_de_cafe'")
            assert await trigger_calls() == before + 2
        assert await matches_011("fp-a") and await matches_011("fp-b")

        # Pages keep room for those bumps: each new row version stays on its page (heap-only),
        # so none of the table's indexes gets a new entry.
        await conn.execute(
            """INSERT INTO productos_maestros (fingerprint, brand, model, normalized_name,
                   category_id)
               SELECT 'fp-' || i, 'MARCA', 'Modelo ' || i, 'Producto de prueba número ' || i,
                      'smartphones'
               FROM generate_series(1, 400) i"""
        )
        hot = "SELECT pg_stat_get_xact_tuples_hot_updated('productos_maestros'::regclass)"
        async with conn.transaction():
            # The count includes this session's earlier writes not yet reported.
            before = await conn.fetchval(hot)
            bumped = await conn.execute(
                "UPDATE productos_maestros SET version = version + 1, state_hash = 'h2', "
                "updated_at = now() WHERE id % 10 = 0"
            )
            assert bumped == "UPDATE 40" and await conn.fetchval(hot) - before == 40
    finally:
        await conn.close()


async def test_trigram_neighbours_are_read_from_the_group_index(stack: Stack) -> None:
    """A new listing's trigram neighbours come from the GiST index led by the category group
    (migration 016): with the GIN trigram index alone, Postgres computed the similarity of
    every title of the group (or of the table) for each new listing."""
    from catalog.identity.catalog_pg import _CANDIDATES_SQL

    dsn = await create_database(stack, f"trgm_{uuid.uuid4().hex[:8]}")
    conn = await asyncpg.connect(dsn)
    try:
        # Titles of four words out of a vocabulary of a few thousand, as a store's catalog.
        await conn.execute(
            """INSERT INTO productos_maestros (fingerprint, brand, model, normalized_name,
                   category_id, match_title, category_group)
               SELECT 'fp' || i, 'B', 'm', 'n', 'other',
                      substr(md5(i::text), 1, 6) || ' ' || substr(md5((i % 997)::text), 1, 7)
                      || ' ' || substr(md5((i % 89)::text), 1, 5) || ' ' || i % 13 || 'gb',
                      CASE WHEN i % 2 = 0 THEN 'technology' ELSE 'supermarket' END
               FROM generate_series(1, 3000) AS i"""
        )
        await conn.execute("ANALYZE productos_maestros")
        titles = await conn.fetch("SELECT match_title FROM productos_maestros WHERE id % 500 = 0")
        # gtin, code keys, brand, title, group, limit, excluded, code pattern, vector hits,
        # offers per master: the candidate query of a listing with a title and nothing else.
        plans = [
            await conn.fetchval(
                f"EXPLAIN (FORMAT JSON) {_CANDIDATES_SQL}",
                *(None, [], None, row["match_title"], "technology", 20, [], "", [], 5),
            )
            for row in titles
        ]
        assert len(plans) == 6
        assert all("idx_productos_group_title_gist" in plan for plan in plans), plans[0]
    finally:
        await conn.close()
