"""A consumer group whose rebalance does not complete, on the real embedded broker: the consume
loop shows it is joining, replaces its consumer after `kafka.rebalance_stall_limit_s`, loses
nothing and processes nothing twice; an empty assignment (more members than partitions) is a
completed rebalance and replaces nothing.

The stuck rebalance is made by a real client: another member of the loop's group, the group's
leader, whose `on_partitions_revoked` listener never returns, so it never re-joins. The embedded
broker (Tansu) then holds the group's rebalance for as long as that member heartbeats (a Kafka
broker would evict it after its rebalance timeout); once the member is killed and its session
expires, the rebalance completes. Both places the loop can wait are covered: its consumer's
first join (inside aiokafka's `start()`), and a rebalance while it consumes (inside `getmany`).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import uuid
from typing import Any

import pytest
from aiokafka.structs import TopicPartition

from catalog import metrics
from catalog.devstack.stack import Stack
from catalog.kafka.admin import create_topics
from catalog.kafka.topics import DLQ, RAW
from catalog.settings import KafkaSettings, Settings
from schemas.models import RawListing
from tests.integration.harness import Pipeline, committed_total, wait_until
from tests.integration.test_delivery import ECHO, Echo, consume_loop, run_loop, stop_loop

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

SESSION_S = 4.0
REBALANCE_S = 2.0

# A member of the group that takes its partitions, gives them up `let_through` times, then never
# returns from its revocation callback: the rebalance waits for it to re-join, which it never
# does. It keeps heartbeating (aiokafka heartbeats during the callback) until it is killed.
BLOCKING_MEMBER = """
import asyncio, sys
from aiokafka import AIOKafkaConsumer
from aiokafka.abc import ConsumerRebalanceListener

bootstrap, group, topic, session_ms, rebalance_ms, let_through = sys.argv[1:7]

class HoldsTheJoin(ConsumerRebalanceListener):
    revocations = 0

    async def on_partitions_revoked(self, revoked):
        if revoked:
            self.revocations += 1
            print("revoked", flush=True)
            if self.revocations > int(let_through):
                await asyncio.Event().wait()

    async def on_partitions_assigned(self, assigned):
        print("assigned", len(assigned), flush=True)

async def main():
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False,
        session_timeout_ms=int(session_ms), heartbeat_interval_ms=int(session_ms) // 5,
        rebalance_timeout_ms=int(rebalance_ms),
    )
    consumer.subscribe([topic], listener=HoldsTheJoin())
    await consumer.start()
    while True:
        await consumer.getmany(timeout_ms=500)  # fetched, never committed

asyncio.run(main())
"""


def loop_settings(kafka: KafkaSettings) -> Settings:
    # The stall limit is derived, not set: 4 + 2 x 2 = 8 s.
    return Settings(
        kafka=kafka.model_copy(
            update={
                "session_timeout_s": SESSION_S, "rebalance_timeout_s": REBALANCE_S,
                "retry_base_s": 0.05, "retry_max_s": 0.5, "batch_max": 10,
            }
        )
    )  # fmt: skip


def reopens() -> float:
    """The loops' replaced consumers, as Prometheus sees them."""
    sample = metrics.REGISTRY.get_sample_value(
        "catalog_consumer_reopens_total", {"service": "echo"}
    )
    return sample or 0.0


async def start_member(
    stack: Stack, group: str, topic: str, let_through: int, assigned: bool = True
) -> asyncio.subprocess.Process:
    """A member running `BLOCKING_MEMBER` (once it holds its first assignment, if `assigned`)."""
    member = await asyncio.create_subprocess_exec(
        sys.executable, "-c", BLOCKING_MEMBER, stack.kafka_bootstrap, group, topic,
        str(int(SESSION_S * 1000)), str(int(REBALANCE_S * 1000)), str(let_through),
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert member.stdout is not None
    if assigned:
        line = await asyncio.wait_for(member.stdout.readline(), 60)
        assert line.startswith(b"assigned"), line
    return member


async def test_a_rebalance_that_does_not_complete_reopens_the_consumer_and_loses_nothing(
    stack: Stack,
) -> None:
    topics = Pipeline(stack, f"t{uuid.uuid4().hex[:8]}.", "")
    await create_topics(topics.kafka, (RAW, ECHO, DLQ))
    listings = [
        RawListing(retailer="lider", sku=f"stall-{i}", name=f"Producto {i}", price=1000 + i)
        for i in range(40)
    ]
    await topics.produce(RAW, [(x.listing_key, x) for x in listings])
    settings = loop_settings(topics.kafka)
    loop = consume_loop(settings, Echo())
    raw = topics.topic(RAW)
    partitions = topics.kafka.partitions or 1
    # The member joins first (so it is the group's leader) and holds the first revocation.
    member = await start_member(stack, loop.group_id, raw, let_through=0)
    assert member.stdout is not None
    before = reopens()
    try:
        await run_loop(loop)
        # The loop's consumer joins; the member is asked to re-join and never does.
        revoked = await asyncio.wait_for(member.stdout.readline(), 30)
        assert revoked.startswith(b"revoked"), revoked
        states: list[dict[str, Any]] = []

        async def reopened() -> bool:
            states.append(loop.status.report())
            return loop.rebalance.reopened >= 1

        limit = settings.kafka.rebalance_stall_limit_s
        assert limit == SESSION_S + 2 * REBALANCE_S
        await wait_until(reopened, limit + 20, 0.5)
        # While it waited, health said so (not "consuming"), with how long it had waited.
        joining = [s for s in states if s["state"] == "joining"]
        assert joining and max(float(s["for_s"]) for s in joining) > limit / 2
        assert all(s["state"] != "consuming" for s in states)
        assert reopens() - before >= 1
        # The replacement member is stuck behind the same member: nothing consumed yet.
        assert await committed_total(stack, loop.group_id, raw, partitions) == 0
        assert await topics.read(ECHO) == []

        # The member holding the join dies (no LeaveGroup); once its session expires the
        # rebalance completes and the loop consumes and commits everything, once.
        member.kill()
        await member.wait()

        async def all_committed() -> bool:
            return await committed_total(stack, loop.group_id, raw, partitions) == len(listings)

        await wait_until(all_committed, 60)
        assert loop.status.report() == {"state": "consuming"}
    finally:
        with contextlib.suppress(ProcessLookupError):
            member.kill()
        await member.wait()
        await stop_loop(loop)
    echoed = [k for k, _ in await topics.read(ECHO)]
    assert sorted(echoed) == sorted(x.listing_key for x in listings)  # each exactly once
    assert await topics.read(DLQ) == []


async def test_a_rebalance_stuck_while_consuming_reopens_the_consumer_and_loses_nothing(
    stack: Stack,
) -> None:
    # The loop consumes its share of the partitions; then the group's leader is asked to give
    # its own up and never does: the loop's fetch, waiting for the rebalance, must not wait
    # forever.
    topics = Pipeline(stack, f"t{uuid.uuid4().hex[:8]}.", "")
    await create_topics(topics.kafka, (RAW, ECHO, DLQ))
    listings = [
        RawListing(retailer="lider", sku=f"consuming-{i}", name=f"Producto {i}", price=1000 + i)
        for i in range(40)
    ]
    settings = loop_settings(topics.kafka)
    loop = consume_loop(settings, Echo())
    raw = topics.topic(RAW)
    partitions = topics.kafka.partitions or 1
    members: list[asyncio.subprocess.Process] = []
    before = reopens()
    await topics.produce(RAW, [(x.listing_key, x) for x in listings])
    try:
        # The leader gives its partitions up once (when the loop joins), holds the next time.
        members.append(await start_member(stack, loop.group_id, raw, let_through=1))
        await run_loop(loop)

        async def consumed() -> int:
            return await committed_total(stack, loop.group_id, raw, partitions)

        async def own_partitions() -> set[TopicPartition]:
            return set(loop.consumer.assignment()) if loop.consumer is not None else set()

        # The loop commits its share (the leader's partition is never committed).
        owned = await wait_until(own_partitions, 30)
        assert loop.consumer is not None
        share = sum((await loop.consumer.end_offsets(list(owned))).values())
        assert 0 < share < len(listings)

        async def share_committed() -> bool:
            return await consumed() == share

        await wait_until(share_committed, 60)
        # One more member: the leader's partition is revoked, and it never re-joins (so the
        # new member is never assigned anything either).
        members.append(await start_member(stack, loop.group_id, raw, let_through=1, assigned=False))
        states: list[dict[str, Any]] = []

        async def reopened() -> bool:
            states.append(loop.status.report())
            return loop.rebalance.reopened >= 1

        await wait_until(reopened, settings.kafka.rebalance_stall_limit_s + 20, 0.5)
        assert any(s["state"] == "joining" for s in states)
        assert reopens() - before >= 1
        assert await consumed() == share

        # Both members die without leaving; the loop takes every partition and consumes on.
        for member in members:
            member.kill()
            await member.wait()

        async def all_committed() -> bool:
            return await consumed() == len(listings)

        await wait_until(all_committed, 60)
    finally:
        for member in members:
            with contextlib.suppress(ProcessLookupError):
                member.kill()
            await member.wait()
        await stop_loop(loop)
    echoed = [k for k, _ in await topics.read(ECHO)]
    assert sorted(echoed) == sorted(x.listing_key for x in listings)  # each exactly once
    assert await topics.read(DLQ) == []


async def test_an_empty_assignment_is_a_completed_rebalance_and_reopens_nothing(
    stack: Stack,
) -> None:
    # Two loops in one group on one partition: one of them is legitimately assigned nothing.
    topics = Pipeline(stack, f"t{uuid.uuid4().hex[:8]}.", "")
    kafka = topics.kafka.model_copy(update={"partitions": 1})
    await create_topics(kafka, (RAW, ECHO))
    settings = loop_settings(kafka)
    first, second = consume_loop(settings, Echo()), consume_loop(settings, Echo())
    before = reopens()
    await run_loop(first)
    try:
        await wait_until(lambda: _async(bool(first.consumer and first.consumer.assignment())), 30)
        await run_loop(second)

        async def settled() -> bool:
            owners = [
                loop
                for loop in (first, second)
                if loop.consumer is not None and loop.consumer.assignment()
            ]
            # The second loop's consumer is set once its first rebalance has completed.
            return second.consumer is not None and len(owners) == 1

        await wait_until(settled, 30)
        # Well past the stall limit with an empty assignment: nothing is replaced.
        await asyncio.sleep(settings.kafka.rebalance_stall_limit_s + 4)
        assert first.rebalance.reopened == second.rebalance.reopened == 0
        assert reopens() == before
        assert first.status.report() == second.status.report() == {"state": "consuming"}
        idle = first if not first.consumer.assignment() else second  # type: ignore[union-attr]
        assert idle.consumer is not None and idle.consumer.assignment() == set()

        # And the group consumes: the one owner processes and commits everything.
        listings = [
            RawListing(retailer="jumbo", sku=f"one-{i}", name=f"Producto {i}", price=500 + i)
            for i in range(10)
        ]
        await topics.produce(RAW, [(x.listing_key, x) for x in listings])

        async def all_committed() -> bool:
            raw = RAW.full_name(kafka)
            return await committed_total(stack, first.group_id, raw, 1) == len(listings)

        await wait_until(all_committed, 60)
        assert first.rebalance.reopened == second.rebalance.reopened == 0
    finally:
        await stop_loop(first)
        await stop_loop(second)


async def _async(value: bool) -> bool:
    return value
