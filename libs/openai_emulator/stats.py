"""Counters exposed at `GET /_emulator/stats`."""

from __future__ import annotations

from collections import Counter
from typing import Any


class Stats:
    def __init__(self) -> None:
        self.requests_by_endpoint: Counter[str] = Counter()
        self.requests_by_model: Counter[str] = Counter()
        self.responses_by_status: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()
        self.tokens: Counter[str] = Counter()
        self.batch_items: Counter[str] = Counter()

    def add_usage(self, usage: dict[str, Any], *, batch: bool = False) -> None:
        prefix = "batch_" if batch else ""
        for key in ("prompt_tokens", "completion_tokens", "total_tokens"):
            self.tokens[prefix + key] += int(usage.get(key, 0))
        details = usage.get("completion_tokens_details") or {}
        self.tokens[prefix + "reasoning_tokens"] += int(details.get("reasoning_tokens", 0))

    def snapshot(self, batches_by_status: dict[str, int]) -> dict[str, Any]:
        return {
            "requests_by_endpoint": dict(self.requests_by_endpoint),
            "requests_by_model": dict(self.requests_by_model),
            "responses_by_status": dict(self.responses_by_status),
            "faults": dict(self.faults),
            "tokens": dict(self.tokens),
            "batch_items": dict(self.batch_items),
            "batches_by_status": batches_by_status,
        }
