"""The thin faust layer every service shares.

A service is a `Processor` (plain async code: `start`, `stop`, one batch handler per consumed
topic, health checks, timers) wired to its topics by `ServiceApp`. The app consumes in small
batches, decodes each message with the topic's contract, hands the batch to the handler, sends
what it returns, and only then lets faust acknowledge the offsets (faust flushes the producer
before every commit). So offsets are committed after side effects: a crash replays, and
handlers make replays harmless.

Error policy, per message:
- it does not decode, or the processor rejects it (`Rejected`): dead-letter it with the reason;
- the processor raises: retry the batch with backoff (a dependency may be restarting); after
  `MAX_BATCH_ATTEMPTS`, retry message by message and dead-letter only the ones that still fail.
Either way the partition keeps flowing and nothing is dropped silently.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

import faust
from prometheus_client import generate_latest
from pydantic import BaseModel

from catalog import metrics
from catalog.kafka import transport
from catalog.kafka.codec import ContractError, decode, encode
from catalog.kafka.topics import DLQ, TopicSpec
from catalog.observability import extract_context, headers_to_dict, inject_headers, tracer
from catalog.settings import Settings
from schemas.models import DeadLetter

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)

MAX_BATCH_ATTEMPTS = 4
FIRST_RETRY_DELAY_S = 0.2
METRICS_CONTENT_TYPE = "text/plain; version=0.0.4"
SERVICE_PORT_OFFSETS = {
    "router": 1,
    "cache_lookup": 2,
    "batch_builder": 3,
    "batch_poller": 4,
    "validator": 5,
    "persister": 6,
}


class Rejected(Exception):
    """The processor refuses this message for good (bad content, not a passing outage)."""

    def __init__(self, error_type: str, reason: str) -> None:
        super().__init__(reason)
        self.error_type = error_type
        self.reason = reason


@dataclass(frozen=True)
class Incoming(Generic[M]):
    value: M
    key: bytes | None
    headers: dict[str, str]
    topic: str
    partition: int
    offset: int


@dataclass(frozen=True)
class Outgoing:
    topic: TopicSpec
    key: str
    value: BaseModel
    headers: dict[str, str] = field(default_factory=dict)


Result = Sequence[Outgoing] | Rejected
HealthCheck = Callable[[], Awaitable[None]]


Handler = Callable[[Sequence[Incoming[Any]]], Awaitable[Sequence[Result]]]


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
        kafka = settings.kafka
        scheme = transport.register(kafka.fetch_max_wait_ms)
        # faust insists on a data directory even with in-memory tables.
        state_dir = Path(tempfile.gettempdir()) / "catalog-faust" / f"{kafka.prefix}{name}"
        state_dir.mkdir(parents=True, exist_ok=True)
        self.app = faust.App(
            f"{kafka.prefix}catalog-{name}",
            broker=f"{scheme}://{kafka.bootstrap}",
            value_serializer="raw",
            key_serializer="raw",
            topic_allow_declare=False,
            topic_disable_leader=True,
            store="memory://",
            consumer_auto_offset_reset="earliest",
            broker_rebalance_timeout=kafka.rebalance_timeout_s,
            broker_session_timeout=kafka.session_timeout_s,
            broker_commit_interval=kafka.commit_interval_s,
            web_enabled=True,
            web_host=settings.observability.web_host,
            web_bind=settings.observability.web_host,
            web_port=web_port(name, settings),
            web_in_thread=False,
            datadir=str(state_dir),
        )
        self._topics: dict[str, faust.TopicT] = {}
        self._wire()

    # -- faust wiring -------------------------------------------------------------------------

    def _topic(self, spec: TopicSpec) -> faust.TopicT:
        name = spec.full_name(self.settings.kafka)
        if name not in self._topics:
            self._topics[name] = self.app.topic(name, value_type=bytes, key_type=bytes)
        return self._topics[name]

    def _wire(self) -> None:
        app = self.app

        @app.task
        async def start_processor() -> None:
            await self.processor.start(self.publish)
            self._ready.set()
            log.info("processor started", extra={"fields": {"service": self.name}})

        for spec, handler in self.processor.handlers().items():
            self._add_agent(spec, handler)

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

        async def stop_processor(app: Any, **_: Any) -> None:
            await self.processor.stop()

        app.on_before_shutdown.connect(stop_processor)  # type: ignore[arg-type]

    def _add_agent(self, spec: TopicSpec, handler: Handler) -> None:
        kafka = self.settings.kafka

        async def consume(stream: Any) -> None:
            await self._ready.wait()
            # take_events acknowledges a batch only after this loop body has finished with it.
            async for events in stream.take_events(kafka.batch_max, within=kafka.batch_within_s):
                await self.handle_events(spec, handler, events)

        self.app.agent(self._topic(spec), name=f"{self.name}.{spec.name}")(consume)

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

    # -- processing ---------------------------------------------------------------------------

    async def handle_events(self, spec: TopicSpec, handler: Handler, events: Sequence[Any]) -> None:
        topic = spec.full_name(self.settings.kafka)
        started = time.perf_counter()
        decoded: list[Incoming[Any]] = []
        for event in events:
            message = event.message
            try:
                value = decode(spec.model, message.value)
            except ContractError as exc:
                await self.dead_letter(message, "contract_error", str(exc))
                continue
            decoded.append(
                Incoming(
                    value=value,
                    key=message.key,
                    headers=headers_to_dict(message.headers),
                    topic=message.topic,
                    partition=message.partition,
                    offset=message.offset,
                )
            )
        if decoded:
            results = await self._process_with_retries(handler, decoded)
            for item, result in zip(decoded, results, strict=True):
                await self._emit(item, result)
        metrics.STAGE_SECONDS.labels(self.name).observe(time.perf_counter() - started)
        metrics.MESSAGES.labels(self.name, topic, "processed").inc(len(decoded))

    async def _process_with_retries(
        self, handler: Handler, batch: Sequence[Incoming[Any]]
    ) -> list[Result]:
        delay = FIRST_RETRY_DELAY_S
        for attempt in range(1, MAX_BATCH_ATTEMPTS + 1):
            try:
                results = list(await handler(batch))
                if len(results) != len(batch):
                    raise RuntimeError("processor returned a result count unlike its input")
                return results
            except Exception:
                log.exception(
                    "batch failed",
                    extra={"fields": {"service": self.name, "attempt": attempt}},
                )
                metrics.MESSAGES.labels(self.name, batch[0].topic, "retried").inc(len(batch))
                if attempt < MAX_BATCH_ATTEMPTS:
                    await asyncio.sleep(delay)
                    delay *= 3
        # Isolate the message that keeps failing instead of blocking the partition on it.
        isolated: list[Result] = []
        for item in batch:
            try:
                isolated.extend(await handler([item]))
            except Exception as exc:
                isolated.append(Rejected("processing_error", f"{type(exc).__name__}: {exc}"))
        return isolated

    async def _emit(self, item: Incoming[Any], result: Result) -> None:
        if isinstance(result, Rejected):
            await self.dead_letter_incoming(item, result)
            return
        ctx = extract_context(item.headers)
        with tracer.start_as_current_span(f"{item.topic} process", context=ctx):
            for out in result:
                await self.send(out)

    async def send(self, out: Outgoing) -> None:
        headers = inject_headers(out.headers)
        await self._topic(out.topic).send(
            key=out.key.encode("utf-8"), value=encode(out.value), headers=headers
        )

    async def publish(self, outgoing: Sequence[Outgoing]) -> None:
        for out in outgoing:
            await self.send(out)
        await self.app.producer.flush()

    # -- dead letters -------------------------------------------------------------------------

    async def dead_letter(self, message: Any, error_type: str, reason: str) -> None:
        letter = DeadLetter(
            service=self.name,
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            key_b64=base64.b64encode(message.key).decode() if message.key else None,
            value_b64=base64.b64encode(message.value or b"").decode(),
            error_type=error_type,
            error=reason[:2000],
        )
        await self._send_dead_letter(letter)

    async def dead_letter_incoming(self, item: Incoming[Any], rejected: Rejected) -> None:
        letter = DeadLetter(
            service=self.name,
            topic=item.topic,
            partition=item.partition,
            offset=item.offset,
            key_b64=base64.b64encode(item.key).decode() if item.key else None,
            value_b64=base64.b64encode(encode(item.value)).decode(),
            error_type=rejected.error_type,
            error=rejected.reason[:2000],
        )
        await self._send_dead_letter(letter)

    async def _send_dead_letter(self, letter: DeadLetter) -> None:
        log.warning(
            "dead-lettered",
            extra={
                "fields": {
                    "service": self.name,
                    "topic": letter.topic,
                    "partition": letter.partition,
                    "offset": letter.offset,
                    "error_type": letter.error_type,
                    "error": letter.error,
                }
            },
        )
        metrics.DLQ.labels(self.name, letter.error_type).inc()
        metrics.MESSAGES.labels(self.name, letter.topic, "dead_lettered").inc()
        key = f"{letter.topic}:{letter.partition}:{letter.offset}"
        await self.send(Outgoing(DLQ, key, letter))

    # -- health -------------------------------------------------------------------------------

    async def readiness(self) -> dict[str, Any]:
        """Check every dependency. A processor's `optional_dependencies` (e.g. Redis, which the
        pipeline can run without) are reported but do not make the service unready."""
        checks: dict[str, HealthCheck] = {
            "kafka": lambda: check_tcp(self.settings.kafka.bootstrap),
            **self.processor.health_checks(),
        }
        optional = set(getattr(self.processor, "optional_dependencies", ()))
        report: dict[str, Any] = {"service": self.name, "dependencies": {}}
        ok = self._ready.is_set()
        for dep, check in checks.items():
            try:
                await asyncio.wait_for(check(), 2.0)
                report["dependencies"][dep] = "up"
                metrics.DEPENDENCY_UP.labels(dep).set(1)
            except Exception as exc:
                report["dependencies"][dep] = f"down: {type(exc).__name__}: {exc}"[:300]
                metrics.DEPENDENCY_UP.labels(dep).set(0)
                ok = ok and dep in optional
        report["ready"] = ok
        report["down"] = [d for d, s in report["dependencies"].items() if s != "up"]
        report["degraded"] = bool(report["down"]) and ok
        return report

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
