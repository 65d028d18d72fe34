"""How long the cyclic garbage collector stops this process (`catalog_gc_pause_seconds`).

A full collection walks every tracked object the process holds that was not frozen at start-up
(caches grow it), and nothing else runs meanwhile: such a pause shows up in every hop's latency.
"""

from __future__ import annotations

import gc
import time
from typing import Any

from catalog import metrics

_started: list[float] = []


def _on_collection(phase: str, info: dict[str, Any]) -> None:
    if phase == "start":
        _started.append(time.perf_counter())
    elif _started:
        metrics.GC_PAUSE_SECONDS.labels(str(info["generation"])).observe(
            time.perf_counter() - _started.pop()
        )


def watch_gc_pauses() -> None:
    """Observe every collection's pause from now on (once per process)."""
    if _on_collection not in gc.callbacks:
        gc.callbacks.append(_on_collection)
