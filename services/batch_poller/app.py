"""Faust wiring of batch-poller: consumes llm.batches.v1; a timer polls open batches."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import asyncpg

from batch_poller.logic import BatchPoller
from catalog.db import pool as db
from catalog.kafka.topics import LLM_BATCHES, TopicSpec
from catalog.llm.client import make_client
from catalog.llm.store import LLMStore, close_store_and_pool
from catalog.observability import configure
from catalog.service import Handler, HealthCheck, Incoming, Publisher, Result, ServiceApp
from catalog.settings import Settings, get_settings
from schemas.models import BatchSubmitted


class BatchPollerProcessor:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.pool: asyncpg.Pool | None = None
        self.store: LLMStore | None = None
        self.poller: BatchPoller | None = None

    async def start(self, publish: Publisher) -> None:
        self.pool = await db.create_pool(self.settings.postgres)
        self.store = LLMStore(self.pool)
        await self.store.register()
        # Retries are done by the resilience layer (observable), not inside the SDK.
        client = make_client(self.settings.llm, max_retries=0)
        self.poller = BatchPoller(self.settings, self.store, client, publish)
        await self.poller.recover()

    async def stop(self) -> None:
        await close_store_and_pool(self.store, self.pool)

    async def handle(self, batch: Sequence[Incoming[BatchSubmitted]]) -> list[Result]:
        assert self.poller is not None
        return await self.poller.handle(batch)

    async def poll(self) -> None:
        assert self.poller is not None
        await self.poller.poll()

    def handlers(self) -> dict[TopicSpec, Handler]:
        return {LLM_BATCHES: self.handle}

    def health_checks(self) -> dict[str, HealthCheck]:
        async def postgres() -> None:
            assert self.pool is not None
            await db.check(self.pool)

        return {"postgres": postgres}

    def timers(self) -> list[tuple[float, Callable[[], Awaitable[None]]]]:
        return [(self.settings.llm.poll_interval_s, self.poll)]


def build(settings: Settings) -> ServiceApp:
    return ServiceApp("batch_poller", settings, BatchPollerProcessor(settings))


def main() -> None:
    settings = get_settings()
    configure("batch_poller", settings)
    build(settings).run()
