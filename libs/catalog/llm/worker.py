"""What the batch-builder and the batch-poller share: their dependencies, and how they publish
stored LLM results.

A result is stored in its item row (`emitting`) before it is published, and the row becomes
`done` only after the broker has acknowledged the message: `publish` (the service's
`ServiceApp.publish`) awaits the delivery acknowledgement of every record and raises if any is
refused, in which case the rows stay `emitting`. A crash or a failed publish is then settled by
re-publishing the stored result (the next flush or poll, or a restart recovers it) instead of
calling, downloading or billing again.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from openai import AsyncOpenAI
from opentelemetry import trace
from opentelemetry.trace import Link

from catalog import metrics
from catalog.kafka.topics import LLM_RESULTS
from catalog.llm.resilience import Resilience
from catalog.llm.store import LLMStore
from catalog.observability import extract_context, tracer
from catalog.service import Outgoing, Publisher
from catalog.settings import Settings
from schemas.models import LLMResult


class LLMWorker:
    service = "llm"

    def __init__(
        self,
        settings: Settings,
        store: LLMStore,
        client: AsyncOpenAI,
        publish: Publisher,
        resilience: Resilience | None = None,
    ) -> None:
        self.settings = settings
        self.llm = settings.llm
        self.store = store
        self.client = client
        self.publish = publish
        self.resilience = resilience or Resilience(self.llm)
        self._lock = asyncio.Lock()

    async def _emit(self, results: Sequence[LLMResult], *, recovered: bool = False) -> None:
        if not results:
            return
        # Each result continues the trace of its own request, whichever flush or poll emits it.
        parents = await self.store.traceparents([r.custom_id for r in results])
        outgoing = [
            Outgoing(LLM_RESULTS, r.custom_id, r, _trace_headers(parents.get(r.custom_id)))
            for r in results
        ]
        # Raises unless the broker acknowledged every result: nothing is marked done then.
        await self.publish(outgoing)
        await self.store.mark_emitted([r.custom_id for r in results])
        outcome = "recovered" if recovered else "published"
        metrics.LLM_RESULTS_EMITTED.labels(self.service, outcome).inc(len(results))

    @asynccontextmanager
    async def traced(
        self, name: str, custom_ids: Sequence[str], model: str, batch_id: str | None = None
    ) -> AsyncIterator[None]:
        """A span for work done on stored requests away from their messages (a batch sent or
        reconciled on a timer, a sync call): it belongs to the trace of the first request and
        links to the others', so each listing's trace shows the provider calls made for it."""
        parents = await self.store.traceparents(custom_ids)
        contexts = [
            extract_context({"traceparent": parents[c]}) for c in custom_ids if c in parents
        ]
        links = [Link(trace.get_current_span(c).get_span_context()) for c in contexts[1:]]
        with tracer.start_as_current_span(
            name,
            context=contexts[0] if contexts else None,
            links=links,
            attributes={
                "catalog.llm.model": model,
                "catalog.llm.requests": len(custom_ids),
                **({"catalog.llm.batch_id": batch_id} if batch_id else {}),
            },
        ):
            yield


def _trace_headers(traceparent: str | None) -> dict[str, str]:
    return {"traceparent": traceparent} if traceparent else {}
