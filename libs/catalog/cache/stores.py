"""The connections every cache user opens: Postgres pool, L1 Redis, embedder and L2 index.

cache-lookup and the persister (and the `catalog cache` and `normalize` commands) all need the
same four things built the same way from settings; this is that one place.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg

from catalog.cache.embeddings import EmbeddingProvider, HashingEmbedder, OpenAIEmbedder
from catalog.cache.l1 import L1Cache, connect
from catalog.cache.l2 import SemanticCache
from catalog.cache.multilevel import MultiLevelCache
from catalog.db import pool as db
from catalog.domain.taxonomy import Taxonomy, load_taxonomy
from catalog.llm.client import make_client
from catalog.settings import Settings


def make_embedder(settings: Settings) -> EmbeddingProvider:
    cache = settings.cache
    if cache.embedding_provider == "openai":
        return OpenAIEmbedder(make_client(settings.llm), cache.embedding_model, cache.embedding_dim)
    return HashingEmbedder(cache.embedding_dim, cache.embedding_model)


@dataclass
class CacheStores:
    settings: Settings
    pool: asyncpg.Pool
    l1: L1Cache
    embedder: EmbeddingProvider
    semantic: SemanticCache

    @classmethod
    async def open(cls, settings: Settings, **pool_overrides: Any) -> CacheStores:
        pool = await db.create_pool(settings.postgres, **pool_overrides)
        l1 = L1Cache(
            connect(settings.redis), settings.cache.namespace, settings.redis.retry_after_s
        )
        embedder = make_embedder(settings)
        semantic = SemanticCache(pool, embedder.model, embedder.dim)
        await semantic.ensure_index()
        return cls(settings, pool, l1, embedder, semantic)

    def multilevel(self, taxonomy: Taxonomy | None = None) -> MultiLevelCache:
        return MultiLevelCache(
            self.settings.cache, taxonomy or load_taxonomy(), self.l1, self.pool,
            self.semantic, self.embedder,
        )  # fmt: skip

    def health_checks(self) -> dict[str, Callable[[], Awaitable[None]]]:
        async def postgres() -> None:
            await db.check(self.pool)

        return {"postgres": postgres, "redis": self.l1.check}

    async def close(self) -> None:
        try:
            await self.l1.client.aclose()
        finally:
            await db.close_pool(self.pool)
