"""Cache warming and invalidation (the `catalog cache` commands).

Warming reloads L1 (Redis) and fills missing L2 vectors for the configured embedding model from
L3, the durable record in `ai_metadata_cache` — after a Redis flush, a Redis failover or a
switch of embedding model. Invalidation drops a namespace's answers (optionally one category's)
from every level, so the next listing of that kind is normalized afresh. Bumping the namespace
(`CATALOG_CACHE__NAMESPACE`) invalidates everything at once without deleting anything.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from catalog.cache.embeddings import EmbeddingProvider
from catalog.cache.entry import CacheEntry
from catalog.cache.l1 import L1Cache
from catalog.cache.l2 import SemanticCache
from catalog.domain.taxonomy import Taxonomy

CHUNK = 1000


@dataclass(frozen=True)
class WarmReport:
    entries: int
    l1_written: int
    vectors_added: int


async def warm(
    pool: asyncpg.Pool,
    l1: L1Cache,
    semantic: SemanticCache,
    embedder: EmbeddingProvider,
    taxonomy: Taxonomy,
    namespace: str,
    default_ttl_s: int,
    category: str | None = None,
) -> WarmReport:
    entries = written = added = 0
    last = ""
    while True:
        rows = await pool.fetch(
            """SELECT c.fingerprint, c.category, c.ai_response, c.product_raw->>'name' AS title,
                      e.id IS NULL AS missing_vector
               FROM ai_metadata_cache c
               LEFT JOIN ai_embeddings e
                 ON e.fingerprint = c.fingerprint AND e.embedding_model = $3
               WHERE c.namespace = $1 AND ($2::text IS NULL OR c.category = $2)
                 AND c.fingerprint > $4
               ORDER BY c.fingerprint LIMIT $5""",
            namespace, category, semantic.model, last, CHUNK,
        )  # fmt: skip
        if not rows:
            break
        last = rows[-1]["fingerprint"]
        entries += len(rows)
        items = []
        for row in rows:
            cat = taxonomy.get(row["category"])
            ttl = cat.l1_ttl_s if cat else default_ttl_s
            items.append((row["fingerprint"], CacheEntry.model_validate(row["ai_response"]), ttl))
        if l1.available:
            await l1.set_many(items)
            written += len(items) if l1.available else 0
        missing = [r for r in rows if r["missing_vector"] and r["title"]]
        if missing:
            vectors = await embedder.embed([r["title"] for r in missing])
            async with pool.acquire() as conn:
                await semantic.store(
                    conn,
                    [(r["fingerprint"], r["category"], v)
                     for r, v in zip(missing, vectors, strict=True)],
                )  # fmt: skip
            added += len(missing)
    return WarmReport(entries, written, added)


async def invalidate(
    pool: asyncpg.Pool, l1: L1Cache, namespace: str, category: str | None = None
) -> int:
    """Delete the namespace's (or one category's) answers from L1, L2 and L3; returns how many."""
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(
            """DELETE FROM ai_metadata_cache
               WHERE namespace = $1 AND ($2::text IS NULL OR category = $2)
               RETURNING fingerprint""",
            namespace,
            category,
        )
    fingerprints = [r["fingerprint"] for r in rows]
    if category is None:
        await l1.invalidate()
    else:
        for start in range(0, len(fingerprints), CHUNK):
            keys = [l1.key(fp) for fp in fingerprints[start : start + CHUNK]]
            if keys:
                await l1.client.delete(*keys)
    return len(fingerprints)
