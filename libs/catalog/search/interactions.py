"""The interactions table: shoppers' events consumed from catalog.interactions.v1."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from schemas.models import Interaction


async def record(conn: asyncpg.Connection, events: Sequence[Interaction]) -> int:
    """Insert the events once each (the event id is unique: a redelivery inserts nothing);
    returns how many were new."""
    if not events:
        return 0
    rows = await conn.fetch(
        """INSERT INTO interactions (event_id, user_id, product_id, kind, occurred_at)
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[],
                                $5::timestamptz[])
           ON CONFLICT (event_id) DO NOTHING RETURNING id""",
        [e.event_id for e in events],
        [e.user_id for e in events],
        [e.product_id for e in events],
        [e.kind for e in events],
        [e.occurred_at for e in events],
    )
    return len(rows)


@dataclass(frozen=True)
class StoredInteraction:
    user_id: str
    product_id: str
    kind: str
    occurred_at: datetime


async def load(
    pool: asyncpg.Pool, since: datetime | None = None, limit: int = 2_000_000
) -> list[StoredInteraction]:
    """Interactions in time order, with merged masters' ids replaced by the master that
    absorbed them (so co-occurrence follows merges)."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            """SELECT i.user_id, coalesce(p.merged_into, i.product_id) AS product_id, i.kind,
                      i.occurred_at
               FROM interactions i
               LEFT JOIN productos_maestros p ON p.fingerprint = i.product_id
               WHERE $1::timestamptz IS NULL OR i.occurred_at >= $1
               ORDER BY i.occurred_at, i.id LIMIT $2""",
            since,
            limit,
        )
    return [
        StoredInteraction(r["user_id"], r["product_id"], r["kind"], r["occurred_at"]) for r in rows
    ]


async def user_history(pool: asyncpg.Pool, user_id: str, limit: int = 50) -> list[str]:
    """The products a user interacted with, most recent first, each once."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            """SELECT coalesce(p.merged_into, i.product_id) AS product_id,
                      max(i.occurred_at) AS last_at
               FROM interactions i LEFT JOIN productos_maestros p ON p.fingerprint = i.product_id
               WHERE i.user_id = $1 GROUP BY 1 ORDER BY last_at DESC LIMIT $2""",
            user_id,
            limit,
        )
    return [r["product_id"] for r in rows]
