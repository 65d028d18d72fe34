"""How the embedded broker answers a fetch: at once when data is there, and how long a message
produced during a waiting fetch takes to reach an idle consumer, for several `fetch_max_wait_ms`.

The consume loops' fetch wait (`KAFKA_TUNING`, `CATALOG_KAFKA__FETCH_MAX_WAIT_MS`) sets what a
hop of the pipeline adds to a listing's latency at low and moderate rates; this measures it on a
private broker with plain aiokafka, nothing else running on it.

1. backlog: 20,000 messages already in a one-partition topic, read from the start with each
   wait: the time to read them all (a fetch with data ready is not held);
2. idle: a consumer waiting at the end of the topic, one message produced every ~137 ms (not in
   step with any wait), `--probes` times: produce -> received, p50 and max.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "libs"), str(ROOT / "services"), str(ROOT)]

from catalog.devstack.stack import private_broker  # noqa: E402

TOPIC = "bench.fetch.v1"
WAITS_MS = (500, 100, 50, 20, 10, 5)


async def backlog(bootstrap: str, wait_ms: int, count: int) -> float:
    consumer = AIOKafkaConsumer(
        TOPIC,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        fetch_max_wait_ms=wait_ms,
    )
    await consumer.start()
    try:
        started = time.monotonic()
        read = 0
        while read < count:
            got = await consumer.getmany(timeout_ms=2000, max_records=500)
            read += sum(len(records) for records in got.values())
        return time.monotonic() - started
    finally:
        await consumer.stop()


async def idle(bootstrap: str, wait_ms: int, probes: int) -> list[float]:
    consumer = AIOKafkaConsumer(
        TOPIC,
        bootstrap_servers=bootstrap,
        auto_offset_reset="latest",
        enable_auto_commit=False,
        fetch_max_wait_ms=wait_ms,
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0)
    await consumer.start()
    await producer.start()
    try:
        await consumer.getmany(timeout_ms=1000)
        latencies: list[float] = []
        for _ in range(probes):
            await asyncio.sleep(0.137)
            sent = time.monotonic()
            await producer.send_and_wait(TOPIC, b"probe")
            while not await consumer.getmany(timeout_ms=3000):
                pass
            latencies.append((time.monotonic() - sent) * 1000)
        return latencies
    finally:
        await producer.stop()
        await consumer.stop()


async def run(bootstrap: str, count: int, probes: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(TOPIC, 1, 1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for _ in range(count):
            await producer.send(TOPIC, b"x" * 300)
        await producer.flush()
    finally:
        await producer.stop()
    print(f"{'fetch wait ms':>13} {'backlog s':>10} {'idle p50 ms':>12} {'idle max ms':>12}")
    for wait_ms in WAITS_MS:
        seconds = await backlog(bootstrap, wait_ms, count)
        latencies = await idle(bootstrap, wait_ms, probes)
        print(
            f"{wait_ms:>13} {seconds:>10.2f} {statistics.median(latencies):>12.1f} "
            f"{max(latencies):>12.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--probes", type=int, default=15)
    args = parser.parse_args()
    with private_broker() as bootstrap:
        asyncio.run(run(bootstrap, args.count, args.probes))


if __name__ == "__main__":
    main()
