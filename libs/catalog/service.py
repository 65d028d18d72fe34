"""The thin faust layer every service shares.

A service is a `Processor` (plain async code: `start`, `stop`, one batch handler per consumed
topic, health checks, timers) wired to its topics by `ServiceApp`. Faust is the runtime: worker,
signals, lifecycle, timers and the web endpoints. Consumption is not faust's: the app runs the
project's own consume loop (`catalog.kafka.loop.ConsumeLoop`, an aiokafka consumer with manual
commits) so that an offset is committed only after the batch's outputs are acknowledged by the
broker and its side effects are durable, and so that any failure rewinds instead of skipping.
The loop's module docstring holds the delivery policy: poison vs transient, bounded dead
letters, rebalances and shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import faust
from faust.app.base import BootStrategy
from prometheus_client import generate_latest

from catalog import metrics
from catalog.gc_pauses import keep_gc_pauses_short
from catalog.kafka.dead_letters import OriginalStore
from catalog.kafka.failures import Backoff, FaultInjector, classify
from catalog.kafka.loop import (
    ConsumeLoop,
    Handler,
    Incoming,
    Outgoing,
    Rejected,
    Result,
    Sender,
)
from catalog.kafka.topics import TopicSpec
from catalog.settings import Settings

__all__ = [
    "Handler",
    "HealthCheck",
    "Incoming",
    "Outgoing",
    "Processor",
    "Publisher",
    "Rejected",
    "Result",
    "ServiceApp",
]

log = logging.getLogger(__name__)

METRICS_CONTENT_TYPE = "text/plain; version=0.0.4"
SERVICE_PORT_OFFSETS = {
    "router": 1,
    "cache_lookup": 2,
    "batch_builder": 3,
    "batch_poller": 4,
    "validator": 5,
    "persister": 6,
    # The HTTP search service (FastAPI, not a faust app) shares the port scheme.
    "search": 7,
}
# How long a shutdown waits for the batch in flight before abandoning it (uncommitted);
# under the 10 s a supervisor (or the test harness) waits before it sends SIGKILL.
SHUTDOWN_GRACE_S = 8.0

HealthCheck = Callable[[], Awaitable[None]]


class _RuntimeOnly(BootStrategy):
    """Faust without its Kafka consumer and producer: the consume loop owns both."""

    enable_kafka = False


class Publisher(Protocol):
    async def __call__(self, outgoing: Sequence[Outgoing]) -> None:
        """Send and wait until the broker has the messages (used outside the consume path)."""


class Processor(Protocol):
    """The framework-free part of a service.

    `handlers` maps each consumed topic to a batch handler returning one result per input, in
    order. Timers run periodic work (flushes, polls) and publish through the `Publisher` given
    to `start`, which returns only once the broker has the messages.
    """

    async def start(self, publish: Publisher) -> None: ...

    async def stop(self) -> None: ...

    def handlers(self) -> dict[TopicSpec, Handler]: ...

    def health_checks(self) -> dict[str, HealthCheck]: ...

    def timers(self) -> list[tuple[float, Callable[[], Awaitable[None]]]]: ...


def web_port(service: str, settings: Settings) -> int:
    obs = settings.observability
    if obs.web_port is not None:
        return obs.web_port
    return obs.web_port_base + SERVICE_PORT_OFFSETS.get(service, 0)


async def check_tcp(host_port: str, timeout_s: float = 1.0) -> None:
    """A dependency check that only needs the address: can we open a TCP connection?"""
    first = host_port.split(",")[0]
    host, _, port = first.rpartition(":")
    _, writer = await asyncio.wait_for(asyncio.open_connection(host or first, int(port)), timeout_s)
    writer.close()


class ServiceApp:
    def __init__(self, name: str, settings: Settings, processor: Processor) -> None:
        self.name = name
        self.settings = settings
        self.processor = processor
        self._ready = asyncio.Event()
        self._started_at = time.time()
        self._crash: asyncio.Future[Any] | None = None
        self._starting_error: str | None = None
        kafka = settings.kafka
        self.faults = FaultInjector(settings.faults, name)
        self.sender = Sender(settings, self.faults, client_id=f"{kafka.prefix}catalog-{name}")
        self.originals = OriginalStore(settings.postgres)
        self.loop = ConsumeLoop(
            name,
            settings,
            processor.handlers(),
            self.sender,
            self.originals,
            self.unhealthy,
            self.faults,
        )
        # faust insists on a data directory even with in-memory tables.
        state_dir = Path(tempfile.gettempdir()) / "catalog-faust" / f"{kafka.prefix}{name}"
        state_dir.mkdir(parents=True, exist_ok=True)
        self.app = faust.App(
            f"{kafka.prefix}catalog-{name}",
            broker=f"kafka://{kafka.bootstrap}",
            store="memory://",
            web_enabled=True,
            web_host=settings.observability.web_host,
            web_bind=settings.observability.web_host,
            web_port=web_port(name, settings),
            web_in_thread=False,
            datadir=str(state_dir),
        )
        self.app.boot_strategy = _RuntimeOnly(self.app)
        self._wire()

    # -- faust wiring -------------------------------------------------------------------------

    def _wire(self) -> None:
        app = self.app

        @app.task
        async def start_processor() -> None:
            await self._start_processor()
            self._ready.set()
            log.info("processor started", extra={"fields": {"service": self.name}})
            if self.loop.bindings:
                self.loop.start().add_done_callback(self._loop_ended)

        for interval, tick in self.processor.timers():
            self._add_timer(interval, tick)

        @app.page("/health/live")
        async def live(web: Any, request: Any) -> Any:
            return web.json({"status": "alive", "service": self.name})

        @app.page("/health/ready")
        async def ready(web: Any, request: Any) -> Any:
            report = await self.readiness()
            return web.json(report, status=200 if report["ready"] else 503)

        @app.page("/metrics")
        async def metrics_page(web: Any, request: Any) -> Any:
            # aiohttp refuses a charset inside content_type; the exposition format is ASCII.
            return web.bytes(generate_latest(metrics.REGISTRY), content_type=METRICS_CONTENT_TYPE)

        async def shut_down(app: Any, **_: Any) -> None:
            # The loop first: its batch in flight still needs the processor and the producer.
            await self.loop.stop(SHUTDOWN_GRACE_S)
            await self.processor.stop()
            await self.originals.close()
            await self.sender.stop()

        app.on_before_shutdown.connect(shut_down)  # type: ignore[arg-type]

    async def _start_processor(self) -> None:
        """Start the producer and the processor, waiting out a dependency that is down (a
        service restarted during an outage must come up once it is over, not hang unready)."""
        kafka = self.settings.kafka
        backoff = Backoff(kafka.retry_base_s, kafka.retry_max_s)
        while True:
            try:
                await self.sender.start()
                await self.processor.start(self.publish)
                self._starting_error = None
                # What is loaded by now (taxonomy, brand data, the extractor's tables, the
                # matcher) lives as long as the process: out of the cyclic collector's full
                # passes, which otherwise walk it again and again in the middle of batches
                # (about 40 ms a pass over a fresh persister's heap here; in `py-spy` the
                # passes show up as "self" time of whichever line allocated last).
                gc.freeze()
                keep_gc_pauses_short()
                return
            except Exception as exc:
                failure = classify(exc)
                if not failure.transient:
                    raise
                self._starting_error = f"{failure.dependency}: {failure.error}"
                log.warning(
                    "start failed; retrying",
                    extra={"fields": {"service": self.name, "error": self._starting_error}},
                )
                with contextlib.suppress(Exception):
                    await self.processor.stop()
                await asyncio.sleep(backoff.next_delay())

    def _loop_ended(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            # A bug, not a failure the loop knows how to wait out: let the supervisor restart
            # the process rather than run on without consuming.
            log.critical(
                "consume loop crashed", exc_info=exc, extra={"fields": {"service": self.name}}
            )
            self._crash = asyncio.ensure_future(self.app.crash(exc))

    def _add_timer(self, interval: float, tick: Callable[[], Awaitable[None]]) -> None:
        async def run_tick() -> None:
            if not self._ready.is_set():
                return
            try:
                await tick()
            except Exception:
                log.exception("timer failed", extra={"fields": {"service": self.name}})

        run_tick.__name__ = f"{self.name}_{getattr(tick, '__name__', 'timer')}"
        self.app.timer(interval)(run_tick)

    # -- publishing outside the consume path --------------------------------------------------

    async def publish(self, outgoing: Sequence[Outgoing]) -> None:
        """Send and return only once the broker has acknowledged every message; raises
        otherwise (the caller keeps its state and publishes again later)."""
        await self.sender.send_all([self.sender.record(out) for out in outgoing])

    # -- health -------------------------------------------------------------------------------

    def _checks(self) -> dict[str, HealthCheck]:
        return {
            "kafka": lambda: check_tcp(self.settings.kafka.bootstrap),
            **self.processor.health_checks(),
        }

    def _optional(self) -> set[str]:
        return set(getattr(self.processor, "optional_dependencies", ()))

    async def _run_checks(self) -> dict[str, str]:
        async def one(check: HealthCheck) -> str:
            try:
                await asyncio.wait_for(check(), 2.0)
                return "up"
            except Exception as exc:
                return f"down: {type(exc).__name__}: {exc}"[:300]

        checks = self._checks()
        states = await asyncio.gather(*(one(c) for c in checks.values()))
        return dict(zip(checks, states, strict=True))

    async def unhealthy(self) -> list[str]:
        """Required dependencies that are down now (the consume loop's poison test)."""
        optional = self._optional()
        return [d for d, s in (await self._run_checks()).items() if s != "up" and d not in optional]

    async def readiness(self) -> dict[str, Any]:
        """Check every dependency. A processor's `optional_dependencies` (e.g. Redis, which the
        pipeline can run without) are reported but do not make the service unready. A
        dependency the consume loop is waiting for is reported down even when its own check
        passes (e.g. the router's Postgres, needed only to keep an oversized dead letter)."""
        optional = self._optional()
        dependencies = await self._run_checks()
        delivery = self.loop.status.report()
        if not self._ready.is_set():
            delivery = {"state": "starting", "error": self._starting_error}
        waiting_on = delivery.get("waiting_on")
        if (
            waiting_on in ("postgres", "redis", "kafka", "llm", "network")
            and dependencies.get(waiting_on, "up") == "up"
        ):
            dependencies[waiting_on] = f"down: consumption paused, retrying: {delivery['error']}"[
                :300
            ]
        ok = self._ready.is_set()
        for dep, state in dependencies.items():
            metrics.DEPENDENCY_UP.labels(dep).set(1 if state == "up" else 0)
            if state != "up" and dep not in optional:
                ok = False
        down = [d for d, s in dependencies.items() if s != "up"]
        return {
            "service": self.name,
            "dependencies": dependencies,
            "delivery": delivery,
            "ready": ok,
            "down": down,
            "degraded": bool(down) and ok,
        }

    # -- entry point --------------------------------------------------------------------------

    def run(self) -> None:
        """Run the worker until SIGTERM; used by `python -m <service>`."""
        from faust.worker import Worker

        Worker(
            self.app,
            loglevel=self.settings.observability.log_level,
            quiet=True,
            override_logging=False,
        ).execute_from_commandline()
