"""Durable bookkeeping of LLM work in Postgres: items, batches and daily spend.

Every state change happens here, in short transactions, *before* the step it guards has side
effects outside the database, so that after a crash each item is in exactly one known state:

    pending --claim_sync--> sync --finish_sync--> emitting --mark_emitted--> done
    pending --claim_batch--> batched --finish_batch--> emitting --mark_emitted--> done
                                     +--finish_batch (resubmit)--> pending

- `sync`: claimed by a synchronous call that has not finished; if its process dies the item goes
  back to `pending` (the call may be repeated: nothing durable came out of it).
- `emitting`: the result is stored in the row (with its tokens and cost, and the day's spend in the
  same transaction) but not yet acknowledged by the broker. A recovered `emitting` row is
  re-published from the stored result, never re-called and never re-billed.
- `done`: the broker acknowledged the result.

Rows carry their claimer's id (`_owner`) and, while `emitting`, the result (`_result`) as extra
keys of the `request` JSONB; readers strip them. Each process holds a session advisory lock on its
own id for its whole life, so "is the owner of this claim alive?" is `pg_try_advisory_lock(owner)`
failing: a process killed with SIGKILL loses its lock when Postgres drops its connection, and its
claims are recovered by the next flush or poll of a live one, while a live replica's in-flight
claims are left alone.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import asyncpg

from catalog.db.pool import close_pool
from schemas.models import LLMRequest, LLMResult, Usage

# The request JSONB without the bookkeeping keys.
REQUEST = "(request - '_owner' - '_result' - '_traceparent')"
# Advisory-lock ids of instances live in their own range, away from the migration lock.
_OWNER_MIN = 1 << 40


@dataclass(frozen=True)
class PendingStats:
    model: str
    count: int
    oldest_age_s: float


@dataclass(frozen=True)
class Stranded:
    """An item whose claimer is gone (or is this process, between two flushes)."""

    custom_id: str
    status: str
    request: LLMRequest
    result: LLMResult | None


def result_row(result: LLMResult) -> dict[str, Any]:
    """The stored form of a result: everything but the request, which the row already has."""
    data: dict[str, Any] = json.loads(result.model_dump_json(exclude={"request"}))
    return data


def result_from_row(request: LLMRequest, stored: dict[str, Any]) -> LLMResult:
    return LLMResult.model_validate({**stored, "request": request.model_dump(mode="json")})


@dataclass(frozen=True)
class OpenBatch:
    batch_id: str
    provider_batch_id: str | None
    model: str
    status: str
    item_count: int


class LLMStore:
    def __init__(self, pool: asyncpg.Pool, owner: int | None = None) -> None:
        self.pool = pool
        self.owner = owner if owner is not None else random.randrange(_OWNER_MIN, 1 << 62)
        self._lock_conn: Any = None

    async def register(self) -> None:
        """Hold this instance's liveness lock for as long as the process lives."""
        if self._lock_conn is None:
            self._lock_conn = await self.pool.acquire()
            await self._lock_conn.execute("SELECT pg_advisory_lock($1)", self.owner)

    async def unregister(self) -> None:
        if self._lock_conn is not None:
            conn, self._lock_conn = self._lock_conn, None
            try:
                await conn.execute("SELECT pg_advisory_unlock($1)", self.owner)
            finally:
                await self.pool.release(conn)

    async def _dead_owners(self, owners: set[int | None]) -> set[int | None]:
        """Which of these owners are no longer alive (this instance counts as recoverable)."""
        dead: set[int | None] = set()
        async with self.pool.acquire() as conn:
            for owner in owners:
                if owner is None or owner == self.owner:
                    dead.add(owner)
                    continue
                if await conn.fetchval("SELECT pg_try_advisory_lock($1)", owner):
                    await conn.execute("SELECT pg_advisory_unlock($1)", owner)
                    dead.add(owner)
        return dead

    async def add_requests(
        self, requests: Sequence[LLMRequest], traceparents: Sequence[str | None] | None = None
    ) -> int:
        """Record requests as pending; a redelivered custom_id is ignored. Returns rows added.

        `traceparents` (W3C, one per request) are kept beside each request so the work done
        later for it (batch submission, its result) continues the listing's trace."""
        if not requests:
            return 0
        stored = []
        for request, traceparent in zip(
            requests, traceparents or [None] * len(requests), strict=True
        ):
            row = json.loads(request.model_dump_json())
            if traceparent:
                row["_traceparent"] = traceparent
            stored.append(row)
        rows = await self.pool.fetch(
            """INSERT INTO llm_batch_items (custom_id, model, request)
               SELECT * FROM unnest($1::text[], $2::text[], $3::jsonb[])
               ON CONFLICT (custom_id) DO NOTHING
               RETURNING custom_id""",
            [r.custom_id for r in requests],
            [r.model for r in requests],
            stored,
        )
        return len(rows)

    async def traceparents(self, custom_ids: Sequence[str]) -> dict[str, str]:
        """The stored W3C traceparent of each of these requests that has one."""
        rows = await self.pool.fetch(
            """SELECT custom_id, request->>'_traceparent' AS traceparent FROM llm_batch_items
               WHERE custom_id = ANY($1::text[]) AND request ? '_traceparent'""",
            list(custom_ids),
        )
        return {r["custom_id"]: r["traceparent"] for r in rows}

    async def pending_stats(self) -> list[PendingStats]:
        rows = await self.pool.fetch(
            """SELECT model, count(*) AS n,
                      EXTRACT(EPOCH FROM now() - min(created_at)) AS age
               FROM llm_batch_items WHERE status = 'pending' GROUP BY model"""
        )
        return [PendingStats(r["model"], r["n"], float(r["age"])) for r in rows]

    async def claim_sync(self, model: str, limit: int) -> list[LLMRequest]:
        rows = await self.pool.fetch(
            f"""UPDATE llm_batch_items SET status = 'sync', submissions = submissions + 1,
                      request = request || jsonb_build_object('_owner', $3::bigint),
                      updated_at = now()
               WHERE custom_id IN (
                   SELECT custom_id FROM llm_batch_items
                   WHERE status = 'pending' AND model = $1
                   ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED)
               RETURNING {REQUEST} AS request""",
            model,
            limit,
            self.owner,
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
                f"""UPDATE llm_batch_items SET status = 'batched', batch_id = $1,
                          submissions = submissions + 1,
                          request = request || jsonb_build_object('_owner', $4::bigint),
                          updated_at = now()
                   WHERE custom_id IN (
                       SELECT custom_id FROM llm_batch_items
                       WHERE status = 'pending' AND model = $2
                       ORDER BY created_at LIMIT $3 FOR UPDATE SKIP LOCKED)
                   RETURNING {REQUEST} AS request, created_at""",
                batch_id,
                model,
                limit,
                self.owner,
            )
            rows = sorted(rows, key=lambda r: r["created_at"])
            await conn.execute(
                "UPDATE llm_batches SET item_count = $2 WHERE batch_id = $1", batch_id, len(rows)
            )
        return [LLMRequest.model_validate(r["request"]) for r in rows]

    async def release(self, custom_ids: Sequence[str]) -> None:
        """Give items back to the pending pool (a send that did not happen)."""
        await self.pool.execute(
            """UPDATE llm_batch_items SET status = 'pending', batch_id = NULL,
                      submissions = greatest(submissions - 1, 0), cost_usd = NULL,
                      request = request - '_owner' - '_result', updated_at = now()
               WHERE custom_id = ANY($1) AND status IN ('pending', 'sync', 'batched')""",
            list(custom_ids),
        )

    async def drop_empty_batch(self, batch_id: str) -> None:
        await self.pool.execute(
            """DELETE FROM llm_batches b WHERE batch_id = $1 AND NOT EXISTS
                   (SELECT 1 FROM llm_batch_items i WHERE i.batch_id = b.batch_id)""",
            batch_id,
        )

    async def set_estimates(self, estimates: Sequence[tuple[str, float]]) -> None:
        """Record each claimed item's estimated cost (until its real cost replaces it)."""
        if not estimates:
            return
        await self.pool.execute(
            """UPDATE llm_batch_items i SET cost_usd = e.cost
               FROM unnest($1::text[], $2::float8[]) AS e(custom_id, cost)
               WHERE i.custom_id = e.custom_id""",
            [cid for cid, _ in estimates],
            [cost for _, cost in estimates],
        )

    async def in_flight_estimate(self) -> float:
        """Estimated cost of items sent (or being sent) whose spend is not recorded yet."""
        value = await self.pool.fetchval(
            """SELECT coalesce(sum(cost_usd), 0) FROM llm_batch_items
               WHERE status IN ('sync', 'batched')"""
        )
        return float(value)

    async def batch_requests(self, batch_id: str) -> list[LLMRequest]:
        rows = await self.pool.fetch(
            f"SELECT {REQUEST} AS request FROM llm_batch_items WHERE batch_id = $1 "
            "ORDER BY created_at, custom_id",
            batch_id,
        )
        return [LLMRequest.model_validate(r["request"]) for r in rows]

    async def batch_owner_alive(self, batch_id: str) -> bool:
        """True when the process that built this batch is another, live instance."""
        owners = {
            r["owner"]
            for r in await self.pool.fetch(
                """SELECT DISTINCT (request->>'_owner')::bigint AS owner FROM llm_batch_items
                   WHERE batch_id = $1""",
                batch_id,
            )
        }
        return bool(owners) and not (await self._dead_owners(owners)) >= owners

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

    async def finish_sync(self, result: LLMResult) -> bool:
        """sync -> emitting with the stored result, and the day's spend, in one transaction.

        False when the item was no longer this process's claim (recovered meanwhile); then the
        result must not be published.
        """
        async with self.pool.acquire() as conn, conn.transaction():
            updated = await conn.fetchval(
                """UPDATE llm_batch_items SET status = 'emitting',
                          request = request || jsonb_build_object('_result', $2::jsonb),
                          prompt_tokens = $3, completion_tokens = $4, reasoning_tokens = $5,
                          cost_usd = $6, error = $7, updated_at = now()
                   WHERE custom_id = $1 AND status = 'sync'
                     AND (request->>'_owner')::bigint = $8
                   RETURNING custom_id""",
                result.custom_id,
                result_row(result),
                result.usage.prompt_tokens,
                result.usage.completion_tokens,
                result.usage.reasoning_tokens,
                result.cost_usd,
                result.error,
                self.owner,
            )
            if updated is None:
                return False
            await self._record_spend(
                conn,
                result.request.model,
                "sync",
                1 if result.ok else 0,
                result.usage,
                result.cost_usd,
            )
        return True

    async def finish_batch(
        self,
        batch_id: str,
        model: str,
        final: Sequence[LLMResult],
        resubmit: Sequence[str],
        *,
        status: str,
        output_file_id: str | None,
        error_file_id: str | None,
        error: str | None,
    ) -> list[LLMResult]:
        """Close a terminal batch in one transaction: final results -> emitting (stored),
        items to retry -> pending (their submission kept counted), spend, batch closed.

        Only items still `batched` in this batch move, so a second reconciliation of the same
        batch (a restart, or another replica) changes nothing. Returns the results to publish.
        """
        by_id = {r.custom_id: r for r in final}
        async with self.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                """UPDATE llm_batch_items i SET status = 'emitting',
                          request = i.request || jsonb_build_object(
                              '_result', r.result, '_owner', $3::bigint),
                          prompt_tokens = r.pt, completion_tokens = r.ct,
                          reasoning_tokens = r.rt, cost_usd = r.cost, error = r.err,
                          updated_at = now()
                   FROM unnest($2::text[], $4::jsonb[], $5::int[], $6::int[], $7::int[],
                               $8::float8[], $9::text[])
                        AS r(custom_id, result, pt, ct, rt, cost, err)
                   WHERE i.custom_id = r.custom_id AND i.batch_id = $1
                     AND i.status = 'batched'
                   RETURNING i.custom_id""",
                batch_id,
                list(by_id),
                self.owner,
                [result_row(r) for r in by_id.values()],
                [r.usage.prompt_tokens for r in by_id.values()],
                [r.usage.completion_tokens for r in by_id.values()],
                [r.usage.reasoning_tokens for r in by_id.values()],
                [r.cost_usd for r in by_id.values()],
                [r.error for r in by_id.values()],
            )
            moved = [by_id[r["custom_id"]] for r in rows]
            if resubmit:
                await conn.execute(
                    """UPDATE llm_batch_items SET status = 'pending', batch_id = NULL,
                              cost_usd = NULL, request = request - '_owner' - '_result',
                              updated_at = now()
                       WHERE custom_id = ANY($1) AND batch_id = $2 AND status = 'batched'""",
                    list(resubmit),
                    batch_id,
                )
            ok = [r for r in moved if r.ok]
            usage = Usage(
                prompt_tokens=sum(r.usage.prompt_tokens for r in ok),
                completion_tokens=sum(r.usage.completion_tokens for r in ok),
            )
            await self._record_spend(
                conn, model, "batch", len(ok), usage, sum(r.cost_usd for r in ok)
            )
            await conn.execute(
                """UPDATE llm_batches SET status = $2,
                          output_file_id = coalesce($3, output_file_id),
                          error_file_id = coalesce($4, error_file_id),
                          error = coalesce($5, error), updated_at = now(), closed_at = now()
                   WHERE batch_id = $1""",
                batch_id,
                status,
                output_file_id,
                error_file_id,
                error,
            )
        return moved

    async def mark_emitted(self, custom_ids: Sequence[str]) -> None:
        """emitting -> done once the broker has acknowledged the results."""
        if not custom_ids:
            return
        await self.pool.execute(
            """UPDATE llm_batch_items SET status = 'done',
                      request = request - '_owner' - '_result', updated_at = now()
               WHERE custom_id = ANY($1) AND status = 'emitting'""",
            list(custom_ids),
        )

    async def stranded(self, *, batched: bool) -> list[Stranded]:
        """`sync` / `emitting` items of dead owners (or of this instance, which calls this only
        when it has nothing in flight). `batched` selects the poller's items (with a batch id)
        or the builder's (without)."""
        rows = await self.pool.fetch(
            f"""SELECT custom_id, status, {REQUEST} AS request, request->'_result' AS result,
                       (request->>'_owner')::bigint AS owner
                FROM llm_batch_items
                WHERE status IN ('sync', 'emitting')
                  AND (batch_id IS NOT NULL) = $1
                ORDER BY updated_at, custom_id""",
            batched,
        )
        if not rows:
            return []
        dead = await self._dead_owners({r["owner"] for r in rows})
        out = []
        for r in rows:
            if r["owner"] not in dead:
                continue
            request = LLMRequest.model_validate(r["request"])
            stored = r["result"]
            result = result_from_row(request, stored) if stored is not None else None
            out.append(Stranded(r["custom_id"], r["status"], request, result))
        return out

    async def record_spend(
        self, model: str, mode: str, requests: int, usage: Usage, cost: float
    ) -> None:
        async with self.pool.acquire() as conn:
            await self._record_spend(conn, model, mode, requests, usage, cost)

    @staticmethod
    async def _record_spend(
        conn: Any, model: str, mode: str, requests: int, usage: Usage, cost: float
    ) -> None:
        await conn.execute(
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


def today() -> date:
    return datetime.now(UTC).date()


async def close_store_and_pool(store: LLMStore | None, pool: asyncpg.Pool | None) -> None:
    """A service's stop: release `store`'s liveness lock, then close `pool`, even when the
    release fails (its connection broken, as after a Postgres restart)."""
    try:
        if store is not None:
            await store.unregister()
    finally:
        if pool is not None:
            await close_pool(pool)
