"""L3: the durable record of every validated answer, by exact input fingerprint."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from catalog.cache.entry import CacheEntry


async def get_many(pool: asyncpg.Pool, fingerprints: Sequence[str]) -> dict[str, CacheEntry]:
    if not fingerprints:
        return {}
    rows = await pool.fetch(
        "SELECT fingerprint, ai_response FROM ai_metadata_cache WHERE fingerprint = ANY($1)",
        list(fingerprints),
    )
    return {r["fingerprint"]: CacheEntry.model_validate(r["ai_response"]) for r in rows}
