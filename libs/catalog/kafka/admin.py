"""Topic creation with explicit partition counts (never rely on broker auto-creation)."""

from __future__ import annotations

import asyncio
import logging

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, TopicAlreadyExistsError

from catalog.kafka.topics import ALL_TOPICS, TopicSpec
from catalog.settings import KafkaSettings

log = logging.getLogger(__name__)


async def wait_for_broker(kafka: KafkaSettings, timeout_s: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap, request_timeout_ms=3000)
        try:
            await admin.start()
            await admin.list_topics()
            return
        except KafkaConnectionError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.5)
        finally:
            await admin.close()


async def create_topics(
    kafka: KafkaSettings, specs: tuple[TopicSpec, ...] = ALL_TOPICS
) -> list[str]:
    """Create the missing topics; returns the names created. Safe to run repeatedly."""
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap, request_timeout_ms=10000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(
                name=spec.full_name(kafka),
                num_partitions=spec.partition_count(kafka),
                replication_factor=kafka.replication_factor,
                topic_configs={"cleanup.policy": "compact"} if spec.compacted else {},
            )
            for spec in specs
            if spec.full_name(kafka) not in existing
        ]
        if not wanted:
            return []
        try:
            await admin.create_topics(wanted)
        except TopicAlreadyExistsError:
            log.info("topics created concurrently by another process")
        return [topic.name for topic in wanted]
    finally:
        await admin.close()
