"""Redis cache of hot search pages: a short TTL, keyed by the query and every filter.

Redis is optional: while it fails, the cache is skipped for `retry_after_s` instead of paying a
timeout per request, and search answers from Postgres.
"""

from __future__ import annotations

import hashlib
import logging
import time

import redis.asyncio as redis

from catalog.search.models import SearchPage, SearchRequest

log = logging.getLogger(__name__)


class QueryCache:
    def __init__(
        self, client: redis.Redis, namespace: str, ttl_s: int, retry_after_s: float = 5.0
    ) -> None:
        self.client = client
        self.namespace = namespace
        self.ttl_s = ttl_s
        self.retry_after_s = retry_after_s
        self._skip_until = 0.0

    def key(self, request: SearchRequest) -> str:
        digest = hashlib.sha256(request.cache_key().encode()).hexdigest()[:32]
        return f"search:v1:{self.namespace}:{digest}"

    def _available(self) -> bool:
        return self.ttl_s > 0 and time.monotonic() >= self._skip_until

    def _failed(self, exc: Exception) -> None:
        self._skip_until = time.monotonic() + self.retry_after_s
        log.warning("search cache unavailable", extra={"fields": {"error": str(exc)[:200]}})

    async def get(self, request: SearchRequest) -> SearchPage | None:
        if not self._available():
            return None
        try:
            raw = await self.client.get(self.key(request))
        except Exception as exc:
            self._failed(exc)
            return None
        if raw is None:
            return None
        return SearchPage.model_validate_json(raw).model_copy(update={"cached": True})

    async def put(self, request: SearchRequest, page: SearchPage) -> None:
        if not self._available():
            return
        try:
            await self.client.set(self.key(request), page.model_dump_json(), ex=self.ttl_s)
        except Exception as exc:
            self._failed(exc)

    async def check(self) -> None:
        await self.client.ping()
