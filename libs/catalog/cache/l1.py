"""L1: Redis, exact input fingerprint -> validated answer, TTL by category.

Redis is an accelerator, never a dependency: any error marks it down for `retry_after_s`, during
which lookups report a miss at once and writes are skipped, so the pipeline keeps flowing on
L2/L3. `available` feeds the health report and the `catalog_dependency_up` metric.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

import redis.asyncio as redis
from redis.asyncio.sentinel import Sentinel

from catalog import metrics
from catalog.cache.entry import CacheEntry
from catalog.settings import RedisSettings

log = logging.getLogger(__name__)

# A bound on one Redis round trip beyond the client's socket timeouts: a call caught by an
# outage must not hold a batch (and its partitions) for longer than this.
REDIS_CALL_TIMEOUT_S = 2.0


def connect(settings: RedisSettings) -> redis.Redis:
    if settings.sentinel_hosts:
        hosts = []
        for host in settings.sentinel_hosts:
            name, _, port = host.rpartition(":")
            hosts.append((name, int(port)))
        sentinel = Sentinel(hosts, socket_timeout=settings.socket_timeout_s)
        client: redis.Redis = sentinel.master_for(
            settings.sentinel_master, socket_timeout=settings.socket_timeout_s
        )
        return client
    return redis.Redis.from_url(
        settings.url.get_secret_value(),
        socket_timeout=settings.socket_timeout_s,
        socket_connect_timeout=settings.socket_timeout_s,
    )


class L1Cache:
    def __init__(self, client: redis.Redis, namespace: str, retry_after_s: float = 5.0) -> None:
        self.client = client
        self.namespace = namespace
        self.retry_after_s = retry_after_s
        self._down_until = 0.0

    def key(self, input_fingerprint: str) -> str:
        return f"{self.namespace}:l1:{input_fingerprint}"

    @property
    def available(self) -> bool:
        return time.monotonic() >= self._down_until

    def _mark_down(self, exc: Exception) -> None:
        if self.available:
            log.warning("redis unavailable, degrading to L2/L3: %s", exc)
        self._down_until = time.monotonic() + self.retry_after_s
        metrics.DEPENDENCY_UP.labels("redis").set(0)

    async def get_many(self, fingerprints: Sequence[str]) -> dict[str, CacheEntry]:
        if not fingerprints or not self.available:
            return {}
        try:
            values = await asyncio.wait_for(
                self.client.mget([self.key(fp) for fp in fingerprints]), REDIS_CALL_TIMEOUT_S
            )
        except (redis.RedisError, OSError, TimeoutError) as exc:
            self._mark_down(exc)
            metrics.CACHE_LOOKUPS.labels("l1", "error").inc(len(fingerprints))
            return {}
        metrics.DEPENDENCY_UP.labels("redis").set(1)
        found: dict[str, CacheEntry] = {}
        for fp, raw in zip(fingerprints, values, strict=True):
            if raw is not None:
                try:
                    found[fp] = CacheEntry.model_validate_json(raw)
                except ValueError:
                    log.warning("unreadable L1 entry for %s ignored", fp)
        return found

    async def set_many(self, items: Sequence[tuple[str, CacheEntry, int]]) -> None:
        if not items or not self.available:
            return
        try:
            async with self.client.pipeline(transaction=False) as pipe:
                for fp, entry, ttl in items:
                    pipe.set(self.key(fp), entry.model_dump_json(), ex=max(ttl, 1))
                await asyncio.wait_for(pipe.execute(), REDIS_CALL_TIMEOUT_S)
        except (redis.RedisError, OSError, TimeoutError) as exc:
            self._mark_down(exc)

    async def invalidate(self, pattern: str = "*") -> int:
        """Delete this namespace's keys (all, or those matching `pattern` after the prefix)."""
        deleted = 0
        async for key in self.client.scan_iter(match=f"{self.namespace}:l1:{pattern}", count=500):
            deleted += int(await self.client.delete(key))
        return deleted

    async def check(self) -> None:
        await self.client.ping()
        self._down_until = 0.0
