"""Publishing stored LLM results, shared by the builder's sync path and the batch poller.

A result is stored in its item row (`emitting`) before this runs, and the row becomes `done`
only after the broker has acknowledged the message, so a crash in between re-publishes the
stored result instead of calling, downloading or billing again.
"""

from __future__ import annotations

from collections.abc import Sequence

from catalog import metrics
from catalog.kafka.topics import LLM_RESULTS
from catalog.llm.store import LLMStore
from catalog.service import Outgoing, Publisher
from schemas.models import LLMResult


async def emit_results(
    publish: Publisher,
    store: LLMStore,
    results: Sequence[LLMResult],
    service: str,
    *,
    recovered: bool = False,
) -> None:
    if not results:
        return
    await publish([Outgoing(LLM_RESULTS, r.custom_id, r) for r in results])
    await store.mark_emitted([r.custom_id for r in results])
    outcome = "recovered" if recovered else "published"
    metrics.LLM_RESULTS_EMITTED.labels(service, outcome).inc(len(results))
