"""The LLM layer end to end: batch-builder and batch-poller processes, the real `openai` SDK and
an OpenAI-compatible emulator of this module's own (with its own faults), fed on
`llm.requests.v1` and read back from `llm.results.v1`.

Every scenario checks the same invariant: each request ends exactly once on `llm.results.v1`.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import threading
import urllib.request
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from pydantic import SecretStr

from batch_builder.logic import BatchBuilder
from batch_poller.logic import BatchPoller
from catalog.db import pool as db
from catalog.devstack.stack import Stack
from catalog.kafka.codec import encode
from catalog.kafka.topics import LLM_REQUESTS, LLM_RESULTS
from catalog.llm.answers import parse_answer
from catalog.llm.client import make_client
from catalog.llm.store import LLMStore
from catalog.service import Outgoing
from catalog.settings import LLMSettings, PostgresSettings, Settings
from openai_emulator import EmulatorConfig, run_in_background
from router.logic import Router
from schemas.models import LLMRequest, LLMResult, RawListing
from tests.integration.harness import Pipeline, start_pipeline, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

BATCH_ENV = {
    "CATALOG_LLM__POLL_INTERVAL_S": "0.3",
    "CATALOG_LLM__BATCH_MAX_AGE_S": "0.5",
    "CATALOG_LLM__SYNC_THRESHOLD": "1",
}
SERVICES = ("batch_builder", "batch_poller")

# Distinct brands, so a result joined to the wrong request is visible in its answer.
PRODUCTS = [
    ("Smartphone Samsung Galaxy A55 5G 256GB Azul", "Celulares", "SAMSUNG"),
    ("Notebook Lenovo IdeaPad Slim 3 Ryzen 5 16GB 512GB SSD", "Notebooks", "LENOVO"),
    ("Smart TV LG 55 Pulgadas 4K UHD ThinQ AI", "Televisores", "LG"),
    ("Perfume Carolina Herrera 212 VIP EDP 100ml Mujer", "Perfumes", "CAROLINA HERRERA"),
    ("Audífonos Sony WH-1000XM5 Bluetooth Negro", "Audio", "SONY"),
    ("Apple iPhone 15 128GB Negro", "Celulares", "APPLE"),
    ("Cafetera Oster Programable 12 Tazas", "Electrodomésticos", "OSTER"),
    ("Zapatillas Nike Revolution 7 Hombre Negro", "Calzado", "NIKE"),
]


class ThreadedEmulator:
    """The emulator on its own event loop in a thread, so blocking test code never stalls it."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        future = asyncio.run_coroutine_threadsafe(run_in_background(config, port=0), self.loop)
        self.handle = future.result(10)

    @property
    def base_url(self) -> str:
        return self.handle.base_url

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.handle.url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.loads(response.read())

    def set_faults(self, faults: dict[str, Any]) -> None:
        self._call("POST", "/_emulator/faults", {"shuffle_output": True, "seed": 7, **faults})

    def reset_faults(self) -> None:
        self.set_faults({})

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/_emulator/stats")
        return result

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.handle.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@dataclass
class Rig:
    emulator: ThreadedEmulator
    pipeline: Pipeline


SYNC_SLOW_ENV = {
    "CATALOG_LLM__SYNC_THRESHOLD": "100",
    "CATALOG_LLM__SYNC_CONCURRENCY": "2",
    "CATALOG_LLM__TIMEOUT_S": "10",
}
BREAKER_ENV = {
    "CATALOG_LLM__SYNC_THRESHOLD": "100",
    "CATALOG_LLM__RETRY_BASE_S": "0.05",
    "CATALOG_LLM__RETRY_MAX_S": "0.1",
    "CATALOG_LLM__BREAKER_FAILURES": "3",
    "CATALOG_LLM__BREAKER_COOLDOWN_S": "1",
}
# Each rig: its own emulator (own faults and counters) and its own pipeline. They are started
# together because joining a consumer group is what takes time on the embedded broker.
RIGS: dict[str, tuple[float, dict[str, str], tuple[str, ...]]] = {
    "batch": (0.1, BATCH_ENV, SERVICES),
    "kill": (0.6, {**BATCH_ENV, "CATALOG_LLM__BATCH_SIZE": "10"}, SERVICES),
    "crash": (0.1, BATCH_ENV, ("batch_builder",)),
    "sync": (0.1, SYNC_SLOW_ENV, ("batch_builder",)),
    "breaker": (0.1, BREAKER_ENV, ("batch_builder",)),
    "budget": (0.1, {**BATCH_ENV, "CATALOG_LLM__DAILY_BUDGET_USD": "1e-6"}, SERVICES),
}


@pytest.fixture(scope="module")
async def rigs(stack: Stack) -> AsyncIterator[dict[str, Rig]]:
    emulators = {
        name: ThreadedEmulator(EmulatorConfig(batch_step_s=step))
        for name, (step, _, _) in RIGS.items()
    }
    emulators["sync"].set_faults({"timeout_rate": 1.0, "timeout_s": 1.5})
    emulators["breaker"].set_faults({"error_rate_500": 1.0})
    started = await asyncio.gather(
        *(
            start_pipeline(
                stack,
                {**env, "CATALOG_LLM__BASE_URL": emulators[name].base_url},
                services=services,
            )
            for name, (_, env, services) in RIGS.items()
        ),
        return_exceptions=True,
    )
    try:
        for item in started:
            if isinstance(item, BaseException):
                raise item
        yield {
            name: Rig(emulators[name], p)  # type: ignore[arg-type]
            for name, p in zip(RIGS, started, strict=True)
        }
    finally:
        for item in started:
            if isinstance(item, Pipeline):
                item.stop()
        for emu in emulators.values():
            emu.stop()


@pytest.fixture
def emulator(rigs: dict[str, Rig]) -> ThreadedEmulator:
    return rigs["batch"].emulator


@pytest.fixture
def pipeline(rigs: dict[str, Rig]) -> Pipeline:
    return rigs["batch"].pipeline


class KafkaPublisher:
    """A real producer to the pipeline's topics, for logic driven from the test process."""

    def __init__(self, p: Pipeline) -> None:
        self.p = p

    async def __call__(self, outgoing: Sequence[Outgoing]) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=self.p.stack.kafka_bootstrap)
        await producer.start()
        try:
            for out in outgoing:
                await producer.send_and_wait(
                    self.p.topic(out.topic), key=out.key.encode(), value=encode(out.value)
                )
        finally:
            await producer.stop()


def make_requests(n: int, model: str = "gpt-5-mini") -> list[LLMRequest]:
    router = Router(Settings())
    tag = uuid.uuid4().hex[:8]
    out = []
    for i in range(n):
        title, category, _ = PRODUCTS[i % len(PRODUCTS)]
        listing = RawListing.model_validate(
            {
                "retailer": "falabella",
                "sku": f"{tag}-{i}",
                "name": title,
                "category": category,
                "price": 19990 + i,
            }
        )
        routed = router.route(listing)
        out.append(
            LLMRequest(
                custom_id=f"{tag}-{i:04d}-a1",
                routed=routed,
                model=model,
                prompt_kind="minimal",
                prompt_version="norm-ia-v2.0",
            )
        )
    return out


def expected_brand(request: LLMRequest) -> str:
    for title, _, brand in PRODUCTS:
        if title == request.routed.listing.name:
            return brand
    raise KeyError(request.routed.listing.name)


async def results_for(p: Pipeline, requests: list[LLMRequest]) -> list[LLMResult]:
    wanted = {r.custom_id for r in requests}
    return [r for r in await p.read_models(LLM_RESULTS) if r.custom_id in wanted]


async def wait_all_results(
    p: Pipeline, requests: list[LLMRequest], timeout_s: float = 60
) -> list[LLMResult]:
    wanted = {r.custom_id for r in requests}

    async def complete() -> list[LLMResult] | None:
        found = await results_for(p, requests)
        return found if {r.custom_id for r in found} >= wanted else None

    await wait_until(complete, timeout_s, 0.3)
    # Nothing else is still on its way: every item is `done`.
    await wait_until(lambda: items_done(p, requests), 15, 0.2)
    return await results_for(p, requests)


async def items_done(p: Pipeline, requests: list[LLMRequest]) -> bool:
    conn = await p.db()
    try:
        n = await conn.fetchval(
            "SELECT count(*) FROM llm_batch_items WHERE custom_id = ANY($1) AND status = 'done'",
            [r.custom_id for r in requests],
        )
    finally:
        await conn.close()
    return int(n) == len(requests)


def assert_exactly_once(results: list[LLMResult], requests: list[LLMRequest]) -> None:
    counts = Counter(r.custom_id for r in results)
    assert set(counts) == {r.custom_id for r in requests}
    duplicated = {cid: n for cid, n in counts.items() if n > 1}
    assert not duplicated, f"results published more than once: {duplicated}"


def assert_answers_match(results: list[LLMResult], requests: list[LLMRequest]) -> None:
    by_id = {r.custom_id: r for r in requests}
    for result in results:
        if result.ok:
            answer = parse_answer(result.content)
            # The brands are disjoint: an answer joined to the wrong request shows it.
            assert expected_brand(by_id[result.custom_id]) in (answer.brand or ""), result.custom_id
            assert result.usage.prompt_tokens > 0 and result.cost_usd > 0


async def item_rows(p: Pipeline, requests: list[LLMRequest]) -> dict[str, dict[str, Any]]:
    conn = await p.db()
    try:
        rows = await conn.fetch(
            """SELECT custom_id, status, submissions, prompt_tokens, cost_usd, batch_id
               FROM llm_batch_items WHERE custom_id = ANY($1)""",
            [r.custom_id for r in requests],
        )
    finally:
        await conn.close()
    return {r["custom_id"]: dict(r) for r in rows}


async def batch_statuses(p: Pipeline, requests: list[LLMRequest]) -> Counter[str]:
    """Statuses of every batch these requests were ever in (from the emulator's own view)."""
    conn = await p.db()
    try:
        rows = await conn.fetch(
            """SELECT status FROM llm_batches WHERE batch_id IN (
                   SELECT b.batch_id FROM llm_batches b WHERE b.created_at >= $1)""",
            await conn.fetchval(
                "SELECT min(created_at) FROM llm_batch_items WHERE custom_id = ANY($1)",
                [r.custom_id for r in requests],
            ),
        )
    finally:
        await conn.close()
    return Counter(r["status"] for r in rows)


# --- the Batch API lifecycle ---------------------------------------------------------------


async def test_completed_batch_with_shuffled_output(
    pipeline: Pipeline, emulator: ThreadedEmulator
) -> None:
    emulator.set_faults({"shuffle_output": True})
    try:
        requests = make_requests(24)
        await pipeline.produce(LLM_REQUESTS, [(r.custom_id, r) for r in requests])
        results = await wait_all_results(pipeline, requests)
    finally:
        emulator.reset_faults()
    assert_exactly_once(results, requests)
    assert all(r.ok and r.mode == "batch" for r in results)
    # Output lines came back in another order than they were sent; the join is by custom_id.
    assert_answers_match(results, requests)
    rows = await item_rows(pipeline, requests)
    assert all(row["submissions"] == 1 and row["prompt_tokens"] > 0 for row in rows.values())
    assert all(float(row["cost_usd"]) > 0 for row in rows.values())


async def test_partial_failure_resubmits_errored_items(
    pipeline: Pipeline, emulator: ThreadedEmulator
) -> None:
    emulator.set_faults({"batch_item_error_rate": 0.5})
    try:
        requests = make_requests(16)
        await pipeline.produce(LLM_REQUESTS, [(r.custom_id, r) for r in requests])
        results = await wait_all_results(pipeline, requests)
    finally:
        emulator.reset_faults()
    assert_exactly_once(results, requests)
    assert_answers_match(results, requests)
    rows = await item_rows(pipeline, requests)
    # Some items failed in the error file and were answered by a later batch.
    assert any(row["submissions"] > 1 for row in rows.values())
    assert any(r.ok for r in results)
    for result in results:
        if not result.ok:
            # Out of submissions: handed to the validator's fallback as an error result.
            assert rows[result.custom_id]["submissions"] == 3
            assert "500" in (result.error or "") or "server" in (result.error or "")


async def test_expired_batch_keeps_finished_results_and_resubmits_the_rest(
    pipeline: Pipeline, emulator: ThreadedEmulator
) -> None:
    emulator.set_faults({"batch_expire_rate": 1.0})
    try:
        requests = make_requests(8)
        await pipeline.produce(LLM_REQUESTS, [(r.custom_id, r) for r in requests])
        results = await wait_all_results(pipeline, requests)
    finally:
        emulator.reset_faults()
    assert_exactly_once(results, requests)
    assert_answers_match(results, requests)
    rows = await item_rows(pipeline, requests)
    answered_first = [cid for cid, row in rows.items() if row["submissions"] == 1]
    # Half of the first batch was finished before it expired, and those answers were kept.
    assert answered_first
    assert all(next(r for r in results if r.custom_id == cid).ok for cid in answered_first)
    # Every batch expired; what never got an answer in three sends is an error result.
    assert any(row["submissions"] > 1 for row in rows.values())
    for result in results:
        if not result.ok:
            assert rows[result.custom_id]["submissions"] == 3
            assert "expired" in (result.error or "")
    assert "expired" in await batch_statuses(pipeline, requests)


async def test_failed_batch_is_resubmitted_then_errors(
    pipeline: Pipeline, emulator: ThreadedEmulator
) -> None:
    emulator.set_faults({"batch_fail_rate": 1.0})
    try:
        requests = make_requests(5)
        await pipeline.produce(LLM_REQUESTS, [(r.custom_id, r) for r in requests])
        results = await wait_all_results(pipeline, requests)
    finally:
        emulator.reset_faults()
    assert_exactly_once(results, requests)
    assert not any(r.ok for r in results)
    rows = await item_rows(pipeline, requests)
    assert all(row["submissions"] == 3 for row in rows.values())
    assert all(r.usage.prompt_tokens == 0 and r.cost_usd == 0 for r in results)


async def test_a_failed_batch_then_a_healthy_one_answers_everything(
    pipeline: Pipeline, emulator: ThreadedEmulator
) -> None:
    # gpt-5 fails its batches, gpt-5-mini does not: only gpt-5 items are resubmitted.
    emulator.set_faults({"per_model": {"gpt-5": {"batch_fail_rate": 1.0}}})
    full = make_requests(3, model="gpt-5")
    mini = make_requests(3)
    try:
        await pipeline.produce(LLM_REQUESTS, [(r.custom_id, r) for r in full + mini])

        async def full_resubmitted() -> bool:
            rows = await item_rows(pipeline, full)
            return all(row["submissions"] >= 2 for row in rows.values())

        await wait_until(full_resubmitted, 30, 0.2)
    finally:
        emulator.reset_faults()
    results = await wait_all_results(pipeline, full + mini)
    assert_exactly_once(results, full + mini)
    assert all(r.ok for r in results)
    assert_answers_match(results, full + mini)


# --- crashes -------------------------------------------------------------------------------


def kill_hard(p: Pipeline, service: str) -> None:
    proc = p.running.pop(service)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)


async def test_services_killed_and_restarted_mid_lifecycle(rigs: dict[str, Rig]) -> None:
    p = rigs["kill"].pipeline
    first = make_requests(30)
    await p.produce(LLM_REQUESTS, [(r.custom_id, r) for r in first])

    async def submitted() -> bool:
        conn = await p.db()
        try:
            n = await conn.fetchval(
                "SELECT count(*) FROM llm_batches WHERE provider_batch_id IS NOT NULL"
            )
        finally:
            await conn.close()
        return int(n) >= 2

    await wait_until(submitted, 30, 0.1)
    # Batches are in flight: the poller dies hard (SIGKILL to its process group), the builder
    # is stopped gracefully (SIGTERM); more requests arrive while both are down.
    kill_hard(p, "batch_poller")
    p.stop(["batch_builder"])
    second = make_requests(12)
    await p.produce(LLM_REQUESTS, [(r.custom_id, r) for r in second])
    p.start(SERVICES)
    results = await wait_all_results(p, first + second, timeout_s=150)
    assert_exactly_once(results, first + second)
    assert all(r.ok for r in results)
    assert_answers_match(results, first + second)


async def test_builder_killed_during_sync_calls_recalls_only_unfinished(
    rigs: dict[str, Rig],
) -> None:
    # Sync path (backlog below the threshold); every call takes 1.5 s in the emulator.
    emu, p = rigs["sync"].emulator, rigs["sync"].pipeline
    requests = make_requests(6)
    await p.produce(LLM_REQUESTS, [(r.custom_id, r) for r in requests])

    async def some_finished() -> bool:
        rows = await item_rows(p, requests)
        return any(row["status"] in ("emitting", "done") for row in rows.values())

    await wait_until(some_finished, 30, 0.05)
    kill_hard(p, "batch_builder")
    rows = await item_rows(p, requests)
    finished = {cid for cid, row in rows.items() if row["status"] in ("emitting", "done")}
    in_call = {cid for cid, row in rows.items() if row["status"] == "sync"}
    assert in_call, "the kill should land while calls are in flight"
    calls_before = emu.stats()["requests_by_endpoint"].get("chat.completions", 0)
    # A new builder instance takes over: the dead one's advisory lock went with its connection.
    settings = rig_settings(p, emu)
    pool = await db.create_pool(settings.postgres)
    store = LLMStore(pool)
    try:
        await store.register()
        client = make_client(settings.llm, max_retries=0)
        builder = BatchBuilder(settings, store, client, KafkaPublisher(p))
        await builder.recover()
        await asyncio.sleep(1.1)  # released items settle, then the flush calls them

        async def flushed() -> bool:
            await builder.flush()
            return await items_done(p, requests)

        await wait_until(flushed, 30, 0.2)
    finally:
        await store.unregister()
        await pool.close()
    results = await wait_all_results(p, requests)
    assert_exactly_once(results, requests)
    assert all(r.ok and r.mode == "sync" for r in results)
    calls_after = emu.stats()["requests_by_endpoint"].get("chat.completions", 0)
    # Only the items without a stored result were asked again.
    assert calls_after - calls_before == len(requests) - len(finished)


def rig_settings(p: Pipeline, emu: ThreadedEmulator) -> Settings:
    env = p.env()
    llm = LLMSettings(
        base_url=emu.base_url,
        sync_threshold=int(env.get("CATALOG_LLM__SYNC_THRESHOLD", "100")),
        batch_max_age_s=0.5,
        timeout_s=10,
    )
    return Settings(
        llm=llm,
        postgres=PostgresSettings(dsn=SecretStr(p.dsn), pool_max=4),
        kafka=p.kafka,
    )


async def test_result_stored_before_a_crash_is_republished_not_recalled(
    rigs: dict[str, Rig],
) -> None:
    """The crash window between storing results and the broker ack, made deterministic: the
    first poller's publish dies; the poller process started afterwards re-publishes the stored
    results without downloading or billing anything again."""
    emu, p = rigs["crash"].emulator, rigs["crash"].pipeline
    settings = rig_settings(p, emu)
    requests = make_requests(6)
    await p.produce(LLM_REQUESTS, [(r.custom_id, r) for r in requests])

    async def batched() -> bool:
        rows = await item_rows(p, requests)
        return all(row["status"] == "batched" for row in rows.values())

    await wait_until(batched, 30, 0.1)

    class Crash(RuntimeError):
        pass

    async def crashing_publish(outgoing: Sequence[Outgoing]) -> None:
        raise Crash("process died before the broker acknowledged")

    pool = await db.create_pool(settings.postgres)
    dying = LLMStore(pool)
    try:
        await dying.register()
        client = make_client(settings.llm, max_retries=0)
        poller = BatchPoller(settings, dying, client, crashing_publish)

        async def crashed() -> bool:
            try:
                await poller.poll()  # nothing to do until the emulator has finished the batch
            except Crash:
                return True
            return False

        await wait_until(crashed, 20, 0.2)
        rows = await item_rows(p, requests)
        assert {row["status"] for row in rows.values()} == {"emitting"}
        spent_before = await spent(p)
    finally:
        await dying.unregister()  # what Postgres does when a killed process's connection drops
        await pool.close()
    files_before = emu.stats()["requests_by_endpoint"].get("files.content", 0)
    p.start(["batch_poller"])
    results = await wait_all_results(p, requests, timeout_s=90)
    assert_exactly_once(results, requests)
    assert all(r.ok for r in results)
    assert_answers_match(results, requests)
    assert emu.stats()["requests_by_endpoint"].get("files.content", 0) == files_before
    assert await spent(p) == spent_before


async def spent(p: Pipeline) -> float:
    conn = await p.db()
    try:
        return float(await conn.fetchval("SELECT coalesce(sum(cost_usd), 0) FROM llm_spend"))
    finally:
        await conn.close()


# --- resilience and budget ----------------------------------------------------------------


async def test_sync_path_retries_then_breaker_holds_items(rigs: dict[str, Rig]) -> None:
    emu, p = rigs["breaker"].emulator, rigs["breaker"].pipeline
    requests = make_requests(4)
    await p.produce(LLM_REQUESTS, [(r.custom_id, r) for r in requests])

    async def breaker_open() -> bool:
        return 'catalog_llm_breaker_state{model="gpt-5-mini"} 2.0' in p.metrics("batch_builder")

    async def all_pending() -> bool:
        rows = await item_rows(p, requests)
        return len(rows) == len(requests) and all(
            row["status"] == "pending" for row in rows.values()
        )

    try:
        await wait_until(breaker_open, 30, 0.1)
        text = p.metrics("batch_builder")
        assert 'catalog_llm_retries_total{model="gpt-5-mini",operation="chat",reason="5xx"}' in text
        # While the circuit is open, items are given back (pending), not failed.
        await wait_until(all_pending, 10, 0.1)
        assert await results_for(p, requests) == []
        emu.set_faults({"error_rate_500": 0.3})  # the provider recovers, mostly
        results = await wait_all_results(p, requests, timeout_s=60)
    finally:
        emu.reset_faults()
    assert_exactly_once(results, requests)
    assert any(r.ok for r in results)
    assert_answers_match(results, requests)


async def test_budget_exhausted_sends_nothing_and_says_so(
    stack: Stack, rigs: dict[str, Rig]
) -> None:
    emu, p = rigs["budget"].emulator, rigs["budget"].pipeline
    requests = make_requests(5)
    await p.produce(LLM_REQUESTS, [(r.custom_id, r) for r in requests])

    async def budget_down() -> bool:
        status, body = p.health("batch_builder")
        return status == 503 and "llm_budget" in json.dumps(body)

    await wait_until(budget_down, 30, 0.3)
    assert "catalog_llm_budget_exhausted 1.0" in p.metrics("batch_builder")

    async def touched() -> list[Any]:
        conn = await p.db()
        try:
            sql = "SELECT updated_at FROM llm_batch_items WHERE custom_id = ANY($1) ORDER BY 1"
            return [r[0] for r in await conn.fetch(sql, [r.custom_id for r in requests])]
        finally:
            await conn.close()

    refused = await touched()
    await asyncio.sleep(2.0)  # several flushes later, still nothing sent
    assert emu.stats()["requests_by_endpoint"] == {}
    rows = await item_rows(p, requests)
    assert len(rows) == len(requests)
    assert {row["status"] for row in rows.values()} == {"pending"}
    # Nor claimed and given back again at each flush: the budget's room has not grown.
    assert await touched() == refused
    assert await results_for(p, requests) == []
    log = (stack.root / "logs" / f"{p.prefix}batch_builder.log").read_text()
    assert '"level": "ERROR"' in log and "budget" in log
