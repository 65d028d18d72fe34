"""The catalog size and review backlog gauges, counted from a real Postgres."""

from __future__ import annotations

import json
import uuid

import asyncpg
import pytest

from catalog import metrics
from catalog.catalog_gauges import refresh_catalog_gauges
from catalog.devstack.stack import Stack
from tests.integration.harness import create_database

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]


def sample(name: str) -> float | None:
    return metrics.REGISTRY.get_sample_value(name)


async def test_gauges_count_masters_offers_and_the_pending_review_items(stack: Stack) -> None:
    dsn = await create_database(stack, f"gauges_{uuid.uuid4().hex[:8]}")
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
    assert pool is not None
    try:
        empty = await refresh_catalog_gauges(pool)
        assert (empty.masters, empty.offers, empty.review_backlog) == (0, 0, 0)
        assert empty.review_oldest_age_s == 0.0

        async with pool.acquire() as conn:
            ids = [
                await conn.fetchval(
                    """INSERT INTO productos_maestros (fingerprint, brand, model, normalized_name,
                           category_id) VALUES ($1, 'ACME', $2, $3, 'smartphones') RETURNING id""",
                    f"fp-{n}",
                    f"X{n}",
                    f"ACME X{n}",
                )
                for n in range(3)
            ]
            # Three offers for the first master, one for the second, none for the third.
            for product_id, retailer in [
                (ids[0], "a"), (ids[0], "b"), (ids[0], "c"), (ids[1], "a"),
            ]:  # fmt: skip
                await conn.execute(
                    """INSERT INTO precios_actuales (product_id, retailer, sku, listing_key,
                           price_current) VALUES ($1, $2, $3, $4, 100)""",
                    product_id, retailer, f"sku-{product_id}", f"{retailer}:sku-{product_id}",
                )  # fmt: skip
            for key, hours_ago, status in [
                ("a:1", 5, "resolved"), ("a:2", 2, "pending"), ("a:3", 1, "pending"),
            ]:  # fmt: skip
                await conn.execute(
                    """INSERT INTO review_items (listing_key, input_fingerprint, listing, reasons,
                           status, queued_at)
                       VALUES ($1, 'f', $2, ARRAY['low_confidence'], $3,
                               now() - make_interval(hours => $4))""",
                    key, json.dumps({"title": key}), status, hours_ago,
                )  # fmt: skip

        gauges = await refresh_catalog_gauges(pool)
    finally:
        await pool.close()

    assert (gauges.masters, gauges.offers, gauges.review_backlog) == (3, 4, 2)
    # The oldest pending item (2 h), not the older resolved one (5 h).
    assert 7200 <= gauges.review_oldest_age_s < 7200 + 120
    assert sample("catalog_masters") == 3
    assert sample("catalog_offers") == 4
    assert sample("catalog_review_backlog") == 2
    assert sample("catalog_review_oldest_age_seconds") == gauges.review_oldest_age_s
