"""Faust wiring of cache-lookup: consumes products.routed.v1."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import asyncpg

from cache_lookup.logic import decide, lookup_key
from catalog.cache.embeddings import EmbeddingProvider, HashingEmbedder, OpenAIEmbedder
from catalog.cache.l1 import L1Cache, connect
from catalog.cache.l2 import SemanticCache
from catalog.cache.multilevel import MultiLevelCache
from catalog.db import pool as db
from catalog.domain.taxonomy import load_taxonomy
from catalog.kafka.topics import ROUTED, TopicSpec
from catalog.llm.client import make_client
from catalog.observability import configure
from catalog.service import Handler, HealthCheck, Incoming, Publisher, Result, ServiceApp
from catalog.settings import Settings, get_settings
from schemas.models import RoutedListing


def make_embedder(settings: Settings) -> EmbeddingProvider:
    cache = settings.cache
    if cache.embedding_provider == "openai":
        return OpenAIEmbedder(make_client(settings.llm), cache.embedding_model, cache.embedding_dim)
    return HashingEmbedder(cache.embedding_dim, cache.embedding_model)


class CacheLookupProcessor:
    # Without Redis lookups fall through to L2/L3: degraded, still ready.
    optional_dependencies = ("redis",)

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.pool: asyncpg.Pool | None = None
        self.l1: L1Cache | None = None
        self.cache: MultiLevelCache | None = None

    async def start(self, publish: Publisher) -> None:
        s = self.settings
        self.pool = await db.create_pool(s.postgres)
        self.l1 = L1Cache(connect(s.redis), s.cache.namespace, s.redis.retry_after_s)
        embedder = make_embedder(s)
        semantic = SemanticCache(self.pool, embedder.model, embedder.dim)
        await semantic.ensure_index()
        self.cache = MultiLevelCache(
            s.cache, load_taxonomy(), self.l1, self.pool, semantic, embedder
        )

    async def stop(self) -> None:
        if self.pool is not None:
            await self.pool.close()
        if self.l1 is not None:
            await self.l1.client.aclose()

    async def handle(self, batch: Sequence[Incoming[RoutedListing]]) -> list[Result]:
        assert self.cache is not None
        hits = await self.cache.lookup([lookup_key(item.value) for item in batch])
        return [
            decide(item.value, hit, self.settings) for item, hit in zip(batch, hits, strict=True)
        ]

    def handlers(self) -> dict[TopicSpec, Handler]:
        return {ROUTED: self.handle}

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
    return ServiceApp("cache_lookup", settings, CacheLookupProcessor(settings))


def main() -> None:
    settings = get_settings()
    configure("cache_lookup", settings)
    build(settings).run()
