"""The garbage collector's pauses are observed per generation."""

from __future__ import annotations

import gc

from catalog import metrics
from catalog.gc_pauses import watch_gc_pauses


def _count(generation: str) -> float:
    for family in metrics.REGISTRY.collect():
        for sample in family.samples:
            if (
                sample.name == "catalog_gc_pause_seconds_count"
                and sample.labels.get("generation") == generation
            ):
                return sample.value
    return 0.0


def test_each_collection_is_one_pause_of_its_generation() -> None:
    watch_gc_pauses()
    watch_gc_pauses()  # a second call adds no second callback
    before = _count("2"), _count("1")
    gc.collect(2)
    gc.collect(2)
    gc.collect(1)
    assert _count("2") == before[0] + 2
    assert _count("1") == before[1] + 1
