"""Accumulate and send LLM requests.

Consumption only records requests (`pending`, idempotent on custom_id); a flush timer decides
per model: a backlog of at least `sync_threshold` goes out as one provider batch once it reaches
`batch_size` or its oldest item is `batch_max_age_s` old; a smaller backlog that has settled is
answered synchronously with bounded concurrency. The daily budget is checked before any send.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import uuid
from collections.abc import Sequence

from catalog import metrics
from catalog.kafka.topics import LLM_BATCHES, LLM_RESULTS
from catalog.llm.calls import call_sync, write_batch_line
from catalog.llm.store import LLMStore
from catalog.service import Incoming, Outgoing, Publisher, Result
from catalog.settings import Settings
from openai import AsyncOpenAI, OpenAIError

from schemas.models import BatchSubmitted, LLMRequest, LLMResult, Usage

log = logging.getLogger(__name__)

SYNC_SETTLE_S = 1.0


class BudgetExhausted(RuntimeError):
    pass


class BatchBuilder:
    def __init__(
        self, settings: Settings, store: LLMStore, client: AsyncOpenAI, publish: Publisher
    ) -> None:
        self.settings = settings
        self.llm = settings.llm
        self.store = store
        self.client = client
        self.publish = publish
        self.budget_exhausted = False
        self._lock = asyncio.Lock()
        metrics.LLM_BUDGET.set(self.llm.daily_budget_usd)

    async def handle(self, batch: Sequence[Incoming[LLMRequest]]) -> list[Result]:
        await self.store.add_requests([item.value for item in batch])
        return [[] for _ in batch]

    async def recover(self) -> None:
        """After a restart: synchronous claims that never finished go back to pending."""
        stale = await self.store.stale_sync_items(0)
        if stale:
            log.warning("releasing %d items claimed by an interrupted sync call", len(stale))
            await self.store.release(stale)
        for batch in await self.store.open_batches():
            if batch.status == "building" and batch.provider_batch_id is None:
                await self._resubmit_building(batch.batch_id, batch.model)

    async def check_budget(self) -> float:
        spent = await self.store.spent_today()
        metrics.LLM_SPENT_TODAY.set(spent)
        self.budget_exhausted = spent >= self.llm.daily_budget_usd
        if self.budget_exhausted:
            log.error(
                "daily LLM budget of %.2f USD reached (spent %.4f): sending paused",
                self.llm.daily_budget_usd,
                spent,
            )
        return spent

    async def flush(self) -> None:
        async with self._lock:
            await self.check_budget()
            if self.budget_exhausted:
                return
            for stats in await self.store.pending_stats():
                if stats.count >= self.llm.sync_threshold:
                    if (
                        stats.count >= self.llm.batch_size
                        or stats.oldest_age_s >= self.llm.batch_max_age_s
                    ):
                        await self.submit_batch(stats.model)
                elif stats.oldest_age_s >= SYNC_SETTLE_S:
                    await self.run_sync(stats.model)

    async def run_sync(self, model: str) -> None:
        requests = await self.store.claim_sync(model, self.llm.sync_threshold)
        if not requests:
            return
        gate = asyncio.Semaphore(self.llm.sync_concurrency)

        async def one(request: LLMRequest) -> LLMResult:
            async with gate:
                return await call_sync(self.client, self.llm, request)

        results = await asyncio.gather(*(one(r) for r in requests))
        await self.publish([Outgoing(LLM_RESULTS, r.custom_id, r) for r in results])
        await self.store.mark_done([(r.custom_id, r.usage, r.cost_usd, r.error) for r in results])
        usage = Usage(
            prompt_tokens=sum(r.usage.prompt_tokens for r in results),
            completion_tokens=sum(r.usage.completion_tokens for r in results),
        )
        await self.store.record_spend(
            model, "sync", len(results), usage, sum(r.cost_usd for r in results)
        )
        log.info("sync call of %d requests to %s done", len(results), model)

    async def submit_batch(self, model: str) -> str | None:
        batch_id = f"b-{uuid.uuid4().hex[:20]}"
        requests = await self.store.claim_batch(batch_id, model, self.llm.batch_max_requests)
        if not requests:
            return None
        await self._send_batch(batch_id, model, requests)
        return batch_id

    async def _resubmit_building(self, batch_id: str, model: str) -> None:
        # The provider may already have the batch if we crashed after creating it.
        async for remote in self.client.batches.list(limit=100):
            if (remote.metadata or {}).get("batch_id") == batch_id:
                await self.store.batch_submitted(
                    batch_id, remote.id, remote.input_file_id, remote.status
                )
                return
        requests = await self.store.batch_requests(batch_id)
        if requests:
            await self._send_batch(batch_id, model, requests)

    async def _send_batch(self, batch_id: str, model: str, requests: Sequence[LLMRequest]) -> None:
        with tempfile.SpooledTemporaryFile(max_size=64 * 1024 * 1024) as out:
            size = 0
            for request in requests:
                size += write_batch_line(out, self.llm, request)
            if size > self.llm.batch_max_bytes:
                # Claims are capped by count; a file over the byte cap is split by halving.
                await self.store.release([r.custom_id for r in requests[len(requests) // 2 :]])
                requests = requests[: len(requests) // 2]
                await self._send_batch(batch_id, model, requests)
                return
            out.seek(0)
            try:
                uploaded = await self.client.files.create(
                    file=(f"{batch_id}.jsonl", out.read()), purpose="batch"
                )
                created = await self.client.batches.create(
                    input_file_id=uploaded.id,
                    endpoint="/v1/chat/completions",
                    completion_window="24h",
                    metadata={"batch_id": batch_id, "model": model, "items": str(len(requests))},
                )
            except OpenAIError:
                log.exception("batch %s could not be submitted; it stays in 'building'", batch_id)
                return
        await self.store.batch_submitted(batch_id, created.id, uploaded.id, created.status)
        await self.publish(
            [
                Outgoing(
                    LLM_BATCHES,
                    batch_id,
                    BatchSubmitted(
                        batch_id=batch_id,
                        provider_batch_id=created.id,
                        model=model,
                        item_count=len(requests),
                    ),
                )
            ]
        )
        log.info("batch %s (%s) submitted with %d requests", batch_id, created.id, len(requests))
