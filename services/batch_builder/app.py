"""Faust wiring of batch-builder: consumes llm.requests.v1; a timer flushes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import asyncpg

from batch_builder.logic import BatchBuilder
from catalog.db import pool as db
from catalog.kafka.topics import LLM_REQUESTS, TopicSpec
from catalog.llm.client import make_client
from catalog.llm.store import LLMStore, close_store_and_pool
from catalog.observability import configure
from catalog.service import Handler, HealthCheck, Incoming, Publisher, Result, ServiceApp
from catalog.settings import Settings, get_settings
from schemas.models import LLMRequest

FLUSH_CHECK_S = 0.5


class BatchBuilderProcessor:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.pool: asyncpg.Pool | None = None
        self.store: LLMStore | None = None
        self.builder: BatchBuilder | None = None

    async def start(self, publish: Publisher) -> None:
        self.pool = await db.create_pool(self.settings.postgres)
        self.store = LLMStore(self.pool)
        await self.store.register()
        # Retries are done by the resilience layer (observable), not inside the SDK.
        client = make_client(self.settings.llm, max_retries=0)
        self.builder = BatchBuilder(self.settings, self.store, client, publish)
        await self.builder.recover()

    async def stop(self) -> None:
        await close_store_and_pool(self.store, self.pool)

    async def handle(self, batch: Sequence[Incoming[LLMRequest]]) -> list[Result]:
        assert self.builder is not None
        return await self.builder.handle(batch)

    async def flush(self) -> None:
        assert self.builder is not None
        await self.builder.flush()

    def handlers(self) -> dict[TopicSpec, Handler]:
        return {LLM_REQUESTS: self.handle}

    def health_checks(self) -> dict[str, HealthCheck]:
        async def postgres() -> None:
            assert self.pool is not None
            await db.check(self.pool)

        async def budget() -> None:
            if self.builder is not None and self.builder.budget_exhausted:
                raise RuntimeError("daily LLM budget exhausted; sending is paused")

        return {"postgres": postgres, "llm_budget": budget}

    def timers(self) -> list[tuple[float, Callable[[], Awaitable[None]]]]:
        return [(FLUSH_CHECK_S, self.flush)]


def build(settings: Settings) -> ServiceApp:
    return ServiceApp("batch_builder", settings, BatchBuilderProcessor(settings))


def main() -> None:
    settings = get_settings()
    configure("batch_builder", settings)
    build(settings).run()
