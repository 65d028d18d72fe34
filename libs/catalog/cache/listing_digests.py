"""The re-scrape fast path's record: listing key -> digest of its identity inputs.

A store re-publishes most of its catalog every day with the same titles; only price, stock and
seen-at move. The persister, after a batch's transaction commits, records in Redis (with a TTL)
the digest of the identity inputs of every listing it placed: what normalization and identity
resolution read from the raw listing (title, GTIN, brand field, the store's category and
attributes), under the cache namespace. The same digest is stored in the listing's row.

The router looks the batch's listing keys up together with its extraction cache (one MGET); a
listing whose digest matches goes to products.prices.v1 and skips normalization and cache lookup.
Redis only routes: the persister applies the price only where the row still holds the digest,
and sends any other listing back to products.raw.v1 with `FULL_PATH_HEADER`, so a stale or lost
Redis entry costs a detour, never a wrong or lost listing.

Best effort like every Redis use here: an error marks Redis down for `retry_after_s`, during
which nothing is recorded (and the router, which shares the outage, sends everything the full
way).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Sequence

import orjson
import redis.asyncio as redis

from catalog import metrics
from catalog.cache.l1 import REDIS_CALL_TIMEOUT_S
from schemas.models import RawListing

log = logging.getLogger(__name__)

# Header of a raw listing the persister sent back from the fast path: the router must take the
# full path for it (its Redis entry is stale).
FULL_PATH_HEADER = "catalog-full-path"


def listing_digest(listing: RawListing, namespace: str) -> str:
    """Digest of what a listing's normalization and identity depend on (not its price)."""
    fields = [
        namespace,
        listing.name,
        listing.ean,
        listing.brand,
        listing.category,
        listing.attributes,
    ]
    return hashlib.blake2b(
        orjson.dumps(fields, option=orjson.OPT_SORT_KEYS), digest_size=16
    ).hexdigest()


def digest_key(namespace: str, listing_key: str) -> str:
    return f"{namespace}:listing:{listing_key}"


class ListingDigests:
    """The persister's side: record the digests of the listings a committed batch placed."""

    def __init__(
        self, client: redis.Redis, namespace: str, ttl_s: int, retry_after_s: float = 5.0
    ) -> None:
        self.client = client
        self.namespace = namespace
        self.ttl_s = max(ttl_s, 1)
        self.retry_after_s = retry_after_s
        self._down_until = 0.0

    @property
    def available(self) -> bool:
        return time.monotonic() >= self._down_until

    async def record_many(self, items: Sequence[tuple[str, str]]) -> None:
        """Record (listing key, digest) pairs; a Redis failure skips them (and later calls for
        `retry_after_s`): those listings take the full path until recorded again."""
        if not items or not self.available:
            return
        try:
            async with self.client.pipeline(transaction=False) as pipe:
                for listing_key, digest in items:
                    pipe.set(digest_key(self.namespace, listing_key), digest, ex=self.ttl_s)
                await asyncio.wait_for(pipe.execute(), REDIS_CALL_TIMEOUT_S)
        except (redis.RedisError, OSError, TimeoutError) as exc:
            if self.available:
                log.warning("redis unavailable, listing digests not recorded: %s", exc)
            self._down_until = time.monotonic() + self.retry_after_s
            metrics.DEPENDENCY_UP.labels("redis").set(0)
