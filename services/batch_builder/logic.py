"""Accumulate and send LLM requests.

Consumption only records requests (`pending`, idempotent on custom_id); a flush timer decides
per model: a backlog of at least `sync_threshold` goes out as provider batches of `batch_size`
requests once it reaches that size or its oldest item is `batch_max_age_s` old; a smaller
backlog that has settled is answered synchronously with bounded concurrency.

Before anything is sent, every request's cost is estimated from its pre-counted prompt tokens and
its completion limit; `spent today + estimated cost of items in flight + this send` must stay
within the daily budget, otherwise what does not fit stays pending, `budget_exhausted` is set
(health `llm_budget` down, gauge `catalog_llm_budget_exhausted` = 1) and an ERROR is logged;
nothing more is claimed until the budget's room grows past what it was at that refusal.

While a model's circuit breaker is open nothing is claimed for it: its items stay pending.

Exactly-once on the sync path: a finished call's result is stored in its row (`emitting`) before
it is published; a crash after that re-publishes the stored result instead of calling again. See
`catalog.llm.store` for the states and the guarantee.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import time
import uuid
from collections.abc import Sequence

from openai import AsyncOpenAI, OpenAIError
from openai.types import FileObject

from catalog import metrics
from catalog.kafka.topics import LLM_BATCHES
from catalog.llm.calls import batch_body, batch_line, call_sync, sync_body
from catalog.llm.resilience import CircuitOpenError, Resilience
from catalog.llm.store import LLMStore, Stranded
from catalog.llm.tokens import estimate_request
from catalog.llm.worker import LLMWorker
from catalog.service import Incoming, Outgoing, Publisher, Result
from catalog.settings import Settings
from schemas.models import BatchSubmitted, LLMRequest, LLMResult

log = logging.getLogger(__name__)

SYNC_SETTLE_S = 1.0
SPOOL_BYTES = 64 * 1024 * 1024


class BatchBuilder(LLMWorker):
    service = "batch_builder"

    def __init__(
        self,
        settings: Settings,
        store: LLMStore,
        client: AsyncOpenAI,
        publish: Publisher,
        resilience: Resilience | None = None,
    ) -> None:
        super().__init__(settings, store, client, publish, resilience)
        self.budget_exhausted = False
        self._budget_logged = 0.0
        self._refused_room: float | None = None
        """The budget's room when a send last did not fit in it: until the room grows past it
        (a batch settles for less than its estimate, a new day), nothing is claimed, since the
        same items would only be claimed and given back at every flush."""
        metrics.LLM_BUDGET.set(self.llm.daily_budget_usd)
        metrics.LLM_BUDGET_EXHAUSTED.set(0)

    async def handle(self, batch: Sequence[Incoming[LLMRequest]]) -> list[Result]:
        await self.store.add_requests(
            [item.value for item in batch], [item.headers.get("traceparent") for item in batch]
        )
        return [[] for _ in batch]

    # --- recovery --------------------------------------------------------------------------

    async def recover(self) -> None:
        """Take over what a dead builder (or an earlier failure of this one) left half-done."""
        async with self._lock:
            await self._recover_locked()

    async def _recover_locked(self) -> None:
        stranded = await self.store.stranded(batched=False)
        await self._settle_stranded(stranded)
        for batch in await self.store.open_batches():
            if batch.status == "building" and batch.provider_batch_id is None:
                if await self.store.batch_owner_alive(batch.batch_id):
                    continue
                await self._resubmit_building(batch.batch_id, batch.model)

    async def _settle_stranded(self, stranded: Sequence[Stranded]) -> None:
        unfinished = [s.custom_id for s in stranded if s.status == "sync"]
        if unfinished:
            # The call never stored a result: nothing was billed that we know of; ask again.
            log.warning("releasing %d items of an interrupted sync call", len(unfinished))
            await self.store.release(unfinished)
        results = [s.result for s in stranded if s.status == "emitting" and s.result]
        if results:
            log.warning("re-publishing %d stored sync results", len(results))
            await self._emit(results, recovered=True)

    # --- budget ----------------------------------------------------------------------------

    async def committed_usd(self) -> float:
        """Spent today plus the estimated cost of everything already sent but not settled."""
        spent = await self.store.spent_today()
        metrics.LLM_SPENT_TODAY.set(spent)
        return spent + await self.store.in_flight_estimate()

    def _set_exhausted(self, exhausted: bool, committed: float, wanted: float) -> None:
        now = time.monotonic()
        if exhausted and (not self.budget_exhausted or now - self._budget_logged >= 60.0):
            self._budget_logged = now
            log.error(
                "daily LLM budget of %.4f USD would be exceeded (committed %.6f + next send "
                "%.6f): sending paused, items stay pending",
                self.llm.daily_budget_usd,
                committed,
                wanted,
            )
        elif not exhausted and self.budget_exhausted:
            log.warning("daily LLM budget has room again: sending resumed")
        self.budget_exhausted = exhausted
        metrics.LLM_BUDGET_EXHAUSTED.set(1 if exhausted else 0)

    async def check_budget(self) -> float:
        """Refresh the budget state from the database; returns the USD still available."""
        committed = await self.committed_usd()
        room = self.llm.daily_budget_usd - committed
        if room <= 0:
            self._set_exhausted(True, committed, 0.0)
        return room

    # --- flush -----------------------------------------------------------------------------

    async def flush(self) -> None:
        async with self._lock:
            await self._recover_locked()
            room = await self.check_budget()
            if room <= 0:
                return
            if self._refused_room is not None and room <= self._refused_room:
                return
            self._refused_room = None
            held_back = False
            for stats in await self.store.pending_stats():
                if self.resilience.is_open(stats.model):
                    continue
                if stats.count >= self.llm.sync_threshold:
                    count = stats.count
                    while count >= self.llm.batch_size or (
                        count > 0 and stats.oldest_age_s >= self.llm.batch_max_age_s
                    ):
                        sent, fits = await self._submit_batch(stats.model)
                        held_back |= not fits
                        if not sent or not fits:
                            break
                        count -= sent
                elif stats.oldest_age_s >= SYNC_SETTLE_S:
                    held_back |= not await self.run_sync(stats.model)
            if not held_back and self.budget_exhausted:
                self._set_exhausted(False, 0.0, 0.0)

    # --- sync path -------------------------------------------------------------------------

    async def run_sync(self, model: str) -> bool:
        """Answer up to `sync_threshold` pending items of `model`; False if the budget held
        some back."""
        requests = await self.store.claim_sync(model, self.llm.sync_threshold)
        if not requests:
            return True
        committed = await self.committed_usd()
        room = self.llm.daily_budget_usd - committed
        send: list[LLMRequest] = []
        estimates: list[tuple[str, float]] = []
        total = 0.0
        cost = 0.0
        for request in requests:
            cost = estimate_request(self.llm, sync_body(self.llm, request), batch=False).cost_usd
            if total + cost > room:
                break
            total += cost
            send.append(request)
            estimates.append((request.custom_id, cost))
        held = [r.custom_id for r in requests[len(send) :]]
        if held:
            await self.store.release(held)
            self._set_exhausted(True, committed, total + cost)
            self._refused_room = room
        if not send:
            return False
        await self.store.set_estimates(estimates)
        gate = asyncio.Semaphore(self.llm.sync_concurrency)
        released: list[str] = []

        async def one(request: LLMRequest) -> LLMResult | None:
            async with gate:
                try:
                    async with self.traced("llm sync call", [request.custom_id], model=model):
                        result = await call_sync(self.client, self.llm, request, self.resilience)
                except CircuitOpenError:
                    released.append(request.custom_id)
                    return None
            # Durable before it is published: a crash from here on re-publishes, never re-calls.
            return result if await self.store.finish_sync(result) else None

        outcomes = await asyncio.gather(*(one(r) for r in send))
        if released:
            log.warning("%d %s items left pending: circuit open", len(released), model)
            await self.store.release(released)
        results = [r for r in outcomes if r is not None]
        await self._emit(results)
        log.info("sync call of %d requests to %s done", len(results), model)
        return not held

    # --- batch path ------------------------------------------------------------------------

    async def submit_batch(self, model: str) -> str | None:
        async with self._lock:
            batch_id = f"b-{uuid.uuid4().hex[:20]}"
            sent = await self._claim_and_send(batch_id, model)
            return batch_id if sent else None

    async def _submit_batch(self, model: str) -> tuple[int, bool]:
        batch_id = f"b-{uuid.uuid4().hex[:20]}"
        count = await self._claim_and_send(batch_id, model)
        return count, not self.budget_exhausted

    async def _claim_and_send(self, batch_id: str, model: str) -> int:
        limit = min(self.llm.batch_size, self.llm.batch_max_requests)
        requests = await self.store.claim_batch(batch_id, model, limit)
        if not requests:
            await self.store.drop_empty_batch(batch_id)
            return 0
        return await self._send_batch(batch_id, model, requests)

    async def _resubmit_building(self, batch_id: str, model: str) -> None:
        # The provider may already have the batch if we crashed after creating it.
        try:
            remote_batches = await self.resilience.call(
                model, "batches.list", lambda: self._find_remote(batch_id)
            )
        except (OpenAIError, TimeoutError, CircuitOpenError):
            log.warning("could not check the provider for batch %s; later", batch_id)
            return
        if remote_batches is not None:
            remote_id, input_file_id, status = remote_batches
            await self.store.batch_submitted(batch_id, remote_id, input_file_id, status)
            await self._announce(batch_id, remote_id, model, len(await self._ids(batch_id)))
            return
        requests = await self.store.batch_requests(batch_id)
        if requests:
            await self._send_batch(batch_id, model, requests)
        else:
            await self.store.drop_empty_batch(batch_id)

    async def _ids(self, batch_id: str) -> list[str]:
        return [r.custom_id for r in await self.store.batch_requests(batch_id)]

    async def _find_remote(self, batch_id: str) -> tuple[str, str, str] | None:
        async for remote in self.client.batches.list(limit=100):
            if (remote.metadata or {}).get("batch_id") == batch_id:
                return remote.id, remote.input_file_id, remote.status
        return None

    async def _send_batch(self, batch_id: str, model: str, requests: Sequence[LLMRequest]) -> int:
        custom_ids = [r.custom_id for r in requests]
        async with self.traced("llm batch submit", custom_ids, model=model, batch_id=batch_id):
            return await self._write_and_send(batch_id, model, requests)

    async def _write_and_send(
        self, batch_id: str, model: str, requests: Sequence[LLMRequest]
    ) -> int:
        """Write the JSONL file streaming, within the byte cap and the budget; upload; create.

        Returns the number of requests sent (0 when nothing was). Items that did not fit go back
        to pending; if the upload fails they all do; if `batches.create` fails (the provider may
        or may not have created it) the batch stays `building` and the next flush checks the
        provider by its metadata before sending again.
        """
        committed = await self.committed_usd()
        room = self.llm.daily_budget_usd - committed
        estimates: list[tuple[str, float]] = []
        total = 0.0
        size = 0
        over_budget = False
        next_cost = 0.0
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as out:
            for request in requests:
                body = batch_body(self.llm, request)
                line = batch_line(request.custom_id, body)
                if size + len(line) > self.llm.batch_max_bytes:
                    break
                next_cost = estimate_request(self.llm, body, batch=True).cost_usd
                if total + next_cost > room:
                    over_budget = True
                    break
                out.write(line)
                size += len(line)
                total += next_cost
                estimates.append((request.custom_id, next_cost))
            held = [r.custom_id for r in requests[len(estimates) :]]
            if held:
                await self.store.release(held)
            if over_budget:
                self._set_exhausted(True, committed, total + next_cost)
                self._refused_room = room
            if not estimates:
                await self.store.drop_empty_batch(batch_id)
                return 0
            sent_ids = [cid for cid, _ in estimates]
            await self.store.set_estimates(estimates)
            out.seek(0)
            try:
                uploaded = await self.resilience.call(
                    model,
                    "files.create",
                    lambda: self._upload(batch_id, out),
                )
            except (OpenAIError, TimeoutError, CircuitOpenError) as exc:
                log.error(
                    "batch %s upload failed (%s); its items go back to pending", batch_id, exc
                )
                await self.store.release(sent_ids)
                await self.store.drop_empty_batch(batch_id)
                return 0
        try:
            created = await self.resilience.call(
                model,
                "batches.create",
                lambda: self.client.batches.create(
                    input_file_id=uploaded.id,
                    endpoint="/v1/chat/completions",
                    completion_window="24h",
                    metadata={"batch_id": batch_id, "model": model, "items": str(len(sent_ids))},
                ),
            )
        except (OpenAIError, TimeoutError, CircuitOpenError) as exc:
            log.error("batch %s could not be created (%s); it stays 'building'", batch_id, exc)
            return 0
        await self.store.batch_submitted(batch_id, created.id, uploaded.id, created.status)
        metrics.LLM_ESTIMATED_COST.labels(model, "batch").inc(total)
        await self._announce(batch_id, created.id, model, len(sent_ids))
        log.info(
            "batch %s (%s) submitted: %d requests, %d bytes, estimated <= %.6f USD",
            batch_id,
            created.id,
            len(sent_ids),
            size,
            total,
        )
        return len(sent_ids)

    async def _upload(self, batch_id: str, out: tempfile.SpooledTemporaryFile[bytes]) -> FileObject:
        out.seek(0)
        return await self.client.files.create(file=(f"{batch_id}.jsonl", out), purpose="batch")

    async def _announce(self, batch_id: str, provider_id: str, model: str, count: int) -> None:
        await self.publish(
            [
                Outgoing(
                    LLM_BATCHES,
                    batch_id,
                    BatchSubmitted(
                        batch_id=batch_id,
                        provider_batch_id=provider_id,
                        model=model,
                        item_count=count,
                    ),
                )
            ]
        )
