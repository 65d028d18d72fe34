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
from collections.abc import Sequence

from openai import AsyncOpenAI

from catalog import metrics
from catalog.kafka.topics import LLM_RESULTS
from catalog.llm.resilience import Resilience
from catalog.llm.store import LLMStore
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
        # Raises unless the broker acknowledged every result: nothing is marked done then.
        await self.publish([Outgoing(LLM_RESULTS, r.custom_id, r) for r in results])
        await self.store.mark_emitted([r.custom_id for r in results])
        outcome = "recovered" if recovered else "published"
        metrics.LLM_RESULTS_EMITTED.labels(self.service, outcome).inc(len(results))
