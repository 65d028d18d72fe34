"""Redis: a raw listing's title fields -> the rules extraction the router made of them (and
the input fingerprint that follows from the title and the extracted category).

Most of what a store publishes every day it published yesterday (re-scrapes), and the same title
comes from several stores (cache hits); the extractor is the router's main cost, so the router
looks a whole batch up with one MGET and extracts only the titles it has not seen. The key is a
hash of exactly what `extract` reads (title, the store's category, brand field and attributes),
under the cache namespace, so a new prompt/taxonomy version starts afresh; entries expire after
`routing.extraction_cache_ttl_s`, so a change of the extractor's data reaches every title within
that time.

The same MGET also fetches the re-scrape fast path's listing digests
(`catalog.cache.listing_digests`), so a batch costs the router one Redis round trip for both.

Like L1, Redis is an accelerator, never a dependency: an error marks it down for
`retry_after_s`, during which every title is extracted and nothing is written.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Sequence

import orjson
import redis.asyncio as redis
from pydantic import BaseModel

from catalog import metrics
from catalog.cache.l1 import REDIS_CALL_TIMEOUT_S
from catalog.cache.listing_digests import digest_key
from catalog.domain.brands import house_brand
from schemas.models import Extraction, RawListing

log = logging.getLogger(__name__)


class TitleRouting(BaseModel):
    """What the router derives from a listing's title fields alone."""

    input_fingerprint: str
    rules: Extraction


def extraction_key(listing: RawListing) -> str:
    """A digest of the inputs of `extract_listing` for this listing: the store counts only where
    the title names it (a house brand), so one title from several stores is one entry."""
    fields: list[object] = [listing.name, listing.category, listing.brand, listing.attributes]
    house = house_brand(listing.name, listing.retailer)
    if house is not None:
        fields.append(house)
    return hashlib.blake2b(
        orjson.dumps(fields, option=orjson.OPT_SORT_KEYS), digest_size=16
    ).hexdigest()


class ExtractionCache:
    def __init__(
        self, client: redis.Redis, namespace: str, ttl_s: int, retry_after_s: float = 5.0
    ) -> None:
        self.client = client
        self.namespace = namespace
        # 0: extractions are neither looked up nor stored (the digests may still be).
        self.enabled = ttl_s > 0
        self.ttl_s = max(ttl_s, 1)
        self.retry_after_s = retry_after_s
        self._down_until = 0.0

    def key(self, digest: str) -> str:
        return f"{self.namespace}:rules:{digest}"

    @property
    def available(self) -> bool:
        return time.monotonic() >= self._down_until

    def _mark_down(self, exc: Exception) -> None:
        if self.available:
            log.warning("redis unavailable, extracting every title: %s", exc)
        self._down_until = time.monotonic() + self.retry_after_s
        metrics.DEPENDENCY_UP.labels("redis").set(0)

    async def get_many(self, digests: Sequence[str]) -> dict[str, TitleRouting]:
        found, _ = await self.lookup(digests, [])
        return found

    async def lookup(
        self, digests: Sequence[str], listing_keys: Sequence[str]
    ) -> tuple[dict[str, TitleRouting], dict[str, str]]:
        """The extractions of `digests` and the recorded identity digests of `listing_keys`,
        in one MGET; both empty while Redis is down."""
        if not self.enabled:
            digests = []
        if (not digests and not listing_keys) or not self.available:
            return {}, {}
        keys = [self.key(d) for d in digests]
        keys.extend(digest_key(self.namespace, k) for k in listing_keys)
        try:
            values = await asyncio.wait_for(self.client.mget(keys), REDIS_CALL_TIMEOUT_S)
        except (redis.RedisError, OSError, TimeoutError) as exc:
            self._mark_down(exc)
            return {}, {}
        metrics.DEPENDENCY_UP.labels("redis").set(1)
        recorded = {
            key: raw.decode() if isinstance(raw, bytes) else str(raw)
            for key, raw in zip(listing_keys, values[len(digests) :], strict=True)
            if raw is not None
        }
        found: dict[str, TitleRouting] = {}
        for digest, raw in zip(digests, values[: len(digests)], strict=True):
            if raw is not None:
                try:
                    found[digest] = TitleRouting.model_validate_json(raw)
                except ValueError:
                    log.warning("unreadable extraction entry %s ignored", digest)
        metrics.CACHE_LOOKUPS.labels("extraction", "hit").inc(len(found))
        metrics.CACHE_LOOKUPS.labels("extraction", "miss").inc(len(digests) - len(found))
        return found, recorded

    async def set_many(self, items: Sequence[tuple[str, TitleRouting]]) -> None:
        if not items or not self.available or not self.enabled:
            return
        try:
            async with self.client.pipeline(transaction=False) as pipe:
                for digest, routing in items:
                    pipe.set(self.key(digest), routing.model_dump_json(), ex=self.ttl_s)
                await asyncio.wait_for(pipe.execute(), REDIS_CALL_TIMEOUT_S)
        except (redis.RedisError, OSError, TimeoutError) as exc:
            self._mark_down(exc)

    async def check(self) -> None:
        await self.client.ping()
        self._down_until = 0.0
