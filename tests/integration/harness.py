"""Test harness around the embedded stack: databases, pipelines, topic readers and writers.

Every pipeline gets its own topic prefix, consumer groups, database, cache namespace and web
ports, so tests never see each other's messages or rows.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition
from pydantic import BaseModel

from catalog.db.migrate import migrate
from catalog.devstack.stack import PORTS, SERVICES, Stack
from catalog.kafka.admin import create_topics
from catalog.kafka.codec import decode, encode
from catalog.kafka.topics import TopicSpec
from catalog.settings import KafkaSettings

M = TypeVar("M", bound=BaseModel)

PORT_ATTEMPTS = 3


class PortTaken(AssertionError):
    def __init__(self, service: str) -> None:
        super().__init__(f"{service}: web port taken by another process")
        self.service = service


async def wait_until(
    check: Callable[[], Awaitable[Any]], timeout_s: float = 60.0, interval_s: float = 0.25
) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met after {timeout_s}s (last value {value!r})")
        await asyncio.sleep(interval_s)


async def committed_total(stack: Stack, group_id: str, topic: str, partitions: int) -> int:
    """The sum of `group_id`'s committed offsets over `topic`'s first `partitions` partitions."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=stack.kafka_bootstrap, group_id=group_id, enable_auto_commit=False
    )
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        return sum([(await consumer.committed(tp)) or 0 for tp in tps])
    finally:
        await consumer.stop()


async def create_database(stack: Stack, name: str) -> str:
    admin = await asyncpg.connect(stack.postgres_dsn.rsplit("/", 1)[0] + "/postgres")
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    dsn = stack.postgres_dsn.rsplit("/", 1)[0] + f"/{name}"
    await migrate(dsn)
    return dsn


@dataclass
class Pipeline:
    stack: Stack
    prefix: str
    dsn: str
    extra_env: dict[str, str] = field(default_factory=dict)
    running: dict[str, Any] = field(default_factory=dict)
    # Each service's own web port, held by the process-wide allocator (never a shared base +
    # offset: two pipelines starting together must not be able to pick overlapping ports).
    web_ports: dict[str, int] = field(default_factory=dict)
    _log_offsets: dict[str, int] = field(default_factory=dict)

    @property
    def kafka(self) -> KafkaSettings:
        return KafkaSettings(bootstrap=self.stack.kafka_bootstrap, prefix=self.prefix, partitions=2)

    def env(self) -> dict[str, str]:
        return {
            "CATALOG_KAFKA__PARTITIONS": "2",
            "CATALOG_POSTGRES__DSN": self.dsn,
            "CATALOG_POSTGRES__POOL_MAX": "4",
            "CATALOG_CACHE__NAMESPACE": f"ns-{self.prefix}",
            "CATALOG_OBSERVABILITY__LOG_LEVEL": "INFO",
            # Where `catalog status` finds this pipeline's services (no shared base + offset).
            "CATALOG_OBSERVABILITY__SERVICE_URLS": json.dumps(
                {name: f"http://127.0.0.1:{self.web_port(name)}" for name in SERVICES}
            ),
            **self.extra_env,
        }

    def topic(self, spec: TopicSpec) -> str:
        return spec.full_name(self.kafka)

    def log_path(self, service: str) -> Path:
        return self.stack.root / "logs" / f"{self.prefix}{service}.log"

    def web_port(self, service: str) -> int:
        if service not in self.web_ports:
            self.web_ports[service] = PORTS.reserve()
        return self.web_ports[service]

    def start(self, services: Iterable[str] = SERVICES) -> None:
        for name in services:
            log = self.log_path(name)
            self._log_offsets[name] = log.stat().st_size if log.exists() else 0
            env = {**self.env(), "CATALOG_OBSERVABILITY__WEB_PORT": str(self.web_port(name))}
            self.running[name] = self.stack.start_service(name, self.prefix, env)

    def lost_port(self, service: str) -> bool:
        """Did the service's last start exit because its web port was taken meanwhile?"""
        proc = self.running.get(service)
        if proc is None or proc.poll() is None:
            return False
        log = self.log_path(service)
        if not log.exists():
            return False
        with log.open("rb") as f:
            f.seek(self._log_offsets.get(service, 0))
            return b"address already in use" in f.read().lower()

    def move_port(self, service: str) -> None:
        """Give the service a new web port (the old one stays held: someone else uses it)."""
        self.web_ports[service] = PORTS.reserve()

    def stop(self, services: Iterable[str] | None = None) -> None:
        for name in list(services or self.running):
            self.stack.stop_process(f"{self.prefix}{name}")
            self.running.pop(name, None)

    def ready(self, service: str) -> bool:
        port = self.web_port(service)
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/ready", timeout=1) as r:
                return bool(r.status == 200)
        except OSError:
            return False

    def health(self, service: str) -> tuple[int, dict[str, Any]]:
        port = self.web_port(service)
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/ready", timeout=3) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    def metrics(self, service: str) -> str:
        port = self.web_port(service)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=3) as r:
            return str(r.read().decode())

    async def wait_ready(
        self, services: Iterable[str] | None = None, timeout_s: float = 90
    ) -> None:
        names = list(services or self.running)

        async def all_ready() -> bool:
            for name in names:
                proc = self.running.get(name)
                if proc is not None and proc.poll() is not None:
                    if self.lost_port(name):
                        raise PortTaken(name)
                    log = self.log_path(name).read_text()
                    raise AssertionError(f"{name} exited early:\n{log[-3000:]}")
            return all(self.ready(n) for n in names)

        await wait_until(all_ready, timeout_s, 0.5)

    async def produce(
        self, spec: TopicSpec, items: Iterable[tuple[str, BaseModel | bytes]]
    ) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=self.stack.kafka_bootstrap)
        await producer.start()
        try:
            for key, value in items:
                data = value if isinstance(value, bytes) else encode(value)
                await producer.send_and_wait(self.topic(spec), key=key.encode(), value=data)
        finally:
            await producer.stop()

    async def read(self, spec: TopicSpec) -> list[tuple[str | None, bytes]]:
        """Everything currently on a topic, from the beginning."""
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.stack.kafka_bootstrap,
            enable_auto_commit=False,
            fetch_max_wait_ms=20,
        )
        await consumer.start()
        try:
            name = self.topic(spec)
            partitions = [TopicPartition(name, p) for p in range(self.kafka.partitions or 1)]
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            ends = await consumer.end_offsets(partitions)
            out: list[tuple[str | None, bytes]] = []

            async def behind() -> bool:
                return any([await consumer.position(tp) < ends[tp] for tp in partitions])

            # The embedded broker may report an end offset short of the last record of a
            # multi-record batch, so keep reading until a poll comes back empty as well.
            while True:
                batch = await consumer.getmany(timeout_ms=300)
                for records in batch.values():
                    out.extend((r.key.decode() if r.key else None, r.value) for r in records)
                if not batch and not await behind():
                    return out
        finally:
            await consumer.stop()

    async def read_models(self, spec: TopicSpec) -> list[Any]:
        return [decode(spec.model, value) for _, value in await self.read(spec)]

    async def db(self) -> asyncpg.Connection:
        from catalog.db.pool import _init_connection

        conn = await asyncpg.connect(self.dsn)
        await _init_connection(conn)
        return conn


# A tiny sync threshold and batch age push every LLM request through the Batch API path fast.
BATCH_PATH_ENV = {
    "CATALOG_LLM__SYNC_THRESHOLD": "1",
    "CATALOG_LLM__BATCH_MAX_AGE_S": "0.5",
    "CATALOG_LLM__POLL_INTERVAL_S": "0.3",
}


async def start_pipeline(
    stack: Stack,
    extra_env: dict[str, str] | None = None,
    services: Iterable[str] = SERVICES,
    web_ports: dict[str, int] | None = None,
) -> Pipeline:
    """A new pipeline, ready. `web_ports` pins some services' ports (tests of the retry)."""
    prefix = f"t{uuid.uuid4().hex[:8]}."
    dsn = await create_database(stack, prefix.rstrip(".").replace(".", "_"))
    pipeline = Pipeline(stack, prefix, dsn, dict(extra_env or {}), web_ports=dict(web_ports or {}))
    await create_topics(pipeline.kafka)
    pipeline.start(services)
    try:
        for attempt in range(PORT_ATTEMPTS):
            try:
                await pipeline.wait_ready()
                break
            except PortTaken as taken:
                # A process outside the allocator bound the port between our probe and the
                # service's bind: move that service to another port and start it again.
                if attempt == PORT_ATTEMPTS - 1:
                    raise
                pipeline.move_port(taken.service)
                pipeline.start([taken.service])
    except BaseException:
        # The fixture never yields, so nobody else would stop what was started.
        pipeline.stop()
        raise
    return pipeline
