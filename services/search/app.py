"""Thin FastAPI layer over `catalog.search`: every endpoint validates, calls the plain logic
and serialises its pydantic answer."""

# No `from __future__ import annotations`: FastAPI reads the endpoint annotations at run time,
# and they refer to this module's local settings.

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from importlib import resources
from types import FrameType
from typing import Annotated, Any

import asyncpg
import uvicorn
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import generate_latest

from catalog import metrics
from catalog.cache.l1 import connect as connect_redis
from catalog.cache.l2 import SemanticCache
from catalog.cache.stores import make_embedder
from catalog.db import pool as db
from catalog.kafka.dead_letters import OriginalStore
from catalog.kafka.failures import Backoff, FaultInjector
from catalog.kafka.loop import ConsumeLoop, Incoming, Outgoing, Result, Sender
from catalog.kafka.topics import INTERACTIONS
from catalog.observability import configure
from catalog.search import interactions
from catalog.search.cache import QueryCache
from catalog.search.engine import CatalogSearch
from catalog.search.models import (
    ProductPage,
    Recommendations,
    SearchPage,
    SearchRequest,
    Sort,
)
from catalog.search.recommend import Recommender
from catalog.service import METRICS_CONTENT_TYPE, check_tcp, web_port
from catalog.settings import Settings, get_settings
from schemas.models import Interaction

log = logging.getLogger(__name__)

SERVICE = "search"
STATIC = resources.files("search").joinpath("static")


class SearchRuntime:
    """Connections and background work of one search process. Started in the background so
    that the process answers `/health/*` (503 until ready) while a dependency is still down."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.pool: asyncpg.Pool | None = None
        self.search: CatalogSearch | None = None
        self.cache: QueryCache | None = None
        self.recommender: Recommender | None = None
        self.faults = FaultInjector(settings.faults, SERVICE)
        kafka = settings.kafka
        self.sender = Sender(settings, self.faults, client_id=f"{kafka.prefix}catalog-{SERVICE}")
        self.originals = OriginalStore(settings.postgres)
        self.loop = ConsumeLoop(
            SERVICE,
            settings,
            {INTERACTIONS: self.record_interactions},
            self.sender,
            self.originals,
            self.unhealthy,
            self.faults,
        )
        self.ready = asyncio.Event()
        self.starting_error: str | None = None
        self._tasks: list[asyncio.Task[Any]] = []

    # -- lifecycle ----------------------------------------------------------------------------

    async def _open(self) -> None:
        s = self.settings
        pool = await db.create_pool(s.postgres)
        try:
            embedder = make_embedder(s)
            await SemanticCache(pool, embedder.model, embedder.dim).ensure_index()
            self.cache = QueryCache(
                connect_redis(s.redis), s.cache.namespace, s.search.cache_ttl_s,
                s.redis.retry_after_s,
            )  # fmt: skip
            self.search = CatalogSearch(pool, embedder, s.search, self.cache)
            self.recommender = Recommender(self.search, pool)
            await self.sender.start()
        except BaseException:
            await db.close_pool(pool)
            raise
        self.pool = pool

    async def _start(self) -> None:
        backoff = Backoff(self.settings.kafka.retry_base_s, self.settings.kafka.retry_max_s)
        while True:
            try:
                await self._open()
                break
            except Exception as exc:
                self.starting_error = f"{type(exc).__name__}: {exc}"[:300]
                log.warning(
                    "start failed; retrying", extra={"fields": {"error": self.starting_error}}
                )
                await asyncio.sleep(backoff.next_delay())
        self.starting_error = None
        self.ready.set()
        self._tasks.append(self.loop.start())
        self._tasks.append(asyncio.ensure_future(self._refit_forever()))
        self._tasks.append(asyncio.ensure_future(self._vocabulary_forever()))
        log.info("search started", extra={"fields": {"service": SERVICE}})

    def start(self) -> None:
        self._tasks.append(asyncio.ensure_future(self._start()))

    async def stop(self) -> None:
        await self.loop.stop(8.0)
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
        await self.originals.close()
        await self.sender.stop()
        if self.cache is not None:
            await self.cache.client.aclose()
        if self.pool is not None:
            await db.close_pool(self.pool)

    async def _refit_forever(self) -> None:
        assert self.recommender is not None
        while True:
            try:
                used = await self.recommender.refit()
                log.info("recommendations refitted", extra={"fields": {"interactions": used}})
            except Exception:
                log.exception("recommendation refit failed")
            await asyncio.sleep(self.settings.search.refit_interval_s)

    async def _vocabulary_forever(self) -> None:
        """Typo correction learns the words of new and changed masters within seconds; the
        lexeme counts that full text plans with are recomputed every few minutes."""
        assert self.search is not None
        s = self.settings.search
        since = None
        counted_at = 0.0
        while True:
            try:
                since = await self.search.refresh_vocabulary(since)
                if time.monotonic() - counted_at >= s.lexeme_refresh_s:
                    await self.search.refresh_lexemes()
                    counted_at = time.monotonic()
            except Exception:
                log.exception("search vocabulary refresh failed")
            await asyncio.sleep(s.vocabulary_refresh_s)

    # -- interactions -------------------------------------------------------------------------

    async def record_interactions(self, batch: Sequence[Incoming[Interaction]]) -> list[Result]:
        """One transaction per batch; the loop commits the offsets only after it."""
        assert self.pool is not None
        async with self.pool.acquire() as conn, conn.transaction():
            await interactions.record(conn, [item.value for item in batch])
        return [[] for _ in batch]

    async def publish_interaction(self, event: Interaction) -> None:
        """Returns once the broker has acknowledged the event."""
        out = Outgoing(INTERACTIONS, event.user_id, event)
        await self.sender.send_all([self.sender.record(out)])

    # -- health -------------------------------------------------------------------------------

    async def _checks(self) -> dict[str, str]:
        async def postgres() -> None:
            if self.pool is None:
                raise RuntimeError("not connected yet")
            await db.check(self.pool)

        async def redis() -> None:
            if self.cache is None:
                raise RuntimeError("not connected yet")
            await self.cache.check()

        async def kafka() -> None:
            await check_tcp(self.settings.kafka.bootstrap)

        async def one(check: Any) -> str:
            try:
                await asyncio.wait_for(check(), 2.0)
                return "up"
            except Exception as exc:
                return f"down: {type(exc).__name__}: {exc}"[:300]

        checks = {"postgres": postgres, "kafka": kafka, "redis": redis}
        states = await asyncio.gather(*(one(c) for c in checks.values()))
        return dict(zip(checks, states, strict=True))

    async def unhealthy(self) -> list[str]:
        return [d for d, s in (await self._checks()).items() if s != "up" and d != "redis"]

    async def readiness(self) -> dict[str, Any]:
        dependencies = await self._checks()
        ok = self.ready.is_set()
        for dep, state in dependencies.items():
            metrics.DEPENDENCY_UP.labels(dep).set(1 if state == "up" else 0)
            # Redis only caches: without it search is slower, not down.
            if state != "up" and dep != "redis":
                ok = False
        delivery = (
            self.loop.status.report()
            if self.ready.is_set()
            else {"state": "starting", "error": self.starting_error}
        )
        down = [d for d, s in dependencies.items() if s != "up"]
        return {
            "service": SERVICE,
            "dependencies": dependencies,
            "delivery": delivery,
            "ready": ok,
            "down": down,
            "degraded": bool(down) and ok,
        }


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    runtime = SearchRuntime(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime.start()
        yield
        await runtime.stop()

    app = FastAPI(
        title="Catalog search",
        description="Hybrid search, product pages, similar products and recommendations.",
        lifespan=lifespan,
    )
    app.state.runtime = runtime

    def engine() -> CatalogSearch:
        if runtime.search is None:
            raise HTTPException(503, "search is starting")
        return runtime.search

    @app.middleware("http")
    async def timeout(request: Request, call_next: Any) -> Any:
        # A request never holds a worker longer than the statement timeout plus a margin.
        budget = settings.search.statement_timeout_ms / 1000 + 3.0
        try:
            return await asyncio.wait_for(call_next(request), budget)
        except TimeoutError:
            return JSONResponse({"detail": "timed out"}, status_code=504)

    @app.exception_handler(asyncpg.QueryCanceledError)
    async def cancelled(request: Request, exc: asyncpg.QueryCanceledError) -> JSONResponse:
        return JSONResponse({"detail": "query timed out"}, status_code=504)

    s = settings.search

    @app.get("/search", response_model=SearchPage)
    async def search(
        q: Annotated[str, Query(max_length=s.max_query_chars)] = "",
        category: Annotated[list[str] | None, Query()] = None,
        brand: Annotated[list[str] | None, Query()] = None,
        price_min: Annotated[int | None, Query(ge=0)] = None,
        price_max: Annotated[int | None, Query(ge=0)] = None,
        sort: Sort = "relevance",
        page: Annotated[int, Query(ge=1, le=1000)] = 1,
        page_size: Annotated[int, Query(ge=1, le=s.max_page_size)] = s.default_page_size,
    ) -> SearchPage:
        request = SearchRequest(
            q=q,
            categories=category or [],
            brands=brand or [],
            price_min=price_min,
            price_max=price_max,
            sort=sort,
            page=page,
            page_size=page_size,
        )
        return await engine().search(request)

    @app.get("/products/{product_id}", response_model=ProductPage)
    async def product(product_id: str) -> ProductPage:
        page = await engine().product(product_id)
        if page is None:
            raise HTTPException(404, f"no live product {product_id!r}")
        return page

    @app.get("/products/{product_id}/similar")
    async def similar(
        product_id: str, k: Annotated[int, Query(ge=1, le=s.max_top_k)] = 10
    ) -> dict[str, Any]:
        hits = await engine().similar(product_id, k)
        if hits is None:
            raise HTTPException(404, f"no live product {product_id!r}")
        return {"product": product_id, "results": [h.model_dump(mode="json") for h in hits]}

    @app.post("/events", status_code=202)
    async def events(event: Interaction) -> dict[str, str]:
        engine()
        started = time.perf_counter()
        try:
            await runtime.publish_interaction(event)
        except Exception as exc:
            raise HTTPException(503, f"event not accepted by the broker: {exc}") from exc
        metrics.SEARCH_SECONDS.labels("events").observe(time.perf_counter() - started)
        return {"status": "accepted", "event_id": event.event_id}

    @app.get("/recommendations", response_model=Recommendations)
    async def recommendations(
        user: Annotated[str | None, Query(max_length=128)] = None,
        product: Annotated[str | None, Query(max_length=64)] = None,
        k: Annotated[int, Query(ge=1, le=s.max_top_k)] = 10,
    ) -> Recommendations:
        engine()
        if (user is None) == (product is None):
            raise HTTPException(422, "give exactly one of ?user= or ?product=")
        assert runtime.recommender is not None
        started = time.perf_counter()
        answer = await runtime.recommender.recommend(user=user, product=product, k=k)
        metrics.SEARCH_SECONDS.labels("recommendations").observe(time.perf_counter() - started)
        metrics.SEARCH_REQUESTS.labels(
            "recommendations", "results" if answer.results else "empty"
        ).inc()
        return answer

    @app.get("/health/live")
    async def live() -> dict[str, str]:
        return {"status": "alive", "service": SERVICE}

    @app.get("/health/ready")
    async def ready() -> JSONResponse:
        report = await runtime.readiness()
        return JSONResponse(report, status_code=200 if report["ready"] else 503)

    @app.get("/metrics")
    async def metrics_page() -> Response:
        return Response(generate_latest(metrics.REGISTRY), media_type=METRICS_CONTENT_TYPE)

    # -- web page -----------------------------------------------------------------------------

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(str(STATIC.joinpath("index.html")))

    @app.get("/producto/{product_id}", include_in_schema=False)
    async def product_page(product_id: str) -> FileResponse:
        return FileResponse(str(STATIC.joinpath("product.html")))

    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    return app


def _exit_cleanly(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def main() -> None:
    settings = get_settings()
    configure(SERVICE, settings)
    # uvicorn shuts down gracefully on SIGTERM/SIGINT and then raises the signal again with the
    # handlers it found at start. Left at the default, that kills the process before its exit
    # hooks run (log handlers, coverage data); this one ends it with status 0 like the other
    # services.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _exit_cleanly)
    uvicorn.run(
        create_app(settings),
        host=settings.observability.web_host,
        port=web_port(SERVICE, settings),
        log_level=settings.observability.log_level.lower(),
        access_log=False,
    )
