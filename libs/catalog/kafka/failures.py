"""Telling failures apart: a dependency that is down (wait and retry) from a message that can
never succeed (dead-letter it), plus the backoff and the fault injection the consume loop uses.

`classify` only looks at the exception (and its causes). Whatever it cannot place is `unknown`:
the consume loop then decides with the dependencies' health checks (see `catalog.kafka.loop`).
"""

from __future__ import annotations

import asyncio
import errno
import logging
import random
import socket
from dataclasses import dataclass
from typing import Literal

import asyncpg
import openai
import redis.exceptions as redis_errors
from aiokafka.errors import (
    KafkaError,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    RecordTooLargeError,
)

from catalog import metrics
from catalog.llm.resilience import CircuitOpenError
from catalog.settings import FaultSettings

log = logging.getLogger(__name__)

Kind = Literal["transient", "poison", "unknown"]

# SQLSTATE classes of failures that say nothing about the statement: connection exceptions,
# transaction rollbacks (serialization, deadlock), insufficient resources, operator
# intervention (shutdown, cancel), system errors.
TRANSIENT_SQLSTATE_CLASSES = frozenset({"08", "40", "53", "57", "58"})
NETWORK_ERRNOS = frozenset(
    {errno.ECONNREFUSED, errno.ECONNRESET, errno.ECONNABORTED, errno.EHOSTUNREACH,
     errno.ENETUNREACH, errno.ENETDOWN, errno.ETIMEDOUT, errno.EPIPE}
)  # fmt: skip
TOO_LARGE = (MessageSizeTooLargeError, RecordTooLargeError, RecordListTooLargeError)


class InjectedFault(RuntimeError):
    """A failure raised on purpose (`CATALOG_FAULTS__*`) to prove the loop loses nothing."""


class DependencyDown(Exception):
    """A named dependency failed (raised where the code knows which one it was talking to)."""

    def __init__(self, dependency: str, cause: BaseException) -> None:
        super().__init__(f"{dependency}: {type(cause).__name__}: {cause}")
        self.dependency = dependency


class OutputTooLarge(Exception):
    """An output can never be sent: it is larger than the producer accepts."""

    def __init__(self, index: int, topic: str, size: int | None, reason: str) -> None:
        super().__init__(f"output to {topic} can never be sent: {reason}")
        self.index = index
        self.topic = topic
        self.size = size


@dataclass(frozen=True)
class Failure:
    kind: Kind
    # Which dependency the failure points at ("postgres", "redis", "kafka", "llm", "network",
    # "injected"), or None when it points at the message or the code.
    dependency: str | None
    error: str

    @property
    def transient(self) -> bool:
        return self.kind == "transient"


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]


def _classify_one(exc: BaseException) -> tuple[Kind, str | None] | None:
    if isinstance(exc, InjectedFault):
        return "transient", "injected"
    if isinstance(exc, DependencyDown):
        return "transient", exc.dependency
    if isinstance(exc, (OutputTooLarge, *TOO_LARGE)):
        return "poison", None
    if isinstance(exc, asyncpg.PostgresError):
        sqlstate = getattr(exc, "sqlstate", None) or ""
        if sqlstate[:2] in TRANSIENT_SQLSTATE_CLASSES:
            return "transient", "postgres"
        return None
    if isinstance(exc, asyncpg.InterfaceError | asyncpg.exceptions.InternalClientError):
        # "connection is closed", "pool is closing", protocol desync after a dropped socket.
        return "transient", "postgres"
    if isinstance(exc, redis_errors.ConnectionError | redis_errors.TimeoutError):
        return "transient", "redis"
    if isinstance(exc, redis_errors.BusyLoadingError | redis_errors.TryAgainError):
        return "transient", "redis"
    if isinstance(exc, KafkaError):
        # Besides the size errors above, a broker error is the broker's state or configuration
        # (timeouts, leadership, authorization): it would fail any message, so never poison.
        return "transient", "kafka"
    if isinstance(exc, CircuitOpenError | openai.APIConnectionError | openai.APITimeoutError):
        return "transient", "llm"
    if isinstance(exc, openai.RateLimitError | openai.InternalServerError):
        return "transient", "llm"
    if isinstance(exc, TimeoutError | ConnectionError | socket.gaierror):
        return "transient", "network"
    if isinstance(exc, OSError) and exc.errno in NETWORK_ERRNOS:
        return "transient", "network"
    return None


def classify(exc: BaseException) -> Failure:
    """Place an exception, looking through its `__cause__` / `__context__` chain."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        placed = _classify_one(current)
        if placed is not None:
            return Failure(placed[0], placed[1], _describe(exc))
        current = current.__cause__ or current.__context__
    return Failure("unknown", None, _describe(exc))


class Backoff:
    """Capped exponential backoff with jitter (between half and all of the nominal delay)."""

    def __init__(self, base_s: float, max_s: float, rng: random.Random | None = None) -> None:
        self.base_s = base_s
        self.max_s = max_s
        self.attempt = 0
        self._rng = rng or random.Random()

    def next_delay(self) -> float:
        nominal = min(self.max_s, self.base_s * 2**self.attempt)
        self.attempt += 1
        return nominal * (0.5 + 0.5 * self._rng.random())

    def reset(self) -> None:
        self.attempt = 0


class FaultInjector:
    """Raises `InjectedFault` with the configured probability; off (rate 0) by default."""

    def __init__(self, faults: FaultSettings, service: str, rng: random.Random | None = None):
        self.faults = faults
        self.service = service
        self._rng = rng or random.Random()

    def _maybe(self, rate: float, where: Literal["handler", "send", "commit"]) -> None:
        if rate > 0 and self._rng.random() < rate:
            metrics.FAULTS_INJECTED.labels(self.service, where).inc()
            log.warning(
                "injected fault", extra={"fields": {"service": self.service, "where": where}}
            )
            raise InjectedFault(f"injected {where} fault")

    def before_handler(self) -> None:
        self._maybe(self.faults.handler_rate, "handler")

    def before_commit(self) -> None:
        self._maybe(self.faults.commit_rate, "commit")

    def send_fault_at(self, count: int) -> int | None:
        """For a send phase of `count` records: the index before which to fail, or None.

        One draw per send phase (not per record), so a rate stays a rate of failed attempts
        whatever the batch size; the failure lands at a random point, after part of the
        records were already sent, which is the case a retry must survive.
        """
        rate = self.faults.send_rate
        if rate <= 0 or count <= 0 or self._rng.random() >= rate:
            return None
        return self._rng.randrange(count)

    def fail_send(self) -> None:
        metrics.FAULTS_INJECTED.labels(self.service, "send").inc()
        log.warning("injected fault", extra={"fields": {"service": self.service, "where": "send"}})
        raise InjectedFault("injected send fault")


async def sleep_unless(event: asyncio.Event, delay_s: float) -> bool:
    """Sleep `delay_s`, waking early when `event` is set; True when woken by the event."""
    try:
        await asyncio.wait_for(event.wait(), delay_s)
        return True
    except TimeoutError:
        return False
