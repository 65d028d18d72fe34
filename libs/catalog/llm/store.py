"""Durable bookkeeping of LLM work in Postgres: items, batches and daily spend.

Every state change happens here, in short transactions, *before* the step it guards has side
effects outside the database, so that after a crash each item is in exactly one known state:
`pending` (waiting to be sent), `sync` (claimed by a synchronous call), `batched` (inside a
provider batch) or `done` (its result was published).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

import asyncpg

from schemas.models import LLMRequest, Usage


@dataclass(frozen=True)
class PendingStats:
    model: str
    count: int
    oldest_age_s: float


@dataclass(frozen=True)
class OpenBatch:
    batch_id: str
    provider_batch_id: str | None
    model: str
    status: str
    item_count: int


class LLMStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def add_requests(self, requests: Sequence[LLMRequest]) -> int:
        """Record requests as pending; a redelivered custom_id is ignored. Returns rows added."""
        if not requests:
            return 0
        rows = await self.pool.fetch(
            """INSERT INTO llm_batch_items (custom_id, model, request)
               SELECT * FROM unnest($1::text[], $2::text[], $3::jsonb[])
               ON CONFLICT (custom_id) DO NOTHING
               RETURNING custom_id""",
            [r.custom_id for r in requests],
            [r.model for r in requests],
            [json.loads(r.model_dump_json()) for r in requests],
        )
        return len(rows)

    async def pending_stats(self) -> list[PendingStats]:
        rows = await self.pool.fetch(
            """SELECT model, count(*) AS n,
                      EXTRACT(EPOCH FROM now() - min(created_at)) AS age
               FROM llm_batch_items WHERE status = 'pending' GROUP BY model"""
        )
        return [PendingStats(r["model"], r["n"], float(r["age"])) for r in rows]

    async def claim_sync(self, model: str, limit: int) -> list[LLMRequest]:
        rows = await self.pool.fetch(
            """UPDATE llm_batch_items SET status = 'sync', submissions = submissions + 1,
                      updated_at = now()
               WHERE custom_id IN (
                   SELECT custom_id FROM llm_batch_items
                   WHERE status = 'pending' AND model = $1
                   ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED)
               RETURNING request""",
            model,
            limit,
        )
        return [LLMRequest.model_validate(r["request"]) for r in rows]

    async def claim_batch(self, batch_id: str, model: str, limit: int) -> list[LLMRequest]:
        """Create the batch row and move up to `limit` pending items into it, atomically."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                """INSERT INTO llm_batches (batch_id, model, status, item_count)
                   VALUES ($1, $2, 'building', 0)""",
                batch_id,
                model,
            )
            rows = await conn.fetch(
                """UPDATE llm_batch_items SET status = 'batched', batch_id = $1,
                          submissions = submissions + 1, updated_at = now()
                   WHERE custom_id IN (
                       SELECT custom_id FROM llm_batch_items
                       WHERE status = 'pending' AND model = $2
                       ORDER BY created_at LIMIT $3 FOR UPDATE SKIP LOCKED)
                   RETURNING request""",
                batch_id,
                model,
                limit,
            )
            await conn.execute(
                "UPDATE llm_batches SET item_count = $2 WHERE batch_id = $1", batch_id, len(rows)
            )
        return [LLMRequest.model_validate(r["request"]) for r in rows]

    async def release(self, custom_ids: Sequence[str]) -> None:
        """Give items back to the pending pool (a send that did not happen)."""
        await self.pool.execute(
            """UPDATE llm_batch_items SET status = 'pending', batch_id = NULL,
                      submissions = greatest(submissions - 1, 0), updated_at = now()
               WHERE custom_id = ANY($1) AND status <> 'done'""",
            list(custom_ids),
        )

    async def batch_requests(self, batch_id: str) -> list[LLMRequest]:
        rows = await self.pool.fetch(
            "SELECT request FROM llm_batch_items WHERE batch_id = $1 ORDER BY custom_id", batch_id
        )
        return [LLMRequest.model_validate(r["request"]) for r in rows]

    async def batch_submitted(
        self, batch_id: str, provider_batch_id: str, input_file_id: str, status: str
    ) -> None:
        await self.pool.execute(
            """UPDATE llm_batches SET provider_batch_id = $2, input_file_id = $3, status = $4,
                      updated_at = now() WHERE batch_id = $1""",
            batch_id,
            provider_batch_id,
            input_file_id,
            status,
        )

    async def open_batches(self) -> list[OpenBatch]:
        rows = await self.pool.fetch(
            """SELECT batch_id, provider_batch_id, model, status, item_count FROM llm_batches
               WHERE closed_at IS NULL ORDER BY created_at"""
        )
        return [OpenBatch(**dict(r)) for r in rows]

    async def set_batch_status(
        self,
        batch_id: str,
        status: str,
        *,
        output_file_id: str | None = None,
        error_file_id: str | None = None,
        error: str | None = None,
        close: bool = False,
    ) -> None:
        await self.pool.execute(
            """UPDATE llm_batches SET status = $2,
                      output_file_id = coalesce($3, output_file_id),
                      error_file_id = coalesce($4, error_file_id),
                      error = coalesce($5, error), updated_at = now(),
                      closed_at = CASE WHEN $6 THEN now() ELSE closed_at END
               WHERE batch_id = $1""",
            batch_id,
            status,
            output_file_id,
            error_file_id,
            error,
            close,
        )

    async def items_in_state(self, custom_ids: Sequence[str], status: str) -> set[str]:
        rows = await self.pool.fetch(
            "SELECT custom_id FROM llm_batch_items WHERE custom_id = ANY($1) AND status = $2",
            list(custom_ids),
            status,
        )
        return {r["custom_id"] for r in rows}

    async def submissions(self, custom_ids: Sequence[str]) -> dict[str, int]:
        rows = await self.pool.fetch(
            "SELECT custom_id, submissions FROM llm_batch_items WHERE custom_id = ANY($1)",
            list(custom_ids),
        )
        return {r["custom_id"]: r["submissions"] for r in rows}

    async def mark_done(self, results: Sequence[tuple[str, Usage, float, str | None]]) -> None:
        """Record (custom_id, usage, cost, error) of items whose result was published."""
        if not results:
            return
        await self.pool.executemany(
            """UPDATE llm_batch_items SET status = 'done', prompt_tokens = $2,
                      completion_tokens = $3, reasoning_tokens = $4, cost_usd = $5,
                      error = $6, updated_at = now()
               WHERE custom_id = $1""",
            [
                (cid, u.prompt_tokens, u.completion_tokens, u.reasoning_tokens, cost, err)
                for cid, u, cost, err in results
            ],
        )

    async def record_spend(
        self, model: str, mode: str, requests: int, usage: Usage, cost: float
    ) -> None:
        await self.pool.execute(
            """INSERT INTO llm_spend (day, model, mode, requests, prompt_tokens,
                   completion_tokens, cost_usd)
               VALUES ($1, $2, $3, $4, $5, $6, $7)
               ON CONFLICT (day, model, mode) DO UPDATE SET
                   requests = llm_spend.requests + EXCLUDED.requests,
                   prompt_tokens = llm_spend.prompt_tokens + EXCLUDED.prompt_tokens,
                   completion_tokens = llm_spend.completion_tokens + EXCLUDED.completion_tokens,
                   cost_usd = llm_spend.cost_usd + EXCLUDED.cost_usd""",
            today(),
            model,
            mode,
            requests,
            usage.prompt_tokens,
            usage.completion_tokens,
            cost,
        )

    async def spent_today(self) -> float:
        value = await self.pool.fetchval(
            "SELECT coalesce(sum(cost_usd), 0) FROM llm_spend WHERE day = $1", today()
        )
        return float(value)

    async def stale_sync_items(self, older_than_s: float) -> list[str]:
        rows = await self.pool.fetch(
            """SELECT custom_id FROM llm_batch_items
               WHERE status = 'sync' AND updated_at < now() - make_interval(secs => $1)""",
            older_than_s,
        )
        return [r["custom_id"] for r in rows]


def today() -> date:
    return datetime.now(UTC).date()
