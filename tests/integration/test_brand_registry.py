"""The brand registry against a real, migrated Postgres: counts, sources, aliases, the CLI."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from typer.testing import CliRunner

from catalog import brand_registry, metrics
from catalog.cli import app
from catalog.devstack.stack import Stack
from catalog.settings import get_settings
from tests.integration.harness import create_database

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]


@pytest.fixture(scope="module")
async def dsn(stack: Stack) -> str:
    return await create_database(stack, f"brands_{uuid.uuid4().hex[:8]}")


@pytest.fixture
async def conn(dsn: str) -> AsyncIterator[Any]:
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute("TRUNCATE brands")
        yield connection
    finally:
        await connection.close()


async def _row(conn: Any, brand: str) -> dict[str, Any] | None:
    row = await conn.fetchrow("SELECT listings, sources FROM brands WHERE brand = $1", brand)
    if row is None:
        return None
    return {"listings": row["listings"], "sources": json.loads(row["sources"])}


async def test_record_inserts_new_brands_and_counts_every_observation(conn: Any) -> None:
    new_before = metrics.BRANDS_OBSERVED._value.get()
    await brand_registry.record(
        conn,
        [("Linksys", "listing"), ("LINKSYS", "title"), ("linksys", "title"), ("Apple Inc", "llm")],
    )
    await brand_registry.record(conn, [("Linksys", "llm"), ("", "title"), ("  ", "listing")])
    assert await _row(conn, "LINKSYS") == {
        "listings": 4,
        "sources": {"listing": 1, "title": 2, "llm": 1},
    }
    # A packaged alias is counted under its canonical brand.
    assert await _row(conn, "APPLE") == {"listings": 1, "sources": {"llm": 1}}
    assert await conn.fetchval("SELECT count(*) FROM brands") == 2
    # Two brands were new; the second call only added to one of them.
    assert metrics.BRANDS_OBSERVED._value.get() - new_before == 2


async def test_concurrent_writers_lose_no_count(dsn: str, conn: Any) -> None:
    async def writer(n: int) -> None:
        own = await asyncpg.connect(dsn)
        try:
            for _ in range(n):
                async with own.transaction():
                    await brand_registry.record(own, [("Zeta", "title"), ("Alfa", "listing")])
        finally:
            await own.close()

    await asyncio.gather(*(writer(10) for _ in range(4)))
    assert (await _row(conn, "ZETA"))["listings"] == 40  # type: ignore[index]
    assert (await _row(conn, "ALFA"))["sources"] == {"listing": 40}  # type: ignore[index]


async def test_alias_folds_counts_and_later_observations_into_the_brand(conn: Any) -> None:
    await brand_registry.record(conn, [("Samsong", "listing"), ("Samsong", "title")])
    await brand_registry.record(conn, [("Samsung", "listing")])
    moved = await brand_registry.alias(conn, "Samsong", "Samsung")
    assert moved == 2
    assert await _row(conn, "SAMSONG") is None
    assert await _row(conn, "SAMSUNG") == {"listings": 3, "sources": {"listing": 2, "title": 1}}
    await brand_registry.record(conn, [("samsong", "llm")])
    assert (await _row(conn, "SAMSUNG"))["sources"] == {  # type: ignore[index]
        "listing": 2,
        "title": 1,
        "llm": 1,
    }
    # Two spellings of one brand in one call add up on its single row.
    await brand_registry.record(conn, [("Samsong", "llm"), ("Samsung", "llm")])
    assert await _row(conn, "SAMSUNG") == {
        "listings": 6,
        "sources": {"listing": 2, "title": 1, "llm": 3},
    }
    with pytest.raises(ValueError):
        await brand_registry.alias(conn, "Samsung", "SAMSUNG")
    with pytest.raises(ValueError):  # already a packaged spelling of the brand
        await brand_registry.alias(conn, "Samsumg", "Samsung")


async def test_new_brands_are_those_the_packaged_table_does_not_know(conn: Any) -> None:
    await brand_registry.record(conn, [("Sony", "title"), ("Etherfast Labs", "title")])
    listed = {row.brand: row.known for row in await brand_registry.list_brands(conn)}
    assert listed == {"SONY": True, "ETHERFAST LABS": False}
    new = await brand_registry.list_brands(conn, new_only=True)
    assert [row.brand for row in new] == ["ETHERFAST LABS"]


async def test_the_cli_lists_and_aliases(
    dsn: str, conn: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    await brand_registry.record(conn, [("Veronica", "title"), ("Verónica", "llm")])
    await brand_registry.record(conn, [("Lacteos Veronica", "listing")])
    monkeypatch.setenv("CATALOG_POSTGRES__DSN", dsn)
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        listed = await asyncio.to_thread(runner.invoke, app, ["brands", "list", "--new", "--json"])
        assert listed.exit_code == 0, listed.output
        brands = {json.loads(line)["brand"] for line in listed.output.splitlines() if line}
        assert brands == {"VERONICA", "LACTEOS VERONICA"}  # two spellings, one brand
        folded = await asyncio.to_thread(
            runner.invoke, app, ["brands", "alias", "Lacteos Veronica", "Verónica"]
        )
        assert folded.exit_code == 0, folded.output
        assert "1 listing(s) moved" in folded.output
    finally:
        get_settings.cache_clear()
    assert (await _row(conn, "VERONICA"))["listings"] == 3  # type: ignore[index]
