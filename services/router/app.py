"""Faust wiring of the router: consumes products.raw.v1, produces products.routed.v1."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from catalog.cache.extractions import ExtractionCache
from catalog.cache.l1 import connect
from catalog.kafka.topics import RAW, TopicSpec
from catalog.observability import configure
from catalog.service import Handler, HealthCheck, Publisher, ServiceApp
from catalog.settings import Settings, get_settings
from router.logic import Router


class RouterProcessor:
    # Without Redis every title is extracted: slower, still ready.
    optional_dependencies = ("redis",)

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.router = Router(settings)
        self.extractions: ExtractionCache | None = None

    async def start(self, publish: Publisher) -> None:
        s = self.settings
        # One Redis connection for the extraction cache and the re-scrape digests.
        if s.routing.extraction_cache_ttl_s > 0 or s.routing.listing_digest_ttl_s > 0:
            self.extractions = ExtractionCache(
                connect(s.redis),
                s.cache.namespace,
                s.routing.extraction_cache_ttl_s,
                s.redis.retry_after_s,
            )
            self.router.extractions = self.extractions

    async def stop(self) -> None:
        if self.extractions is not None:
            await self.extractions.client.aclose()

    def handlers(self) -> dict[TopicSpec, Handler]:
        return {RAW: self.router.handle}

    def health_checks(self) -> dict[str, HealthCheck]:
        return {"redis": self.extractions.check} if self.extractions else {}

    def timers(self) -> list[tuple[float, Callable[[], Awaitable[None]]]]:
        return []


def build(settings: Settings) -> ServiceApp:
    return ServiceApp("router", settings, RouterProcessor(settings))


def main() -> None:
    settings = get_settings()
    configure("router", settings)
    build(settings).run()
