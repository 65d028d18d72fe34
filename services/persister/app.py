"""Faust wiring of persister: consumes products.validated.v1 and products.prices.v1 (and the
review and dead-letter topics for their audit tables)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from catalog.cache.listing_digests import ListingDigests
from catalog.cache.stores import CacheStores
from catalog.catalog_gauges import refresh_catalog_gauges
from catalog.db.statistics import analyze_stale
from catalog.domain.taxonomy import load_taxonomy
from catalog.identity.llm_judge import LLMJudge
from catalog.identity.resolver import Judge, load_resolver, matcher_judge
from catalog.kafka.topics import DLQ, PRICES, REVIEW, VALIDATED, TopicSpec
from catalog.llm.client import make_client
from catalog.observability import configure
from catalog.service import Handler, HealthCheck, Incoming, Publisher, Result, ServiceApp
from catalog.settings import Settings, get_settings
from persister.logic import CatalogWriter
from schemas.models import DeadLetter, PriceObservation, ReviewItem, ValidatedProduct

# Catalog size and review backlog move slowly; a count every 30 s is cheap and fresh enough.
CATALOG_GAUGES_INTERVAL_S = 30.0
# How often the catalog tables' planner statistics are checked (`catalog.db.statistics`).
STATISTICS_INTERVAL_S = 15.0


class PersisterProcessor:
    optional_dependencies = ("redis",)

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.stores: CacheStores | None = None
        self.writer: CatalogWriter | None = None

    async def start(self, publish: Publisher) -> None:
        s = self.settings
        self.stores = await CacheStores.open(s)
        resolver = load_resolver()
        judge: Judge | None = None
        if s.identity.judge == "matcher":
            judge = matcher_judge(resolver.matcher)
        elif s.identity.judge == "llm":
            judge = LLMJudge(make_client(s.llm, max_retries=0), s.llm, model=s.identity.judge_model)
        digests = (
            ListingDigests(
                self.stores.l1.client,
                s.cache.namespace,
                s.routing.listing_digest_ttl_s,
                s.redis.retry_after_s,
            )
            if s.routing.listing_digest_ttl_s > 0
            else None
        )
        self.writer = CatalogWriter(
            self.stores.pool, load_taxonomy(), self.stores.l1, self.stores.semantic,
            self.stores.embedder, s.cache.namespace, s.cache.l1_default_ttl_s, resolver, judge,
            digests,
        )  # fmt: skip

    async def stop(self) -> None:
        if self.stores is not None:
            await self.stores.close()

    @property
    def _writer(self) -> CatalogWriter:
        assert self.writer is not None, "handlers run only after start()"
        return self.writer

    async def validated(self, batch: Sequence[Incoming[ValidatedProduct]]) -> list[Result]:
        return await self._writer.handle_validated(batch)

    async def prices(self, batch: Sequence[Incoming[PriceObservation]]) -> list[Result]:
        return await self._writer.handle_prices(batch)

    async def review(self, batch: Sequence[Incoming[ReviewItem]]) -> list[Result]:
        return await self._writer.handle_review(batch)

    async def dead_letters(self, batch: Sequence[Incoming[DeadLetter]]) -> list[Result]:
        return await self._writer.handle_dead_letters(batch)

    def handlers(self) -> dict[TopicSpec, Handler]:
        return {
            VALIDATED: self.validated,
            PRICES: self.prices,
            REVIEW: self.review,
            DLQ: self.dead_letters,
        }

    def health_checks(self) -> dict[str, HealthCheck]:
        return self.stores.health_checks() if self.stores else {}

    def timers(self) -> list[tuple[float, Callable[[], Awaitable[None]]]]:
        return [
            (CATALOG_GAUGES_INTERVAL_S, self._refresh_catalog_gauges),
            (STATISTICS_INTERVAL_S, self._refresh_statistics),
        ]

    async def _refresh_statistics(self) -> None:
        if self.stores is not None:
            await analyze_stale(self.stores.pool)

    async def _refresh_catalog_gauges(self) -> None:
        if self.stores is not None:
            await refresh_catalog_gauges(self.stores.pool)


def build(settings: Settings) -> ServiceApp:
    return ServiceApp("persister", settings, PersisterProcessor(settings))


def main() -> None:
    settings = get_settings()
    configure("persister", settings)
    build(settings).run()
