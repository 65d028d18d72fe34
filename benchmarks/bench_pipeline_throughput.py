"""Cache-hit path throughput: raw listings -> catalog topics, on the embedded stack.

Starts a throwaway embedded stack (broker, Postgres, Redis, emulator) with the router,
cache-lookup and persister, warms the cache with the demo feed, then publishes `--count`
listings whose titles are all cached (new skus at other stores, so every one is a new offer) as
fast as one producer can, and measures the time until the last one is persisted: listings/s
sustained through three Kafka hops and one Postgres transaction per consumed batch. The design
bar is >= 2,000 listings/s on 2 cores. Run: `python benchmarks/bench_pipeline_throughput.py`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
from aiokafka import AIOKafkaProducer

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "libs"), str(ROOT / "services"), str(ROOT)]

from catalog.db.migrate import migrate  # noqa: E402
from catalog.devstack.stack import Stack  # noqa: E402
from catalog.kafka.admin import create_topics  # noqa: E402
from catalog.kafka.codec import encode  # noqa: E402
from catalog.kafka.topics import RAW  # noqa: E402
from catalog.settings import KafkaSettings  # noqa: E402
from schemas.models import RawListing  # noqa: E402

SERVICES = ("router", "cache_lookup", "persister")
TARGET = 2000.0


def feed() -> list[RawListing]:
    path = ROOT / "data/sample/listings.jsonl"
    return [RawListing.model_validate_json(line) for line in path.read_text().splitlines()]


async def publish(bootstrap: str, listings: list[RawListing]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, acks=1)
    await producer.start()
    try:
        futures = [
            await producer.send(RAW.name, key=x.listing_key.encode(), value=encode(x))
            for x in listings
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def persisted(dsn: str, prefix: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(
            await conn.fetchval("SELECT count(*) FROM listings WHERE sku LIKE $1", f"{prefix}%")
        )
    finally:
        await conn.close()


async def wait_for(dsn: str, prefix: str, count: int, timeout_s: float) -> float:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await persisted(dsn, prefix) >= count:
            return time.monotonic()
        await asyncio.sleep(0.2)
    raise TimeoutError(f"{prefix}: not all {count} listings persisted in {timeout_s}s")


async def run(stack: Stack, count: int, rounds: int) -> list[float]:
    await migrate(stack.postgres_dsn)
    await create_topics(KafkaSettings(bootstrap=stack.kafka_bootstrap, partitions=4))
    for name in SERVICES:
        stack.start_service(name)
    base = feed()
    # Warm-up: the demo feed itself, so that its titles sit in every cache level.
    await publish(stack.kafka_bootstrap, base)
    await wait_for(stack.postgres_dsn, "", len({x.listing_key for x in base}) - 30, 300)
    await asyncio.sleep(2)
    conn = await asyncpg.connect(stack.postgres_dsn)
    try:
        stored = {r["listing_key"] for r in await conn.fetch("SELECT listing_key FROM listings")}
    finally:
        await conn.close()
    # Only titles the warm-up persisted: the few that need a person stay out of a speed test.
    base = [x for x in base if x.listing_key in stored]
    rates = []
    for _ in range(rounds):
        prefix = f"T{uuid.uuid4().hex[:6]}-"
        listings = [
            base[i % len(base)].model_copy(update={"sku": f"{prefix}{i}"}) for i in range(count)
        ]
        started = time.monotonic()
        await publish(stack.kafka_bootstrap, listings)
        finished = await wait_for(stack.postgres_dsn, prefix, count, 600)
        rates.append(count / (finished - started))
        print(f"  round: {count} listings in {finished - started:.2f} s = {rates[-1]:,.0f}/s")
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as root:
        stack = Stack(Path(root))
        try:
            stack.start_infra()
            rates = asyncio.run(run(stack, args.count, args.rounds))
        finally:
            stack.stop_all()
    median = statistics.median(rates)
    print(
        f"cache-hit path, raw -> persisted + catalog topics: median {median:,.0f} listings/s "
        f"(target >= {TARGET:,.0f}/s, ratio {median / TARGET:.2f})"
    )


if __name__ == "__main__":
    main()
