"""Catalog-wide gauges read from Postgres: the catalog's size and the review backlog.

No service can count these from the messages it handles (a master product is created once, a
review item is resolved by an operator), so the persister refreshes them on a timer.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from catalog import metrics

CATALOG_GAUGES_SQL = """
SELECT
    (SELECT count(*) FROM productos_maestros WHERE active AND merged_into IS NULL) AS masters,
    (SELECT count(*) FROM precios_actuales) AS offers,
    (SELECT count(*) FROM review_items WHERE status = 'pending') AS review_backlog,
    (SELECT coalesce(extract(epoch FROM now() - min(queued_at)), 0)
       FROM review_items WHERE status = 'pending') AS review_oldest_age_s
"""


@dataclass(frozen=True, slots=True)
class CatalogGauges:
    masters: int
    offers: int
    review_backlog: int
    review_oldest_age_s: float


async def read_catalog_gauges(pool: asyncpg.Pool) -> CatalogGauges:
    row = await pool.fetchrow(CATALOG_GAUGES_SQL)
    assert row is not None
    return CatalogGauges(
        masters=int(row["masters"]),
        offers=int(row["offers"]),
        review_backlog=int(row["review_backlog"]),
        review_oldest_age_s=float(row["review_oldest_age_s"]),
    )


async def refresh_catalog_gauges(pool: asyncpg.Pool) -> CatalogGauges:
    """Read the gauges and publish them in the metric registry."""
    gauges = await read_catalog_gauges(pool)
    metrics.MASTERS.set(gauges.masters)
    metrics.OFFERS.set(gauges.offers)
    metrics.REVIEW_BACKLOG.set(gauges.review_backlog)
    metrics.REVIEW_OLDEST_AGE.set(gauges.review_oldest_age_s)
    return gauges
