"""The asyncpg pool, with JSONB decoded to Python and pgvector's type registered."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import asyncpg
import orjson
from pgvector.asyncpg import register_vector

from catalog.settings import PostgresSettings


def _json_text(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


async def _init_connection(conn: asyncpg.Connection) -> None:
    # orjson: every batch writes and reads JSON columns for each of its listings.
    for name in ("jsonb", "json"):
        await conn.set_type_codec(
            name, encoder=_json_text, decoder=orjson.loads, schema="pg_catalog"
        )
    # The `vector` type does not exist before the first migration has run.
    with contextlib.suppress(ValueError):
        await register_vector(conn)


async def _keep_session(conn: asyncpg.Connection) -> None:
    """A released connection's reset, beyond asyncpg's own (an open transaction rolled back).

    asyncpg's default resets the session with one more round trip per acquire (unlock advisory
    locks, close cursors, unlisten, reset settings). The project leaves none of that on a pooled
    connection: its settings are transaction-local (`SET LOCAL`, `set_config(..., true)`), its
    locks transaction-scoped (`pg_advisory_xact_lock`) except the LLM store's liveness lock,
    which is released before its connection is, and cursors live in transactions."""


async def create_pool(pg: PostgresSettings, **overrides: Any) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        dsn=pg.dsn.get_secret_value(),
        min_size=overrides.get("min_size", pg.pool_min),
        max_size=overrides.get("max_size", pg.pool_max),
        command_timeout=pg.command_timeout_s,
        init=_init_connection,
        reset=_keep_session,
    )
    assert pool is not None
    return pool


# How long closing a pool waits for the connections in use to come back.
CLOSE_TIMEOUT_S = 10.0


async def close_pool(pool: asyncpg.Pool, timeout_s: float = CLOSE_TIMEOUT_S) -> None:
    """Close the pool, waiting at most `timeout_s` for connections in use to be released, then
    terminate it: a connection a failed start left acquired (Postgres went away in the middle of
    it) would otherwise hold `close` for ever, and with it the service's restart."""
    try:
        await asyncio.wait_for(pool.close(), timeout_s)
    except TimeoutError:
        pool.terminate()


async def check(pool: asyncpg.Pool) -> None:
    """Health check: raises if Postgres does not answer."""
    async with pool.acquire(timeout=2.0) as conn:
        await conn.fetchval("SELECT 1")
