"""Retries, backoff, circuit breaker, rate limits and token pre-count, with a fake clock.

The provider errors are the real SDK exception classes built from real `httpx2` responses, so
the classification is the one the services see.
"""

from __future__ import annotations

import random
from typing import Any

import openai
import pytest

from catalog import metrics
from catalog.llm import tokens
from catalog.llm.resilience import (
    CircuitBreaker,
    CircuitOpenError,
    RateLimiter,
    Resilience,
    backoff_s,
    retry_after_s,
    retry_reason,
)
from catalog.settings import LLMSettings, ModelLimits


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _response(status: int, headers: dict[str, str] | None = None) -> Any:
    httpx = _httpx()
    request = httpx.Request("POST", "http://emulator/v1/chat/completions")
    return httpx.Response(status, headers=headers or {}, request=request, json={"error": {}})


def _httpx() -> Any:
    import importlib

    for name in ("httpx", "httpx2"):
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    raise RuntimeError("no httpx")


def status_error(status: int, headers: dict[str, str] | None = None) -> openai.APIStatusError:
    response = _response(status, headers)
    classes: dict[int, type[openai.APIStatusError]] = {
        400: openai.BadRequestError,
        429: openai.RateLimitError,
        500: openai.InternalServerError,
        503: openai.InternalServerError,
    }
    return classes.get(status, openai.APIStatusError)("boom", response=response, body=None)


def timeout_error() -> openai.APITimeoutError:
    return openai.APITimeoutError(request=_httpx().Request("POST", "http://emulator/v1/x"))


def make(**overrides: Any) -> tuple[Resilience, FakeClock]:
    clock = FakeClock()
    llm = LLMSettings(
        **{
            "max_retries": 3,
            "retry_base_s": 0.5,
            "retry_max_s": 4.0,
            "breaker_failures": 5,
            "breaker_cooldown_s": 30.0,
            **overrides,
        }
    )
    return Resilience(llm, clock=clock, sleep=clock.sleep, rng=random.Random(1)), clock


class Flaky:
    """Raises the given errors in order, then returns 'ok'."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def counter(metric: Any, *labels: str) -> float:
    return float(metric.labels(*labels)._value.get())


# --- classification ------------------------------------------------------------------------


def test_retryable_errors_are_classified() -> None:
    assert retry_reason(status_error(429)) == "429"
    assert retry_reason(status_error(500)) == "5xx"
    assert retry_reason(status_error(503)) == "5xx"
    assert retry_reason(timeout_error()) == "timeout"
    assert retry_reason(TimeoutError()) == "timeout"
    assert retry_reason(status_error(400)) is None
    assert retry_reason(ValueError("bad")) is None


def test_retry_after_headers() -> None:
    assert retry_after_s(status_error(429, {"retry-after": "7"})) == 7.0
    assert retry_after_s(status_error(429, {"retry-after-ms": "250"})) == 0.25
    assert retry_after_s(status_error(429, {"retry-after": "soon"})) is None
    assert retry_after_s(status_error(500)) is None


def test_backoff_grows_is_jittered_and_capped() -> None:
    rng = random.Random(3)
    first = [backoff_s(0, 0.5, 4.0, rng) for _ in range(50)]
    third = [backoff_s(2, 0.5, 4.0, rng) for _ in range(50)]
    late = [backoff_s(10, 0.5, 4.0, rng) for _ in range(50)]
    assert all(0.25 <= d <= 0.5 for d in first)
    assert all(1.0 <= d <= 2.0 for d in third)
    assert all(2.0 <= d <= 4.0 for d in late)
    assert len(set(first)) > 10  # jittered, not a fixed schedule


# --- retries -------------------------------------------------------------------------------


async def test_retries_5xx_and_timeouts_then_succeeds() -> None:
    guard, clock = make()
    before = counter(metrics.LLM_RETRIES, "m-retry", "chat", "5xx")
    fn = Flaky(status_error(500), timeout_error())
    assert await guard.call("m-retry", "chat", fn) == "ok"
    assert fn.calls == 3
    assert len(clock.sleeps) == 2
    assert counter(metrics.LLM_RETRIES, "m-retry", "chat", "5xx") == before + 1
    assert guard.breaker("m-retry").state == "closed"


async def test_retry_after_is_honoured_when_longer_than_backoff() -> None:
    guard, clock = make()
    fn = Flaky(status_error(429, {"retry-after": "3"}))
    assert await guard.call("m-429", "chat", fn) == "ok"
    assert clock.sleeps == [3.0]


async def test_retry_after_is_capped() -> None:
    guard, clock = make(retry_after_max_s=5.0)
    fn = Flaky(status_error(429, {"retry-after": "3600"}))
    await guard.call("m-429cap", "chat", fn)
    assert clock.sleeps == [5.0]


async def test_gives_up_after_max_retries() -> None:
    guard, clock = make(max_retries=2, breaker_failures=100)
    fn = Flaky(*(status_error(503) for _ in range(10)))
    with pytest.raises(openai.InternalServerError):
        await guard.call("m-giveup", "chat", fn)
    assert fn.calls == 3
    assert len(clock.sleeps) == 2


async def test_client_errors_are_not_retried_and_do_not_trip_the_breaker() -> None:
    guard, clock = make(breaker_failures=1)
    fn = Flaky(status_error(400))
    with pytest.raises(openai.BadRequestError):
        await guard.call("m-400", "chat", fn)
    assert fn.calls == 1
    assert clock.sleeps == []
    assert guard.breaker("m-400").state == "closed"


# --- circuit breaker -----------------------------------------------------------------------


async def test_breaker_opens_fails_fast_then_half_opens_and_closes() -> None:
    guard, clock = make(max_retries=0, breaker_failures=3, breaker_cooldown_s=10.0)
    for _ in range(3):
        with pytest.raises(openai.InternalServerError):
            await guard.call("m-cb", "chat", Flaky(status_error(500)))
    assert guard.breaker("m-cb").state == "open"
    assert guard.is_open("m-cb")
    probe = Flaky()
    with pytest.raises(CircuitOpenError):
        await guard.call("m-cb", "chat", probe)
    assert probe.calls == 0  # failed fast, nothing sent
    assert metrics.LLM_BREAKER_STATE.labels("m-cb")._value.get() == 2
    clock.now += 10.0
    assert not guard.is_open("m-cb")
    assert await guard.call("m-cb", "chat", probe) == "ok"
    assert guard.breaker("m-cb").state == "closed"
    assert metrics.LLM_BREAKER_STATE.labels("m-cb")._value.get() == 0


async def test_failed_probe_reopens_the_breaker() -> None:
    guard, clock = make(max_retries=3, breaker_failures=2, breaker_cooldown_s=5.0)
    with pytest.raises(CircuitOpenError):
        await guard.call("m-probe", "chat", Flaky(*(status_error(500) for _ in range(5))))
    # It opened during the retries, which stopped early instead of hammering the provider.
    assert guard.breaker("m-probe").state == "open"
    assert len(clock.sleeps) == 1
    clock.now += 5.0
    with pytest.raises(CircuitOpenError):
        await guard.call("m-probe", "chat", Flaky(status_error(500), status_error(500)))
    assert guard.breaker("m-probe").state == "open"
    with pytest.raises(CircuitOpenError):
        await guard.call("m-probe", "chat", Flaky())


def test_breaker_is_per_model() -> None:
    clock = FakeClock()
    a = CircuitBreaker("m-a", 1, 10.0, clock)
    b = CircuitBreaker("m-b", 1, 10.0, clock)
    a.before_call()
    a.on_failure()
    assert a.is_open() and not b.is_open()
    b.before_call()  # does not raise


def test_half_open_lets_one_probe_through() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("m-one", 1, 1.0, clock)
    breaker.before_call()
    breaker.on_failure()
    clock.now += 1.0
    breaker.before_call()
    assert breaker.state == "half_open"
    with pytest.raises(CircuitOpenError):
        breaker.before_call()


# --- rate limits ---------------------------------------------------------------------------


async def test_rpm_limit_spaces_requests() -> None:
    clock = FakeClock()
    limiter = RateLimiter("m-rpm", ModelLimits(rpm=60, tpm=1_000_000), clock, clock.sleep)
    for _ in range(60):
        assert await limiter.acquire(10) == 0.0  # the first minute's burst
    waited = await limiter.acquire(10)
    assert waited == pytest.approx(1.0)  # one request per second after that
    assert metrics.LLM_THROTTLED.labels("m-rpm", "rpm")._value.get() >= 1


async def test_tpm_limit_waits_for_tokens() -> None:
    clock = FakeClock()
    limiter = RateLimiter("m-tpm", ModelLimits(rpm=1000, tpm=6000), clock, clock.sleep)
    await limiter.acquire(6000)
    waited = await limiter.acquire(3000)
    assert waited == pytest.approx(30.0)
    assert metrics.LLM_THROTTLE_SECONDS.labels("m-tpm", "tpm")._value.get() >= 30.0


def test_plan_limits_are_the_defaults() -> None:
    limits = LLMSettings().limits
    assert (limits["gpt-5-mini"].rpm, limits["gpt-5-mini"].tpm) == (500, 100_000)
    assert (limits["gpt-5"].rpm, limits["gpt-5"].tpm) == (100, 40_000)


async def test_chat_calls_go_through_the_limiter() -> None:
    guard, clock = make(limits={"m-lim": ModelLimits(rpm=1, tpm=100_000)})
    await guard.call("m-lim", "chat", Flaky(), tokens=10)
    await guard.call("m-lim", "chat", Flaky(), tokens=10)
    assert clock.sleeps == [pytest.approx(60.0)]
    # File and batch management calls (no token count) are not rate limited here.
    await guard.call("m-lim", "files.create", Flaky())
    assert len(clock.sleeps) == 1


# --- token pre-count -----------------------------------------------------------------------


def test_estimate_is_close_to_known_o200k_counts() -> None:
    # Reference counts from tiktoken's o200k_base for these exact strings.
    samples = {
        "P:iPhone 15 256GB|C:smartphones|$:1200000\nOut:{b,m,a:{c,cl,s},cf}": 32,
        "Experto en productos retail CL. JSON only.": 10,
    }
    for text, exact in samples.items():
        estimate = tokens.estimate_tokens(text)
        assert exact * 0.8 <= estimate <= exact * 1.35, (text, estimate, exact)


def test_count_tokens_is_positive_and_monotonic() -> None:
    short = tokens.count_tokens("Coca Cola 500ml")
    long = tokens.count_tokens("Coca Cola 500ml " * 10)
    assert 0 < short < long
    assert tokens.count_tokens("") == 0


def test_estimate_request_bounds_cost_by_completion_limit() -> None:
    llm = LLMSettings()
    body = {
        "model": "gpt-5",
        "messages": [{"role": "user", "content": "hola " * 100}],
        "max_completion_tokens": 800,
    }
    sync = tokens.estimate_request(llm, body, batch=False)
    batch = tokens.estimate_request(llm, body, batch=True)
    assert sync.prompt_tokens >= 100
    assert sync.max_completion_tokens == 800
    assert batch.cost_usd == pytest.approx(sync.cost_usd * 0.5, abs=1e-8)
    price = llm.prices["gpt-5"]
    expected = (sync.prompt_tokens * price.input_per_m + 800 * price.output_per_m) / 1e6
    assert sync.cost_usd == pytest.approx(expected, abs=1e-8)
