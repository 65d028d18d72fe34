"""The port allocator: concurrent reservations, in threads and in processes, never collide."""

from __future__ import annotations

import contextlib
import multiprocessing
import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from catalog.devstack.stack import PORTS, PortAllocator

RANGE = (21000, 21400)


def test_threads_reserving_at_once_get_distinct_ports(tmp_path: Path) -> None:
    allocator = PortAllocator(tmp_path, RANGE)
    with ThreadPoolExecutor(max_workers=16) as pool:
        ports = list(pool.map(lambda _: allocator.reserve(), range(200)))
    assert len(set(ports)) == 200
    assert allocator.held() == set(ports)


def test_blocks_do_not_overlap(tmp_path: Path) -> None:
    allocator = PortAllocator(tmp_path, RANGE)
    with ThreadPoolExecutor(max_workers=8) as pool:
        bases = list(pool.map(lambda _: allocator.reserve(block=8), range(20)))
    ports = [b + i for b in bases for i in range(8)]
    assert len(set(ports)) == len(ports)


@contextlib.contextmanager
def _free_range(size: int) -> Iterator[tuple[int, int]]:
    """Ports no other stack on the host will take meanwhile: a fixed range may hold a test's broker.

    The process-wide allocator holds them through its own lock files, which the allocators under
    test (another lock directory) do not see.
    """
    base = PORTS.reserve(block=size)
    try:
        yield base, base + size
    finally:
        PORTS.release(*range(base, base + size))


def test_a_port_held_by_one_allocator_is_not_handed_out_by_another(tmp_path: Path) -> None:
    with _free_range(3) as (low, high):
        _check_held_ports_are_not_shared(tmp_path, low, high)


def _check_held_ports_are_not_shared(tmp_path: Path, low: int, high: int) -> None:
    first = PortAllocator(tmp_path, (low, high))
    second = PortAllocator(tmp_path, (low, high))
    held = {first.reserve() for _ in range(3)}
    assert held == {low, low + 1, low + 2}
    try:
        second.reserve()
    except RuntimeError:
        pass
    else:
        raise AssertionError("the second allocator took a port the first one holds")
    first.release(low + 1)
    assert second.reserve() == low + 1


def test_a_port_something_listens_on_is_skipped(tmp_path: Path) -> None:
    with _free_range(2) as (low, high), socket.socket() as listener:
        listener.bind(("127.0.0.1", low))
        listener.listen()
        allocator = PortAllocator(tmp_path, (low, high))
        assert allocator.reserve() == low + 1


def _reserve_in_child(lock_dir: str, count: int, barrier: object, out: object) -> None:
    allocator = PortAllocator(Path(lock_dir), RANGE)
    ports = [allocator.reserve() for _ in range(count)]
    out.put(ports)  # type: ignore[attr-defined]
    # Hold them until every process has reserved: a released port may be handed out again.
    barrier.wait()  # type: ignore[attr-defined]


def test_processes_reserving_at_once_get_distinct_ports(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    workers, each = 4, 40
    barrier = ctx.Barrier(workers)
    out = ctx.Queue()
    procs = [
        ctx.Process(target=_reserve_in_child, args=(str(tmp_path), each, barrier, out))
        for _ in range(workers)
    ]
    for proc in procs:
        proc.start()
    ports = [port for _ in procs for port in out.get(timeout=60)]
    for proc in procs:
        proc.join(timeout=60)
        assert proc.exitcode == 0
    assert len(ports) == workers * each
    assert len(set(ports)) == len(ports)
