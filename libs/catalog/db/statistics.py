"""Planner statistics of the catalog tables, kept fresh when they grow faster than autovacuum
looks at them.

The persister's batched identity resolution joins every listing of a batch against
`productos_maestros` and `listings` in one statement; with no statistics (a new catalog, or a
table that grew tenfold since autovacuum last sampled it) Postgres takes them for nearly empty
and scans a whole index for each primary-key lookup, which made one batch's candidate query
ten times slower on a fresh catalog. Autovacuum analyses a table only after its naptime and
once 10% of it changed; a catalog filling at a thousand listings per second outruns that.
`analyze_stale` analyses a table once the rows changed since its last analysis exceed
`threshold + share * live rows` (a stricter version of autovacuum's own rule).
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

__all__ = ["CATALOG_TABLES", "analyze_stale"]

CATALOG_TABLES = ("listings", "productos_maestros", "precios_actuales", "ai_embeddings")


async def analyze_stale(
    pool: asyncpg.Pool,
    tables: Sequence[str] = CATALOG_TABLES,
    *,
    threshold: int = 500,
    share: float = 0.2,
) -> list[str]:
    """ANALYZE each of `tables` whose changes since its last analysis exceed `threshold +
    share * live rows`; returns the tables analysed."""
    rows = await pool.fetch(
        """SELECT relname FROM pg_stat_user_tables
           WHERE schemaname = current_schema() AND relname = ANY($1::text[])
             AND n_mod_since_analyze > $2 + $3 * n_live_tup
           ORDER BY relname""",
        list(tables),
        threshold,
        share,
    )
    analysed = [r["relname"] for r in rows]
    for table in analysed:
        # A name from the fixed list above, never from input.
        await pool.execute(f'ANALYZE "{table}"')
    return analysed
