"""Resilience around every provider call: timeout, retries, circuit breaker, RPM/TPM limits.

The SDK client is built with `max_retries=0`; `Resilience.call` does the retrying itself so each
retry, each breaker transition and each throttling wait is visible in metrics and testable:

- a timeout per attempt (`LLMSettings.timeout_s`, enforced by the SDK and by `asyncio.wait_for`);
- retries on 429, 5xx, 408/409, timeouts and connection errors, up to `max_retries`, sleeping a
  jittered exponential backoff (full jitter between half and all of `base * 2**n`, capped), or
  the server's `retry-after` / `retry-after-ms` when that is longer;
- one circuit breaker per model: `breaker_failures` consecutive failed attempts open it (a
  call that exhausts its retries counts each attempt); while open every call raises
  `CircuitOpenError` at once, without touching the network; after `breaker_cooldown_s` it is
  half-open and lets exactly one probe through, whose outcome closes or re-opens it;
- token buckets per model for requests per minute and tokens per minute (`LLMSettings.limits`);
  a call waits for capacity before it is sent.

Errors that retrying cannot fix (400, 401, 404, ...) are raised at once and do not count against
the breaker: the provider is healthy, the request is wrong.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from openai import APIConnectionError, APIStatusError, APITimeoutError
from opentelemetry import trace
from opentelemetry.trace import SpanKind

from catalog import metrics
from catalog.settings import LLMSettings, ModelLimits

log = logging.getLogger(__name__)

T = TypeVar("T")

RETRYABLE_STATUS = frozenset({408, 409, 429})
BREAKER_STATES = {"closed": 0, "half_open": 1, "open": 2}


class CircuitOpenError(RuntimeError):
    """The model's breaker is open: the call was not attempted."""

    def __init__(self, model: str, retry_in_s: float) -> None:
        super().__init__(f"circuit for {model} is open; next probe in {retry_in_s:.1f}s")
        self.model = model
        self.retry_in_s = retry_in_s


def retry_reason(exc: BaseException) -> str | None:
    """A short label when `exc` is worth retrying, else None."""
    if isinstance(exc, APITimeoutError | asyncio.TimeoutError | TimeoutError):
        return "timeout"
    if isinstance(exc, APIConnectionError | ConnectionError):
        return "connection"
    if isinstance(exc, APIStatusError):
        if exc.status_code == 429:
            return "429"
        if exc.status_code >= 500:
            return "5xx"
        if exc.status_code in RETRYABLE_STATUS:
            return str(exc.status_code)
    return None


def retry_after_s(exc: BaseException) -> float | None:
    """The server's requested wait, from `retry-after-ms` or `retry-after` (seconds)."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        raw = headers.get(name)
        if raw is None:
            continue
        try:
            return max(0.0, float(raw) * scale)
        except ValueError:
            continue
    return None


def backoff_s(attempt: int, base_s: float, max_s: float, rng: random.Random) -> float:
    """Jittered exponential backoff for retry number `attempt` (0-based)."""
    ceiling = min(max_s, base_s * (2**attempt))
    return rng.uniform(ceiling / 2, ceiling)


@dataclass
class CircuitBreaker:
    model: str
    failure_threshold: int
    cooldown_s: float
    clock: Callable[[], float] = time.monotonic
    state: str = "closed"
    failures: int = 0
    opened_at: float = 0.0
    _probe_in_flight: bool = False

    def __post_init__(self) -> None:
        self._publish()

    def _publish(self) -> None:
        metrics.LLM_BREAKER_STATE.labels(self.model).set(BREAKER_STATES[self.state])

    def _move(self, state: str) -> None:
        if state != self.state:
            log.warning("circuit for %s: %s -> %s", self.model, self.state, state)
            metrics.LLM_BREAKER_TRANSITIONS.labels(self.model, state).inc()
            self.state = state
            self._publish()

    def retry_in_s(self) -> float:
        return max(0.0, self.opened_at + self.cooldown_s - self.clock())

    def is_open(self) -> bool:
        """True while calls would be refused (open and cooling down, or a probe is out)."""
        if self.state == "open":
            return self.retry_in_s() > 0
        return self.state == "half_open" and self._probe_in_flight

    def before_call(self) -> None:
        if self.state == "open":
            if self.retry_in_s() > 0:
                metrics.LLM_BREAKER_REJECTED.labels(self.model).inc()
                raise CircuitOpenError(self.model, self.retry_in_s())
            self._move("half_open")
        if self.state == "half_open":
            if self._probe_in_flight:
                metrics.LLM_BREAKER_REJECTED.labels(self.model).inc()
                raise CircuitOpenError(self.model, self.cooldown_s)
            self._probe_in_flight = True

    def on_success(self) -> None:
        self._probe_in_flight = False
        self.failures = 0
        self._move("closed")

    def on_failure(self) -> None:
        self._probe_in_flight = False
        self.failures += 1
        if self.state == "half_open" or self.failures >= self.failure_threshold:
            self.opened_at = self.clock()
            self._move("open")

    def on_abandon(self) -> None:
        """The call ended without telling us anything about the provider (cancelled)."""
        self._probe_in_flight = False


@dataclass
class TokenBucket:
    """`capacity` units refilled evenly over a minute; `take` waits until enough are there."""

    capacity: float
    clock: Callable[[], float] = time.monotonic
    level: float = field(default=-1.0)
    stamp: float = 0.0

    def __post_init__(self) -> None:
        if self.level < 0:
            self.level = self.capacity
        self.stamp = self.clock()

    def _refill(self) -> None:
        now = self.clock()
        self.level = min(self.capacity, self.level + (now - self.stamp) * self.capacity / 60.0)
        self.stamp = now

    def wait_s(self, amount: float) -> float:
        """Seconds until `amount` is available (0 if it is now); does not take anything."""
        self._refill()
        amount = min(amount, self.capacity)  # a request bigger than a minute's worth still runs
        if self.level >= amount:
            return 0.0
        return (amount - self.level) * 60.0 / self.capacity

    def take(self, amount: float) -> None:
        self._refill()
        self.level -= min(amount, self.capacity)


class RateLimiter:
    """RPM and TPM buckets of one model; `acquire` waits for both, in arrival order."""

    def __init__(
        self,
        model: str,
        limits: ModelLimits,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.model = model
        self.requests = TokenBucket(float(limits.rpm), clock)
        self.tokens = TokenBucket(float(limits.tpm), clock)
        self._sleep = sleep
        self._lock = asyncio.Lock()

    async def acquire(self, tokens: int) -> float:
        """Wait until one request of `tokens` tokens fits; returns the seconds waited."""
        waited = 0.0
        async with self._lock:
            while True:
                by_requests = self.requests.wait_s(1)
                by_tokens = self.tokens.wait_s(tokens)
                delay = max(by_requests, by_tokens)
                if delay <= 0:
                    break
                kind = "rpm" if by_requests >= by_tokens else "tpm"
                metrics.LLM_THROTTLED.labels(self.model, kind).inc()
                metrics.LLM_THROTTLE_SECONDS.labels(self.model, kind).inc(delay)
                await self._sleep(delay)
                waited += delay
            self.requests.take(1)
            self.tokens.take(tokens)
        return waited


class Resilience:
    """Per-model breakers and limiters, and the retrying call wrapper."""

    def __init__(
        self,
        llm: LLMSettings,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.llm = llm
        self._clock = clock
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._breakers: dict[str, CircuitBreaker] = {}
        self._limiters: dict[str, RateLimiter] = {}

    def breaker(self, model: str) -> CircuitBreaker:
        if model not in self._breakers:
            self._breakers[model] = CircuitBreaker(
                model, self.llm.breaker_failures, self.llm.breaker_cooldown_s, self._clock
            )
        return self._breakers[model]

    def limiter(self, model: str) -> RateLimiter:
        if model not in self._limiters:
            limits = self.llm.limits.get(model, ModelLimits())
            self._limiters[model] = RateLimiter(model, limits, self._clock, self._sleep)
        return self._limiters[model]

    def is_open(self, model: str) -> bool:
        return self.breaker(model).is_open()

    async def call(
        self,
        model: str,
        operation: str,
        fn: Callable[[], Awaitable[T]],
        *,
        tokens: int | None = None,
    ) -> T:
        """Run `fn` (one provider call) with the breaker, limiter, timeout and retries.

        `tokens` is the request's estimated token count; when given, the call also goes through
        the model's RPM/TPM limiter (chat calls do; file and batch management calls do not,
        they have their own provider limits).
        """
        breaker = self.breaker(model)
        attempt = 0
        while True:
            breaker.before_call()
            try:
                if tokens is not None:
                    await self.limiter(model).acquire(tokens)
                with _client_span(model, operation):
                    result = await asyncio.wait_for(fn(), timeout=self.llm.timeout_s + 1.0)
            except asyncio.CancelledError:
                breaker.on_abandon()
                raise
            except Exception as exc:
                reason = retry_reason(exc)
                if reason is None:
                    # The provider answered; the request itself is wrong. Not an outage.
                    breaker.on_success()
                    raise
                breaker.on_failure()
                if attempt >= self.llm.max_retries:
                    metrics.LLM_CALL_FAILURES.labels(model, operation, reason).inc()
                    raise
                if breaker.state == "open":
                    # Retries left, but the provider is down: give the work back, do not spend
                    # the item's attempt on an outage.
                    metrics.LLM_CALL_FAILURES.labels(model, operation, reason).inc()
                    raise CircuitOpenError(model, breaker.retry_in_s()) from exc
                delay = backoff_s(attempt, self.llm.retry_base_s, self.llm.retry_max_s, self._rng)
                hinted = retry_after_s(exc)
                if hinted is not None:
                    delay = max(delay, min(hinted, self.llm.retry_after_max_s))
                metrics.LLM_RETRIES.labels(model, operation, reason).inc()
                log.info(
                    "%s on %s failed (%s), retry %d in %.2fs",
                    operation,
                    model,
                    reason,
                    attempt + 1,
                    delay,
                )
                attempt += 1
                await self._sleep(delay)
                continue
            breaker.on_success()
            return result


# Provider operations the OpenAI instrumentation traces itself (chat completions, embeddings).
INSTRUMENTED_OPERATIONS = frozenset({"chat", "embeddings"})
_tracer = trace.get_tracer(__name__)


def _client_span(model: str, operation: str) -> contextlib.AbstractContextManager[object]:
    """A client span for one attempt of a provider call that no maintained instrumentation sees:
    the SDK's Files and Batch API calls (the SDK's HTTP client, httpx2, has none either)."""
    if operation in INSTRUMENTED_OPERATIONS:
        return contextlib.nullcontext()
    return _tracer.start_as_current_span(
        f"{operation} {model}",
        kind=SpanKind.CLIENT,
        attributes={
            "gen_ai.system": "openai",
            "gen_ai.operation.name": operation,
            "gen_ai.request.model": model,
        },
    )
