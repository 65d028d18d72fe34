"""The garbage collector's pauses: observed per generation, and full collections kept short."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from catalog import gc_pauses, metrics
from catalog.gc_pauses import keep_gc_pauses_short


def _count(generation: str) -> float:
    for family in metrics.REGISTRY.collect():
        for sample in family.samples:
            if (
                sample.name == "catalog_gc_pause_seconds_count"
                and sample.labels.get("generation") == generation
            ):
                return sample.value
    return 0.0


@pytest.fixture
def collector() -> Iterator[None]:
    keep_gc_pauses_short()
    keep_gc_pauses_short()  # a second call adds no second callback
    assert gc.callbacks.count(gc_pauses._collector) == 1
    try:
        yield
    finally:
        gc.callbacks.remove(gc_pauses._collector)
        gc.unfreeze()


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def _cycle() -> weakref.ref[Node]:
    """A reference cycle that is garbage at once."""
    a, b = Node(), Node()
    a.other, b.other = b, a
    return weakref.ref(a)


@pytest.mark.usefixtures("collector")
def test_each_collection_is_one_pause_of_its_generation() -> None:
    before = _count("2"), _count("1")
    gc.collect(2)
    gc.collect(2)
    gc.collect(1)
    assert _count("2") == before[0] + 2
    assert _count("1") == before[1] + 1


@pytest.mark.usefixtures("collector")
def test_survivors_of_a_full_collection_are_frozen_and_new_cycles_still_collected() -> None:
    gc.unfreeze()
    survivor = [Node() for _ in range(100)]
    gc.collect(2)
    frozen = gc.get_freeze_count()
    assert frozen >= len(survivor)
    # Only what was allocated since is walked by the next full collection.
    assert gc.get_count()[0] < 100
    dead = _cycle()
    assert dead() is not None
    gc.collect(2)
    assert dead() is None


@pytest.mark.usefixtures("collector")
def test_a_full_walk_now_and_then_reclaims_cycles_among_frozen_objects(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    held = Node()
    held.other = Node()
    held.other.other = held
    old = weakref.ref(held)
    gc.collect(2)  # alive: frozen with the survivors
    del held  # now garbage, but a cycle among frozen objects
    gc.collect(2)
    assert old() is not None  # no ordinary full collection reclaims it
    monkeypatch.setattr(gc_pauses._collector, "last_full_walk", -gc_pauses.FULL_WALK_EVERY_S)
    gc.collect(2)
    assert old() is None
