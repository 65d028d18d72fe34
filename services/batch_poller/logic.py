"""Polling and reconciliation of provider batches.

Postgres, not the topic, is the source of truth for what is open: `llm.batches.v1` only wakes the
poller early. For a terminal batch every item that is still `batched` gets exactly one outcome:
its answer, a resubmission (back to `pending`, at most `MAX_SUBMISSIONS` in all), or an error
result. Output lines are joined on custom_id, in whatever order they come.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from collections.abc import Sequence
from typing import Any

from catalog import metrics
from catalog.kafka.topics import LLM_RESULTS
from catalog.llm.calls import result_from_batch_line
from catalog.llm.store import LLMStore, OpenBatch
from catalog.service import Incoming, Outgoing, Publisher, Result
from catalog.settings import Settings
from openai import AsyncOpenAI, OpenAIError

from schemas.models import BatchSubmitted, LLMRequest, LLMResult, Usage

log = logging.getLogger(__name__)

TERMINAL = {"completed", "failed", "expired", "cancelled"}
MAX_SUBMISSIONS = 3


async def _read_jsonl(client: AsyncOpenAI, file_id: str | None) -> list[dict[str, Any]]:
    if not file_id:
        return []
    content = await client.files.content(file_id)
    lines = []
    for raw in content.text.splitlines():
        if raw.strip():
            try:
                lines.append(json.loads(raw))
            except json.JSONDecodeError:
                log.warning("unreadable line in batch file %s skipped", file_id)
    return lines


class BatchPoller:
    def __init__(
        self, settings: Settings, store: LLMStore, client: AsyncOpenAI, publish: Publisher
    ) -> None:
        self.settings = settings
        self.llm = settings.llm
        self.store = store
        self.client = client
        self.publish = publish
        self._lock = asyncio.Lock()

    async def handle(self, batch: Sequence[Incoming[BatchSubmitted]]) -> list[Result]:
        await self.poll()
        return [[] for _ in batch]

    async def poll(self) -> None:
        async with self._lock:
            states: Counter[str] = Counter()
            for batch in await self.store.open_batches():
                states[batch.status] += 1
                if batch.provider_batch_id is None:
                    continue
                try:
                    remote = await self.client.batches.retrieve(batch.provider_batch_id)
                except OpenAIError:
                    log.exception("could not retrieve batch %s", batch.batch_id)
                    continue
                if remote.status in TERMINAL:
                    await self.reconcile(batch, remote)
                elif remote.status != batch.status:
                    await self.store.set_batch_status(batch.batch_id, remote.status)
            for state in ("building", "validating", "in_progress", "finalizing", "cancelling"):
                metrics.BATCHES.labels(state).set(states.get(state, 0))

    async def reconcile(self, batch: OpenBatch, remote: Any) -> None:
        requests = {r.custom_id: r for r in await self.store.batch_requests(batch.batch_id)}
        open_ids = await self.store.items_in_state(list(requests), "batched")
        lines: dict[str, dict[str, Any]] = {}
        for line in await _read_jsonl(self.client, remote.error_file_id):
            lines[str(line.get("custom_id"))] = line
        for line in await _read_jsonl(self.client, remote.output_file_id):
            lines[str(line.get("custom_id"))] = line  # an answer wins over an error
        results: list[LLMResult] = []
        for custom_id in sorted(open_ids):
            reason = f"batch {remote.status}: item not processed"
            line = lines.get(custom_id) or {"custom_id": custom_id, "error": {"message": reason}}
            results.append(result_from_batch_line(self.llm, requests[custom_id], line))
        failed = [r for r in results if not r.ok]
        submissions = await self.store.submissions([r.custom_id for r in failed])
        retry = [r.custom_id for r in failed if submissions.get(r.custom_id, 0) < MAX_SUBMISSIONS]
        final = [r for r in results if r.ok or r.custom_id not in set(retry)]
        await self.publish([Outgoing(LLM_RESULTS, r.custom_id, r) for r in final])
        await self.store.mark_done([(r.custom_id, r.usage, r.cost_usd, r.error) for r in final])
        if retry:
            await self.store.release(retry)
            # Release undoes the claim's count; this submission did happen, so count it back.
            await self.store.pool.execute(
                "UPDATE llm_batch_items SET submissions = submissions + 1 "
                "WHERE custom_id = ANY($1)",
                retry,
            )
        ok = [r for r in final if r.ok]
        usage = Usage(
            prompt_tokens=sum(r.usage.prompt_tokens for r in ok),
            completion_tokens=sum(r.usage.completion_tokens for r in ok),
        )
        await self.store.record_spend(
            batch.model, "batch", len(ok), usage, sum(r.cost_usd for r in ok)
        )
        errors = getattr(remote, "errors", None)
        await self.store.set_batch_status(
            batch.batch_id,
            remote.status,
            output_file_id=remote.output_file_id,
            error_file_id=remote.error_file_id,
            error=json.dumps(errors.model_dump())[:2000] if errors else None,
            close=True,
        )
        log.info(
            "batch %s %s: %d answered, %d failed for good, %d resubmitted",
            batch.batch_id,
            remote.status,
            len(ok),
            len(final) - len(ok),
            len(retry),
        )


__all__ = ["BatchPoller", "LLMRequest"]
