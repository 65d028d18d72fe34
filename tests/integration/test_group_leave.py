"""The group's leader closes while another member is joining, on the real embedded broker: the
group recovers once the leader's session expires, and every message published afterwards is
consumed and committed.

On this broker (Tansu 0.6.0) a leader that sends LeaveGroup while a rebalance is starting can
leave the group stuck for good: the other members re-join at the same generation without an
assignment, and so does any new member. The leader here is a plain aiokafka consumer, so that it
closes at a chosen moment of the join, through `close_consumer` as the consume loop closes its
own, with the test environment's `leave_group_on_close` (off): it is expired at the session
timeout, as after a crash, and the rebalance completes.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Sequence
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from catalog.devstack.stack import Stack
from catalog.kafka.admin import create_topics
from catalog.kafka.loop import Incoming, Result, close_consumer
from catalog.kafka.topics import RAW
from catalog.settings import KafkaSettings, Settings
from schemas.models import RawListing
from tests.integration.harness import Pipeline, committed_total, wait_until
from tests.integration.test_delivery import consume_loop, run_loop, stop_loop

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

SESSION_S = 4.0
REBALANCE_S = 2.0
PARTITIONS = 4
# How long after the new member starts joining the leader closes: inside the window in which a
# LeaveGroup left the group stuck against a bare broker (0.05-0.3 s).
LEADER_CLOSES_AFTER_S = 0.15


class Collect:
    """A handler that records the keys it was given and sends nothing."""

    def __init__(self) -> None:
        self.keys: list[str] = []

    async def __call__(self, batch: Sequence[Incoming[Any]]) -> list[Result]:
        self.keys.extend(m.value.listing_key for m in batch)
        return [[] for _ in batch]


def group_settings(kafka: KafkaSettings) -> Settings:
    # The watchdog is kept out of the way (a replaced member would add its own session to the
    # wait): the group must recover by itself. On this broker a recovery takes the session
    # timeout, then a join held for half of it, then a join round.
    return Settings(
        environment="test",
        kafka=kafka.model_copy(
            update={
                "partitions": PARTITIONS, "session_timeout_s": SESSION_S,
                "rebalance_timeout_s": REBALANCE_S, "rebalance_stall_s": 30.0,
                "retry_base_s": 0.05, "retry_max_s": 0.5, "batch_max": 10,
            }
        ),
    )  # fmt: skip


async def test_a_leader_closing_while_a_member_joins_leaves_the_group_consuming(
    stack: Stack,
) -> None:
    topics = Pipeline(stack, f"t{uuid.uuid4().hex[:8]}.", "")
    settings = group_settings(topics.kafka)
    leave_group = settings.kafka.tuning(settings.environment).leave_group_on_close
    assert leave_group is False
    await create_topics(settings.kafka, (RAW,))
    raw = topics.topic(RAW)
    handlers = [Collect(), Collect()]
    member, joining = (consume_loop(settings, handler) for handler in handlers)
    leader = AIOKafkaConsumer(
        bootstrap_servers=stack.kafka_bootstrap,
        group_id=member.group_id,
        enable_auto_commit=False,
        session_timeout_ms=int(SESSION_S * 1000),
        heartbeat_interval_ms=int(SESSION_S * 1000) // 5,
        rebalance_timeout_ms=int(REBALANCE_S * 1000),
    )
    leader.subscribe([raw])
    listings = [
        RawListing(retailer="lider", sku=f"leave-{i}", name=f"Producto {i}", price=1000 + i)
        for i in range(40)
    ]
    try:
        # The first member to join leads the group; a loop joins and takes half the partitions.
        await leader.start()
        await run_loop(member)

        async def shared() -> bool:
            held = member.consumer.assignment() if member.consumer else set()
            return bool(held) and len(held) + len(leader.assignment()) == PARTITIONS

        await wait_until(shared, 30)
        # aiokafka keeps the group's subscriptions on the member the broker made leader only.
        assert leader._coordinator._group_subscription is not None
        # A third member starts joining; the leader closes while the rebalance starts.
        await run_loop(joining)
        await asyncio.sleep(LEADER_CLOSES_AFTER_S)
        await close_consumer(leader, leave_group)
        await topics.produce(RAW, [(x.listing_key, x) for x in listings])

        async def all_committed() -> bool:
            total = await committed_total(stack, member.group_id, raw, PARTITIONS)
            return total == len(listings)

        # Measured here: about 8.5 s from the leader's close (3 of 3 runs); a group stuck by a
        # LeaveGroup stays stuck (5 of 5 runs, 18 s each).
        await wait_until(all_committed, SESSION_S + 2 * REBALANCE_S + 10)
    finally:
        with contextlib.suppress(Exception):
            await leader.stop()
        await stop_loop(member)
        await stop_loop(joining)
    consumed = {key for handler in handlers for key in handler.keys}
    assert consumed == {x.listing_key for x in listings}


async def test_a_consumer_without_the_leave_step_is_closed_normally_with_a_warning(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    # A consumer outside any group has a coordinator without the step `close_consumer` replaces,
    # as a future aiokafka might: it is stopped all the same, and the log says it could not be
    # kept from leaving.
    topics = Pipeline(stack, f"t{uuid.uuid4().hex[:8]}.", "")
    await create_topics(topics.kafka, (RAW,))
    consumer = AIOKafkaConsumer(bootstrap_servers=stack.kafka_bootstrap)
    await consumer.start()
    consumer.assign([TopicPartition(topics.topic(RAW), 0)])
    await consumer.getmany(timeout_ms=100)
    with caplog.at_level("WARNING", logger="catalog.kafka.loop"):
        await close_consumer(consumer, leave_group=False)
    assert any("without leaving its group" in r.getMessage() for r in caplog.records)
    assert consumer._closed
