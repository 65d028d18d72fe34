"""Redis is an accelerator: stopping it mid-run slows lookups down to L2/L3, nothing stops."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from collections.abc import Iterator

import pytest

from catalog.devstack.stack import Stack, free_port, redis_binary, wait_for_port
from catalog.kafka.topics import RAW
from schemas.models import RawListing
from tests.integration.harness import start_pipeline, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

TITLES = [
    ("Leche Entera Soprole 1 L", "Lácteos"),
    ("Bebida Coca-Cola Original 2 L", "Bebidas"),
    ("Celular Samsung Galaxy A35 5G 256GB Azul", "Celulares"),
    ("Perfume Carolina Herrera 212 VIP Men EDT 100 ml", "Perfumes"),
]


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


async def test_pipeline_keeps_flowing_when_redis_stops(
    stack: Stack, own_redis: tuple[int, subprocess.Popen[bytes]]
) -> None:
    port, redis_proc = own_redis
    pipeline = await start_pipeline(
        stack,
        {"CATALOG_REDIS__URL": f"redis://127.0.0.1:{port}/0", "CATALOG_REDIS__RETRY_AFTER_S": "1"},
        services=("router", "cache_lookup", "persister"),
    )
    run = uuid.uuid4().hex[:6]

    async def publish(batch: str) -> list[str]:
        listings = [
            RawListing(retailer=r, sku=f"{batch}-{run}-{i}", name=t, price=9990, category=c)
            for r in ("lider", "jumbo")
            for i, (t, c) in enumerate(TITLES)
        ]
        await pipeline.produce(RAW, [(x.listing_key, x) for x in listings])
        return [x.listing_key for x in listings]

    async def persisted(keys: list[str]) -> bool:
        conn = await pipeline.db()
        try:
            n = await conn.fetchval(
                "SELECT count(*) FROM listings WHERE listing_key = ANY($1)", keys
            )
            return int(n) == len(keys)
        finally:
            await conn.close()

    try:
        before = await publish("before")
        await wait_until(lambda: persisted(before), 90)
        status, report = pipeline.health("cache_lookup")
        assert status == 200 and report["dependencies"]["redis"] == "up"

        redis_proc.terminate()
        await asyncio.to_thread(redis_proc.wait, 10)
        after = await publish("after")
        await wait_until(lambda: persisted(after), 90)

        status, report = pipeline.health("cache_lookup")
        assert status == 200, report  # still ready: Redis is optional
        assert report["degraded"] is True and report["dependencies"]["redis"].startswith("down")
        assert 'catalog_dependency_up{dependency="redis"} 0.0' in pipeline.metrics("cache_lookup")
        conn = await pipeline.db()
        try:
            sources = {
                r["source"]
                for r in await conn.fetch(
                    "SELECT source FROM listings WHERE listing_key = ANY($1)", after
                )
            }
        finally:
            await conn.close()
        # Seen before, so answered by the durable levels without Redis.
        assert sources <= {"l2", "l3", "rules"} and sources & {"l2", "l3"}
    finally:
        pipeline.stop()
