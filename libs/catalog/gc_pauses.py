"""The cyclic garbage collector's pauses: kept short, and measured (`catalog_gc_pause_seconds`).

A full collection walks every tracked object the process holds, and nothing else runs meanwhile:
its pause shows up in every hop's latency. Most of what a service holds is long-lived (what
start-up loads, then the per-title caches that fill as listings come), so each full collection
would walk the same objects again, for longer the more the caches hold. `keep_gc_pauses_short`
therefore moves what survives a full collection out of the collector's reach (`gc.freeze`), so
the next one walks only what was allocated since; young collections are left as they are. Frozen
objects are still freed by reference counting. Only cyclic garbage made of objects that were
frozen would stay, so once every `FULL_WALK_EVERY_S` a full collection walks everything again.
"""

from __future__ import annotations

import gc
import time
from typing import Any

from catalog import metrics

# A full walk of the whole heap (one longer pause) this often, for cycles among frozen objects.
FULL_WALK_EVERY_S = 3600.0


class _Collector:
    def __init__(self) -> None:
        self.started: float | None = None
        self.last_full_walk = time.monotonic()

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        generation = info["generation"]
        now = time.perf_counter()
        if phase == "start":
            self.started = now
            if generation == 2 and time.monotonic() - self.last_full_walk > FULL_WALK_EVERY_S:
                # This collection walks everything: what was frozen is back in the oldest
                # generation before the walk starts.
                gc.unfreeze()
                self.last_full_walk = time.monotonic()
            return
        if self.started is not None:
            metrics.GC_PAUSE_SECONDS.labels(str(generation)).observe(now - self.started)
            self.started = None
        if generation == 2:
            # Everything left is alive: out of the next full collections' way.
            gc.freeze()


_collector = _Collector()


def keep_gc_pauses_short() -> None:
    """From now on: observe every collection's pause, and freeze what survives a full one
    (once per process)."""
    if _collector not in gc.callbacks:
        gc.callbacks.append(_collector)
