"""L2: pgvector semantic neighbours of the title embedding, restricted to one category.

Vectors of several embedding models may share `ai_embeddings`; each model gets its own HNSW
expression index over `embedding::vector(dim)`, and every query filters on the model, so the
index matches and vectors of different models are never compared.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import asyncpg
import numpy as np

from catalog.cache.entry import CacheEntry


@dataclass(frozen=True)
class Neighbour:
    fingerprint: str
    similarity: float
    entry: CacheEntry


class SemanticCache:
    def __init__(self, pool: asyncpg.Pool, model: str, dim: int) -> None:
        self.pool = pool
        self.model = model
        self.dim = dim
        slug = re.sub(r"[^a-z0-9]+", "_", model.lower()).strip("_")
        self.index_name = f"idx_embeddings_hnsw_{slug}_{dim}"[:63]

    async def ensure_index(self) -> None:
        # `IF NOT EXISTS` is not safe against a concurrent creator (cache-lookup and the
        # persister start together): serialise the creators on an advisory lock.
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", self.index_name)
            await conn.execute(
                f"CREATE INDEX IF NOT EXISTS {self.index_name} ON ai_embeddings "
                f"USING hnsw ((embedding::vector({self.dim})) vector_cosine_ops) "
                f"WITH (m = 16, ef_construction = 200) "
                f"WHERE embedding_model = '{self.model}'"
            )

    async def nearest(self, embedding: np.ndarray, category: str, top_k: int) -> list[Neighbour]:
        dim = self.dim
        async with self.pool.acquire() as conn, conn.transaction():
            # Filtered HNSW scans can come back short; iterative scans keep looking.
            await conn.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
            rows = await conn.fetch(
                f"""SELECT e.fingerprint, c.ai_response,
                           1 - (e.embedding::vector({dim}) <=> $1::vector({dim})) AS similarity
                    FROM ai_embeddings e JOIN ai_metadata_cache c USING (fingerprint)
                    WHERE e.embedding_model = $2 AND e.category = $3
                    ORDER BY e.embedding::vector({dim}) <=> $1::vector({dim})
                    LIMIT $4""",
                embedding,
                self.model,
                category,
                top_k,
            )
        return [
            Neighbour(
                r["fingerprint"],
                float(r["similarity"]),
                CacheEntry.model_validate(r["ai_response"]),
            )
            for r in rows
        ]

    async def store(
        self, conn: asyncpg.Connection, items: list[tuple[str, str | None, np.ndarray]]
    ) -> None:
        """Insert (fingerprint, category, embedding) rows inside the caller's transaction."""
        await conn.executemany(
            """INSERT INTO ai_embeddings (fingerprint, embedding_model, category, embedding)
               VALUES ($1, $2, $3, $4)
               ON CONFLICT (fingerprint, embedding_model) DO NOTHING""",
            [(fp, self.model, category, emb) for fp, category, emb in items],
        )
