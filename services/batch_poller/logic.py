"""Polling and reconciliation of provider batches.

Postgres, not the topic, is the source of truth for what is open: `llm.batches.v1` only wakes the
poller early. Every provider status is handled:

- validating, in_progress, finalizing, cancelling: recorded, polled again later;
- completed, failed, expired, cancelled (terminal): the output and error files are downloaded
  and joined on custom_id, in whatever order their lines come; every item still `batched` gets
  exactly one outcome: its answer, a resubmission (back to `pending`, at most `MAX_SUBMISSIONS`
  sends in all) or an error result that sends it down the validator's fallback chain. A failed
  batch has no files: all its items are resubmitted (or errored once out of submissions); an
  expired or cancelled one keeps the answers it finished (billed) and resubmits the rest.

Exactly-once into `llm.results.v1`: the outcomes of a batch are written in one transaction
(results stored in their rows as `emitting`, resubmissions back to `pending`, the day's spend, the
batch closed) before anything is published; then the results are published; then marked `done`.
A poller that dies anywhere in between is taken over (by itself after a restart, or by another
replica) from the stored results: nothing is downloaded, billed or decided twice, and only rows
still `emitting` are published again. The one remaining window is a crash after the broker has
acknowledged a result and before the one-statement `done` update commits: that result is
published a second time with the same custom_id key (consumers are idempotent on it).
"""

from __future__ import annotations

import functools
import json
import logging
from collections import Counter
from collections.abc import Sequence
from typing import Any

from openai import OpenAIError

from catalog import metrics
from catalog.llm.calls import result_from_batch_line
from catalog.llm.resilience import CircuitOpenError
from catalog.llm.store import OpenBatch
from catalog.llm.worker import LLMWorker
from catalog.service import Incoming, Result
from schemas.models import BatchSubmitted, LLMRequest, LLMResult

log = logging.getLogger(__name__)

TERMINAL = {"completed", "failed", "expired", "cancelled"}
IN_FLIGHT = ("building", "validating", "in_progress", "finalizing", "cancelling")
MAX_SUBMISSIONS = 3
CALL_ERRORS = (OpenAIError, TimeoutError, CircuitOpenError)


def parse_jsonl(text: str, file_id: str | None = None) -> list[dict[str, Any]]:
    lines = []
    for raw in text.splitlines():
        if raw.strip():
            try:
                lines.append(json.loads(raw))
            except json.JSONDecodeError:
                log.warning("unreadable line in batch file %s skipped", file_id)
    return lines


class BatchPoller(LLMWorker):
    service = "batch_poller"

    async def handle(self, batch: Sequence[Incoming[BatchSubmitted]]) -> list[Result]:
        await self.poll()
        return [[] for _ in batch]

    async def recover(self) -> None:
        async with self._lock:
            await self._recover_locked()

    async def _recover_locked(self) -> None:
        """Re-publish stored results a dead poller (or an earlier failure here) left behind."""
        stranded = [s for s in await self.store.stranded(batched=True) if s.status == "emitting"]
        results = [s.result for s in stranded if s.result is not None]
        if results:
            log.warning("re-publishing %d stored batch results", len(results))
            await self._emit(results, recovered=True)

    async def poll(self) -> None:
        async with self._lock:
            await self._recover_locked()
            states: Counter[str] = Counter()
            for batch in await self.store.open_batches():
                states[batch.status] += 1
                if batch.provider_batch_id is None:
                    continue
                retrieve = functools.partial(self.client.batches.retrieve, batch.provider_batch_id)
                try:
                    remote = await self.resilience.call(batch.model, "batches.retrieve", retrieve)
                except CALL_ERRORS as exc:
                    log.warning("could not retrieve batch %s: %s", batch.batch_id, exc)
                    continue
                if remote.status in TERMINAL:
                    try:
                        await self.reconcile(batch, remote)
                    except CALL_ERRORS as exc:
                        log.warning("batch %s files not read yet: %s", batch.batch_id, exc)
                elif remote.status != batch.status:
                    log.info("batch %s: %s -> %s", batch.batch_id, batch.status, remote.status)
                    await self.store.set_batch_status(batch.batch_id, remote.status)
            for state in IN_FLIGHT:
                metrics.BATCHES.labels(state).set(states.get(state, 0))

    async def _read_file(self, model: str, file_id: str | None) -> list[dict[str, Any]]:
        if not file_id:
            return []
        content = await self.resilience.call(
            model, "files.content", lambda: self.client.files.content(file_id)
        )
        return parse_jsonl(content.text, file_id)

    async def reconcile(self, batch: OpenBatch, remote: Any) -> None:
        requests = {r.custom_id: r for r in await self.store.batch_requests(batch.batch_id)}
        async with self.traced(
            "llm batch reconcile", list(requests), model=batch.model, batch_id=batch.batch_id
        ):
            await self._reconcile(batch, remote, requests)

    async def _reconcile(
        self, batch: OpenBatch, remote: Any, requests: dict[str, LLMRequest]
    ) -> None:
        open_ids = await self.store.items_in_state(list(requests), "batched")
        lines: dict[str, dict[str, Any]] = {}
        for line in await self._read_file(batch.model, remote.error_file_id):
            lines[str(line.get("custom_id"))] = line
        for line in await self._read_file(batch.model, remote.output_file_id):
            lines[str(line.get("custom_id"))] = line  # an answer wins over an error
        results: list[LLMResult] = []
        for custom_id in sorted(open_ids):
            reason = f"batch {remote.status}: item not processed"
            line = lines.get(custom_id) or {"custom_id": custom_id, "error": {"message": reason}}
            results.append(result_from_batch_line(self.llm, requests[custom_id], line))
        failed = [r for r in results if not r.ok]
        submissions = await self.store.submissions([r.custom_id for r in failed])
        retry = {r.custom_id for r in failed if submissions.get(r.custom_id, 0) < MAX_SUBMISSIONS}
        final = [r for r in results if r.custom_id not in retry]
        errors = getattr(remote, "errors", None)
        moved = await self.store.finish_batch(
            batch.batch_id,
            batch.model,
            final,
            sorted(retry),
            status=remote.status,
            output_file_id=remote.output_file_id,
            error_file_id=remote.error_file_id,
            error=json.dumps(errors.model_dump())[:2000] if errors else None,
        )
        await self._emit(moved)
        ok = sum(1 for r in moved if r.ok)
        log.info(
            "batch %s %s: %d answered, %d failed for good, %d resubmitted",
            batch.batch_id,
            remote.status,
            ok,
            len(moved) - ok,
            len(retry),
        )
