"""L1 through Redis Sentinel (HA): the master is discovered from the sentinels."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from catalog.cache.entry import CacheEntry
from catalog.cache.l1 import L1Cache, connect
from catalog.devstack.stack import free_port, redis_binary, wait_for_port
from catalog.settings import RedisSettings

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]


@pytest.fixture
def sentinel(tmp_path: Path) -> Iterator[int]:
    """A Redis master and one Sentinel watching it as `catalog`; yields the sentinel port."""
    master_port, sentinel_port = free_port(), free_port()
    config = tmp_path / "sentinel.conf"
    config.write_text(
        f"port {sentinel_port}\nbind 127.0.0.1\n"
        f"sentinel monitor catalog 127.0.0.1 {master_port} 1\n"
        "sentinel down-after-milliseconds catalog 1000\n"
    )
    procs = [
        subprocess.Popen(
            [redis_binary(), "--port", str(master_port), "--bind", "127.0.0.1", "--save", ""],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        ),
        subprocess.Popen(
            [redis_binary(), str(config), "--sentinel"], cwd=tmp_path,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        ),
    ]  # fmt: skip
    try:
        wait_for_port(master_port, 10, procs[0])
        wait_for_port(sentinel_port, 10, procs[1])
        yield sentinel_port
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


async def test_l1_through_sentinel(sentinel: int) -> None:
    settings = RedisSettings(
        url="redis://unused:1/0",  # type: ignore[arg-type]
        sentinel_hosts=[f"127.0.0.1:{sentinel}"],
        sentinel_master="catalog",
        socket_timeout_s=2.0,
    )
    l1 = L1Cache(connect(settings), "ns-sentinel")
    entry = CacheEntry(
        brand="COLUN", model="Leche Entera", normalized_name="COLUN Leche Entera 1L",
        category="dairy", attributes={"volume_ml": 1000}, confidence=0.95,
        product_fingerprint="p1", prompt_version="v",
    )  # fmt: skip
    try:
        await l1.check()
        await l1.set_many([("fp-1", entry, 60)])
        assert await l1.get_many(["fp-1", "fp-2"]) == {"fp-1": entry}
        assert l1.available
    finally:
        await l1.client.aclose()
