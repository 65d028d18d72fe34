"""Faust wiring of cache-lookup: consumes products.routed.v1."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from cache_lookup.logic import decide, lookup_key
from catalog.cache.multilevel import MultiLevelCache
from catalog.cache.stores import CacheStores
from catalog.kafka.topics import ROUTED, TopicSpec
from catalog.observability import configure
from catalog.service import Handler, HealthCheck, Incoming, Publisher, Result, ServiceApp
from catalog.settings import Settings, get_settings
from schemas.models import RoutedListing


class CacheLookupProcessor:
    # Without Redis lookups fall through to L2/L3: degraded, still ready.
    optional_dependencies = ("redis",)

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.stores: CacheStores | None = None
        self.cache: MultiLevelCache | None = None

    async def start(self, publish: Publisher) -> None:
        self.stores = await CacheStores.open(self.settings)
        self.cache = self.stores.multilevel()

    async def stop(self) -> None:
        if self.stores is not None:
            await self.stores.close()

    async def handle(self, batch: Sequence[Incoming[RoutedListing]]) -> list[Result]:
        assert self.cache is not None, "handlers run only after start()"
        hits = await self.cache.lookup([lookup_key(item.value) for item in batch])
        return [
            decide(item.value, hit, self.settings) for item, hit in zip(batch, hits, strict=True)
        ]

    def handlers(self) -> dict[TopicSpec, Handler]:
        return {ROUTED: self.handle}

    def health_checks(self) -> dict[str, HealthCheck]:
        return self.stores.health_checks() if self.stores else {}

    def timers(self) -> list[tuple[float, Callable[[], Awaitable[None]]]]:
        return []


def build(settings: Settings) -> ServiceApp:
    return ServiceApp("cache_lookup", settings, CacheLookupProcessor(settings))


def main() -> None:
    settings = get_settings()
    configure("cache_lookup", settings)
    build(settings).run()
