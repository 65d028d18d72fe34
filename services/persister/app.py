"""Faust wiring of persister: consumes products.validated.v1 (and the review and dead-letter
topics for their audit tables)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import asyncpg

from cache_lookup.app import make_embedder
from catalog.cache.l1 import L1Cache, connect
from catalog.cache.l2 import SemanticCache
from catalog.db import pool as db
from catalog.domain.taxonomy import load_taxonomy
from catalog.kafka.topics import DLQ, REVIEW, VALIDATED, TopicSpec
from catalog.observability import configure
from catalog.service import Handler, HealthCheck, Incoming, Publisher, Result, ServiceApp
from catalog.settings import Settings, get_settings
from persister.logic import CatalogWriter
from schemas.models import DeadLetter, ReviewItem, ValidatedProduct


class PersisterProcessor:
    optional_dependencies = ("redis",)

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.pool: asyncpg.Pool | None = None
        self.writer: CatalogWriter | None = None
        self.l1: L1Cache | None = None

    async def start(self, publish: Publisher) -> None:
        s = self.settings
        self.pool = await db.create_pool(s.postgres)
        self.l1 = L1Cache(connect(s.redis), s.cache.namespace, s.redis.retry_after_s)
        embedder = make_embedder(s)
        semantic = SemanticCache(self.pool, embedder.model, embedder.dim)
        await semantic.ensure_index()
        self.writer = CatalogWriter(
            self.pool,
            load_taxonomy(),
            self.l1,
            semantic,
            embedder,
            s.cache.namespace,
            s.cache.l1_default_ttl_s,
        )

    async def stop(self) -> None:
        if self.pool is not None:
            await self.pool.close()
        if self.l1 is not None:
            await self.l1.client.aclose()

    @property
    def _writer(self) -> CatalogWriter:
        assert self.writer is not None, "handlers run only after start()"
        return self.writer

    async def validated(self, batch: Sequence[Incoming[ValidatedProduct]]) -> list[Result]:
        return await self._writer.handle_validated(batch)

    async def review(self, batch: Sequence[Incoming[ReviewItem]]) -> list[Result]:
        return await self._writer.handle_review(batch)

    async def dead_letters(self, batch: Sequence[Incoming[DeadLetter]]) -> list[Result]:
        return await self._writer.handle_dead_letters(batch)

    def handlers(self) -> dict[TopicSpec, Handler]:
        return {VALIDATED: self.validated, REVIEW: self.review, DLQ: self.dead_letters}

    def health_checks(self) -> dict[str, HealthCheck]:
        async def postgres() -> None:
            assert self.pool is not None
            await db.check(self.pool)

        async def redis() -> None:
            assert self.l1 is not None
            await self.l1.check()

        return {"postgres": postgres, "redis": redis}

    def timers(self) -> list[tuple[float, Callable[[], Awaitable[None]]]]:
        return []


def build(settings: Settings) -> ServiceApp:
    return ServiceApp("persister", settings, PersisterProcessor(settings))


def main() -> None:
    settings = get_settings()
    configure("persister", settings)
    build(settings).run()
