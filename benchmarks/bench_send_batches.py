"""How long one consume loop's send waits for its acknowledgement, by producer batch size.

Every service sends a handled batch's outputs with `Sender.send_all` and waits for the broker's
acknowledgement before it fetches again, so that wait is part of every hop's latency. aiokafka
keeps one request in flight per broker and one batch per partition in each request: the outputs
of one loop batch that fill more than one producer batch of a partition go out in that many
round trips, one after another. This sends loop-sized batches (`--records` records of
`--bytes` bytes, random keys over a 4-partition topic, as on the embedded stack) to a private
embedded broker with each `max_batch_bytes`, interleaved round by round, and prints the median
and p95 of the send's wall time per size.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "libs"), str(ROOT / "services"), str(ROOT)]

from catalog.devstack.stack import private_broker  # noqa: E402
from catalog.kafka.failures import FaultInjector  # noqa: E402
from catalog.kafka.loop import Send, Sender  # noqa: E402
from catalog.settings import FaultSettings, KafkaSettings, Settings  # noqa: E402

TOPIC = "bench.send.v1"
PARTITIONS = 4


def loop_batch(records: int, size: int) -> list[Send]:
    return [
        Send(
            topic=TOPIC,
            key=os.urandom(8).hex().encode(),
            value=os.urandom(size // 2).hex().encode(),
            headers=[],
            source=i,
        )
        for i in range(records)
    ]


async def run(bootstrap: str, sizes: list[int], rounds: int, records: int, size: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(TOPIC, PARTITIONS, 1)])
    finally:
        await admin.close()
    senders: dict[int, Sender] = {}
    for batch_bytes in sizes:
        kafka = KafkaSettings(bootstrap=bootstrap, max_batch_bytes=batch_bytes)
        sender = Sender(
            Settings(kafka=kafka), FaultInjector(FaultSettings(), "bench"), f"bench-{batch_bytes}"
        )
        await sender.start()
        senders[batch_bytes] = sender
    timings: dict[int, list[float]] = {batch_bytes: [] for batch_bytes in sizes}
    try:
        for _ in range(rounds):
            for batch_bytes, sender in senders.items():
                batch = loop_batch(records, size)
                started = time.perf_counter()
                await sender.send_all(batch)
                timings[batch_bytes].append((time.perf_counter() - started) * 1000)
                await asyncio.sleep(0.02)
    finally:
        for sender in senders.values():
            await sender.stop()
    print(f"{records} records of {size} bytes a send, {rounds} sends per size")
    print(f"{'max_batch_bytes':>15} {'p50 ms':>8} {'p95 ms':>8}")
    for batch_bytes, samples in timings.items():
        samples = samples[len(samples) // 10 :]  # the first sends also fetch metadata
        p95 = statistics.quantiles(samples, n=20)[-1]
        print(f"{batch_bytes:>15} {statistics.median(samples):>8.2f} {p95:>8.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[16_384, 65_536, 262_144])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--records", type=int, default=60)
    parser.add_argument("--bytes", type=int, default=1500)
    args = parser.parse_args()
    with private_broker() as bootstrap:
        asyncio.run(run(bootstrap, args.sizes, args.rounds, args.records, args.bytes))


if __name__ == "__main__":
    main()
