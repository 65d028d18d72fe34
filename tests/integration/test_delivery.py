"""At-least-once delivery against the real stack: failed sends and handlers are retried without
committing early, hostile input is dead-lettered (bounded) while every valid listing around it
comes out, and a Postgres outage is waited out without dead-lettering anything."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import random
import threading
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.structs import TopicPartition
from pydantic import SecretStr

from catalog.devstack.stack import Stack, free_port
from catalog.kafka.admin import create_topics
from catalog.kafka.codec import encode
from catalog.kafka.dead_letters import OriginalStore
from catalog.kafka.failures import FaultInjector, OutputTooLarge
from catalog.kafka.loop import ConsumeLoop, Handler, Incoming, Outgoing, Result, Send, Sender
from catalog.kafka.topics import DLQ, LLM_REQUESTS, LLM_RESULTS, RAW, ROUTED, TopicSpec
from catalog.settings import FaultSettings, PostgresSettings, Settings
from schemas.models import DeadLetter, RawListing
from tests.integration.harness import (
    Pipeline,
    committed_total,
    create_database,
    start_pipeline,
    wait_until,
)
from tests.integration.test_batch_lifecycle import make_requests
from tests.integration.test_review_cli import cli

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

# Titles the rules tier answers, so router -> cache-lookup -> persister is the whole path.
TITLES = [
    ("Leche Entera Soprole 1 L", "Lácteos"),
    ("Bebida Coca-Cola Original 2 L", "Bebidas"),
    ("Celular Samsung Galaxy A35 5G 256GB Azul", "Celulares"),
    ("Perfume Carolina Herrera 212 VIP Men EDT 100 ml", "Perfumes"),
]
# Short retries; and a short session, because the embedded broker holds a group join for half
# the session timeout (5 s at the stack's 10 s; each test here restarts services).
FAST = {
    "CATALOG_KAFKA__RETRY_BASE_S": "0.1",
    "CATALOG_KAFKA__RETRY_MAX_S": "1",
    "CATALOG_KAFKA__SESSION_TIMEOUT_S": "4",
}


def valid_listings(run: str, retailers: Iterable[str]) -> list[RawListing]:
    return [
        RawListing(retailer=r, sku=f"{run}-{i}", name=t, price=9990 + i, category=c)
        for r in retailers
        for i, (t, c) in enumerate(TITLES)
    ]


async def fetch(pipeline: Pipeline, sql: str, *args: object) -> list[Any]:
    conn = await pipeline.db()
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


async def persisted(pipeline: Pipeline, keys: list[str]) -> int:
    rows = await fetch(
        pipeline, "SELECT count(*) AS n FROM listings WHERE listing_key = ANY($1)", keys
    )
    return int(rows[0]["n"])


async def committed(pipeline: Pipeline, service: str, spec: Any) -> int:
    """Offsets committed by a service's group on a topic, summed over partitions."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=pipeline.stack.kafka_bootstrap,
        group_id=f"{pipeline.prefix}catalog-{service}",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        name = pipeline.topic(spec)
        tps = [TopicPartition(name, p) for p in range(pipeline.kafka.partitions or 1)]
        return sum([(await consumer.committed(tp)) or 0 for tp in tps])
    finally:
        await consumer.stop()


def faults(send: float, handler: float) -> dict[str, str]:
    return {"CATALOG_FAULTS__SEND_RATE": str(send), "CATALOG_FAULTS__HANDLER_RATE": str(handler)}


def restart(pipeline: Pipeline, service: str, env: dict[str, str]) -> None:
    pipeline.stop([service])
    pipeline.extra_env.update(env)
    pipeline.start([service])


def log_of(pipeline: Pipeline, service: str) -> str:
    return (pipeline.stack.root / "logs" / f"{pipeline.prefix}{service}.log").read_text()


# -- the producer, on its own -----------------------------------------------------------------


async def test_a_record_the_broker_can_never_take_is_named_and_the_rest_are_acknowledged(
    stack: Stack,
) -> None:
    # A pipeline object only to name and read topics; no service is started.
    topics = Pipeline(stack, f"t{uuid.uuid4().hex[:8]}.", "")
    kafka = topics.kafka
    await create_topics(kafka, (ROUTED,))
    settings = Settings(kafka=kafka.model_copy(update={"max_request_bytes": 100_000}))
    sender = Sender(settings, FaultInjector(FaultSettings(), "test"), "test-sender")
    await sender.start()
    topic = ROUTED.full_name(kafka)
    try:
        small = [Send(topic, f"k{i}".encode(), b"v" * 100, [], source=i) for i in range(3)]
        huge = Send(topic, b"big", b"x" * 200_000, [], source=7)
        with pytest.raises(OutputTooLarge) as caught:
            await sender.send_all([*small, huge])
        assert caught.value.index == 7 and caught.value.size == 200_000
        # What was handed over before the refusal is acknowledged, not left in flight.
        assert sorted(k for k, _ in await topics.read(ROUTED)) == ["k0", "k1", "k2"]
    finally:
        await sender.stop()


# -- failed sends and handlers ----------------------------------------------------------------


async def test_a_failing_send_commits_nothing_and_loses_nothing(stack: Stack) -> None:
    # Every send phase fails part-way: the router must commit nothing and dead-letter nothing.
    pipeline = await start_pipeline(
        stack, {**FAST, **faults(send=1.0, handler=0.0)}, services=("router",)
    )
    run = uuid.uuid4().hex[:6]
    listings = valid_listings(run, ("lider", "jumbo", "paris"))
    keys = {x.listing_key for x in listings}
    try:
        await pipeline.produce(RAW, [(x.listing_key, x) for x in listings])

        async def retried() -> bool:
            return "injected send fault" in log_of(pipeline, "router")

        await wait_until(retried, 30)
        await asyncio.sleep(1)
        assert await committed(pipeline, "router", RAW) == 0
        _, report = pipeline.health("router")
        assert report["delivery"]["state"] == "retrying"
        assert report["delivery"]["waiting_on"] == "injected"
        metrics = pipeline.metrics("router")
        assert 'catalog_faults_injected_total{service="router",where="send"}' in metrics
        assert 'catalog_delivery_retries_total{reason="injected",service="router"}' in metrics

        # Sends work again (after a SIGTERM and a restart): everything comes out.
        restart(pipeline, "router", faults(send=0.0, handler=0.0))
        await pipeline.wait_ready(["router"])

        async def routed_all() -> bool:
            out = {k for k, _ in await pipeline.read(ROUTED)}
            return keys <= out

        await wait_until(routed_all, 60)
        # Every raw message committed once it was routed, and nothing dead-lettered.
        await wait_until(lambda: _committed_is(pipeline, "router", len(listings)), 30)
        assert await pipeline.read(DLQ) == []
    finally:
        pipeline.stop()


# -- the loop in process: handler faults, rebalances, shutdown --------------------------------


ECHO = TopicSpec("test.echo.v1", RawListing, "retailer:sku", 2)


class Echo:
    """A handler that passes each listing on to an echo topic. With `hold_after`, the calls
    after that many wait for `release`: a batch stays in flight while the test rebalances."""

    def __init__(self, hold_after: int | None = None) -> None:
        self.calls = 0
        self.hold_after = hold_after
        self.release = asyncio.Event()

    async def __call__(self, batch: Sequence[Incoming[Any]]) -> list[Result]:
        self.calls += 1
        if self.hold_after is not None and self.calls > self.hold_after:
            await self.release.wait()
        return [[Outgoing(ECHO, item.value.listing_key, item.value)] for item in batch]


async def all_healthy() -> list[str]:
    return []


def echo_loop(
    topics: Pipeline,
    rates: FaultSettings,
    handler: Echo | None = None,
    max_request_bytes: int = 1_048_576,
) -> ConsumeLoop:
    kafka = topics.kafka.model_copy(
        update={
            "session_timeout_s": 4.0, "retry_base_s": 0.05, "retry_max_s": 0.5,
            "batch_max": 10, "max_request_bytes": max_request_bytes,
        }
    )  # fmt: skip
    postgres = PostgresSettings(dsn=SecretStr(topics.dsn)) if topics.dsn else PostgresSettings()
    settings = Settings(kafka=kafka, faults=rates, postgres=postgres)
    return consume_loop(settings, handler or Echo())


def consume_loop(settings: Settings, handler: Handler) -> ConsumeLoop:
    """An "echo" service's loop on `RAW` with `handler`, faults as `settings.faults` says."""
    faults = FaultInjector(settings.faults, "echo")
    sender = Sender(settings, faults, "echo")
    originals = OriginalStore(settings.postgres)
    return ConsumeLoop("echo", settings, {RAW: handler}, sender, originals, all_healthy, faults)


async def run_loop(loop: ConsumeLoop) -> None:
    await loop.sender.start()
    loop.start()


async def stop_loop(loop: ConsumeLoop) -> None:
    await loop.stop(5.0)
    await loop.sender.stop()


def numbered_listings(tag: str, count: int) -> list[RawListing]:
    """`count` distinct listings of one store, skus `<tag>-<n>`."""
    return [
        RawListing(retailer="lider", sku=f"{tag}-{i}", name=f"Producto {i}", price=1000 + i)
        for i in range(count)
    ]


async def test_handler_faults_rebalances_and_shutdown_lose_nothing(stack: Stack) -> None:
    topics = Pipeline(stack, f"t{uuid.uuid4().hex[:8]}.", "")
    await create_topics(topics.kafka, (RAW, ECHO))
    listings = numbered_listings("echo", 300)
    keys = {x.listing_key for x in listings}
    await topics.produce(RAW, [(x.listing_key, x) for x in listings])

    # Every handler call fails: nothing is committed, nothing dead-lettered.
    failing = echo_loop(topics, FaultSettings(handler_rate=1.0))
    await run_loop(failing)
    try:
        await wait_until(lambda: _async(failing.status.consecutive_failures >= 3), 30)
        assert failing.status.waiting_on == "injected"
        assert await committed(topics, "echo", RAW) == 0
    finally:
        await stop_loop(failing)

    # Two instances with a fifth of handler calls and send phases failing. The second joins while
    # the first has a batch in flight; then the first shuts down while the second consumes.
    rates = FaultSettings(handler_rate=0.2, send_rate=0.2)
    held = Echo(hold_after=3)
    first, second = echo_loop(topics, rates, held), echo_loop(topics, rates)
    await run_loop(first)
    try:

        async def echoed() -> set[str]:
            return {k for k, _ in await topics.read(ECHO) if k is not None}

        await wait_until(lambda: _async(held.calls > held.hold_after), 30)  # type: ignore[operator]
        await run_loop(second)
        await asyncio.sleep(1.0)  # the second is joining: the group is rebalancing
        assert len(await echoed()) < len(keys)
        held.release.set()
        await wait_until(lambda: _async(bool(second.consumer and second.consumer.assignment())), 30)
        await stop_loop(first)
        await wait_until(lambda: _async(len(second.consumer.assignment()) == 2), 15)  # type: ignore[union-attr]
        await wait_until(lambda: _committed_is_of(topics, "echo", len(listings)), 90)
        assert keys <= await echoed()
        assert await topics.read(DLQ) == []
    finally:
        held.release.set()
        await stop_loop(first)
        await stop_loop(second)


async def test_a_failing_commit_is_waited_out_and_loses_nothing(stack: Stack) -> None:
    topics = Pipeline(stack, f"t{uuid.uuid4().hex[:8]}.", "")
    await create_topics(topics.kafka, (RAW, ECHO))
    listings = numbered_listings("commit", 120)
    keys = {x.listing_key for x in listings}
    await topics.produce(RAW, [(x.listing_key, x) for x in listings])

    async def echoed() -> list[str]:
        return [k for k, _ in await topics.read(ECHO) if k is not None]

    # Every commit fails: the loop waits at its next commit instead of running ahead, retries
    # no message and dead-letters nothing; the batches it handled are echoed but not committed.
    failing = echo_loop(topics, FaultSettings(commit_rate=1.0))
    await run_loop(failing)
    try:
        await wait_until(lambda: _async(failing.status.consecutive_failures >= 3), 30)
        assert failing.status.waiting_on == "injected"
        handled = len(await echoed())
        assert 0 < handled <= 20  # one batch committing, the next one waiting for it
        assert await committed(topics, "echo", RAW) == 0
    finally:
        await stop_loop(failing)

    # Half of the commits fail: each is retried until it succeeds, and everything is committed
    # and echoed with nothing dead-lettered.
    flaky = echo_loop(topics, FaultSettings(commit_rate=0.5))
    await run_loop(flaky)
    try:
        await wait_until(lambda: _committed_is_of(topics, "echo", len(listings)), 60)
        assert keys <= set(await echoed())
        assert await topics.read(DLQ) == []
        assert flaky.status.waiting_on is None
    finally:
        await stop_loop(flaky)


async def test_an_output_too_large_to_send_dead_letters_only_its_input(stack: Stack) -> None:
    prefix = f"t{uuid.uuid4().hex[:8]}."
    dsn = await create_database(stack, prefix.rstrip(".").replace(".", "_"))
    topics = Pipeline(stack, prefix, dsn)
    await create_topics(topics.kafka, (RAW, ECHO, DLQ))
    listings = numbered_listings("big", 6)
    # Within the raw topic's limit, but its echo exceeds this producer's 64 KiB requests.
    listings[3] = listings[3].model_copy(update={"attributes": {"ficha": "x" * 100_000}})
    await topics.produce(RAW, [(x.listing_key, x) for x in listings])
    loop = echo_loop(topics, FaultSettings(), max_request_bytes=65_536)
    await run_loop(loop)
    try:
        await wait_until(lambda: _committed_is_of(topics, "echo", len(listings)), 60)
    finally:
        await stop_loop(loop)
        await loop.originals.close()
    echoed = {k for k, _ in await topics.read(ECHO)}
    assert echoed == {x.listing_key for i, x in enumerate(listings) if i != 3}
    (letter,) = await topics.read_models(DLQ)
    assert letter.error_type == "output_too_large" and letter.truncated
    original = encode(listings[3])
    rows = await fetch(topics, "SELECT id, value_b64, value_size FROM dead_letters")
    assert letter.original_ref == f"postgres:dead_letters/{rows[0]['id']}"
    assert base64.b64decode(rows[0]["value_b64"]) == original
    assert rows[0]["value_size"] == letter.value_size == len(original)


async def _async(value: bool) -> bool:
    return value


async def _async_nonempty(read: Any) -> bool:
    return bool(await read())


async def _committed_is_of(pipeline: Pipeline, service: str, want: int) -> bool:
    return await committed(pipeline, service, RAW) == want


async def _committed_is(pipeline: Pipeline, service: str, want: int) -> bool:
    return await committed(pipeline, service, RAW) == want


# -- LLM results published from timers ----------------------------------------------------


async def test_llm_results_are_done_only_once_the_broker_has_them(stack: Stack) -> None:
    # Every publish fails: the sync calls are made and stored, but no row may become done.
    pipeline = await start_pipeline(
        stack, {**FAST, **faults(send=1.0, handler=0.0)}, services=("batch_builder",)
    )
    requests = make_requests(5)
    ids = [r.custom_id for r in requests]

    async def statuses() -> dict[str, int]:
        rows = await fetch(
            pipeline,
            "SELECT status, count(*) AS n FROM llm_batch_items WHERE custom_id = ANY($1) "
            "GROUP BY status",
            ids,
        )
        return {r["status"]: r["n"] for r in rows}

    try:
        await pipeline.produce(LLM_REQUESTS, [(r.custom_id, r) for r in requests])

        async def stored_not_done() -> bool:
            return (await statuses()).get("emitting") == len(ids)

        await wait_until(stored_not_done, 60)
        await asyncio.sleep(1.5)  # several flushes, each failing to publish
        assert await statuses() == {"emitting": len(ids)}

        # Publishing works again: the stored results go out (not called again) and are done.
        restart(pipeline, "batch_builder", faults(send=0.0, handler=0.0))
        await pipeline.wait_ready(["batch_builder"])

        async def all_done() -> bool:
            return await statuses() == {"done": len(ids)}

        await wait_until(all_done, 60)
        published = {k for k, _ in await pipeline.read(LLM_RESULTS)}
        assert set(ids) <= published
        assert "re-publishing" in log_of(pipeline, "batch_builder")
        spend = await fetch(
            pipeline, "SELECT coalesce(sum(requests), 0) AS n FROM llm_spend WHERE mode = 'sync'"
        )
        assert spend[0]["n"] == len(ids)  # each request billed once
    finally:
        pipeline.stop()


# -- hostile input ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Hostile:
    label: str
    key: bytes | None
    value: bytes | None
    # The listing key it may come out under when the platform normalizes it instead.
    listing_key: str | None = None


def hostile_messages(run: str) -> list[Hostile]:
    """What a broken or malicious scraper could send."""
    rng = random.Random(11)

    def big(description: str) -> bytes:
        return encode(
            RawListing(
                retailer="lider", sku=f"{run}-huge", name="Leche Entera Soprole 1 L", price=990,
                attributes={"descripcion": description},
            )
        )  # fmt: skip

    big_bytes = big("x" * (1_000_075 - len(big(""))))
    assert len(big_bytes) == 1_000_075
    ok = {"retailer": "jumbo", "name": "Arroz Tucapel 1 kg", "price": 1290}
    # JSON escapes: the contract accepts them, and they decode to a NUL (which Postgres text
    # refuses), a right-to-left override and markup.
    hostile_text = "Leche Entera Soprole 1 L\\u0000 \\u202e<script>alert(1)</script>"
    return [
        Hostile("over 1 MB", f"lider:{run}-huge".encode(), big_bytes),
        Hostile("binary garbage", f"x:{run}-bin".encode(), rng.randbytes(4096)),
        Hostile("malformed JSON", f"x:{run}-json".encode(), b'{"retailer": "jumbo", "sku": '),
        Hostile("wrong schema", f"x:{run}-schema".encode(), b'{"product": "leche", "cost": 3}'),
        Hostile(
            "huge string",
            f"x:{run}-long".encode(),
            json.dumps({**ok, "sku": f"{run}-long", "name": "A" * 90_000}).encode(),
        ),
        Hostile(
            "hostile strings",
            f"jumbo:{run}-hostile".encode(),
            (
                f'{{"retailer": "jumbo", "sku": "{run}-hostile", "price": 1290, '
                f'"category": "Lácteos", "brand": "Soprole\'; DROP TABLE listings;--", '
                f'"name": "{hostile_text}", "attributes": {{"color\\u0000": "\\u0007"}}}}'
            ).encode(),
            listing_key=f"jumbo:{run}-hostile",
        ),
        Hostile(
            "wrong types",
            f"x:{run}-types".encode(),
            json.dumps({"retailer": 7, "sku": ["a"], "name": {"x": 1}, "price": "gratis"}).encode(),
        ),
        Hostile("empty value", f"x:{run}-empty".encode(), b""),
        Hostile("null value", f"x:{run}-tombstone".encode(), None),
        Hostile(
            "null key",
            None,
            json.dumps({**ok, "sku": f"{run}-nullkey"}).encode(),
            listing_key=f"jumbo:{run}-nullkey",
        ),
        Hostile("deeply nested", f"x:{run}-nested".encode(), b'{"a":' * 50_000 + b"1" + b"}" * 50_000),  # noqa: E501
        Hostile(
            "not UTF-8",
            f"x:{run}-latin1".encode(),
            b'{"retailer": "jumbo", "sku": "\xf1and\xfa", "name": "Caf\xe9 250 g", "price": 4990}',
        ),
        Hostile("huge key", b"k" * 200_000, b"\x00\x01 not json"),
        Hostile(
            "absurd price",
            f"jumbo:{run}-price".encode(),
            json.dumps({**ok, "sku": f"{run}-price", "price": -5}).encode(),
        ),
    ]  # fmt: skip


async def outcomes(
    pipeline: Pipeline, hostile: list[Hostile], where: dict[str, tuple[int, int]]
) -> dict[str, list[Any]]:
    """Per hostile message: its dead letters (by source position on the raw topic, or by
    listing key when a later service gave up on it) and its persisted listing, if any."""
    rows = await fetch(
        pipeline,
        """SELECT id, service, topic, partition, "offset", error_type, key_b64, value_b64,
                  value_size, value_sha256, truncated_on_topic FROM dead_letters""",
    )
    raw = pipeline.topic(RAW)
    listing_keys = [h.listing_key for h in hostile if h.listing_key]
    done = {
        r["listing_key"]
        for r in await fetch(
            pipeline, "SELECT listing_key FROM listings WHERE listing_key = ANY($1)", listing_keys
        )
    }
    out: dict[str, list[Any]] = {}
    for h in hostile:
        key_b64 = base64.b64encode(h.listing_key.encode()).decode() if h.listing_key else None
        out[h.label] = [
            r
            for r in rows
            if (r["topic"] == raw and (r["partition"], r["offset"]) == where[h.label])
            or (key_b64 is not None and r["topic"] != raw and r["key_b64"] == key_b64)
        ]
        if h.listing_key in done:
            out[h.label].append("persisted")
    return out


async def test_hostile_messages_are_dead_lettered_once_and_valid_listings_come_out(
    stack: Stack, tmp_path: Path
) -> None:
    run = uuid.uuid4().hex[:6]
    valid = valid_listings(run, ("lider", "jumbo", "paris"))
    hostile = hostile_messages(run)
    pipeline = await start_pipeline(stack, FAST, services=("router", "cache_lookup", "persister"))
    producer = AIOKafkaProducer(bootstrap_servers=stack.kafka_bootstrap, max_request_size=4_000_000)
    await producer.start()
    where: dict[str, tuple[int, int]] = {}
    topic = pipeline.topic(RAW)
    try:
        # Valid and hostile interleaved: each hostile message sits between valid listings.
        for i in range(max(len(valid), len(hostile))):
            if i < len(valid):
                good = valid[i]
                await producer.send_and_wait(
                    topic, key=good.listing_key.encode(), value=encode(good)
                )
            if i < len(hostile):
                h = hostile[i]
                meta = await producer.send_and_wait(topic, key=h.key, value=h.value)
                where[h.label] = (meta.partition, meta.offset)
    finally:
        await producer.stop()

    try:
        keys = [x.listing_key for x in valid]
        await wait_until(lambda: _all_persisted(pipeline, keys), 90)

        async def settled() -> bool:
            return all((await outcomes(pipeline, hostile, where)).values())

        await wait_until(settled, 90)
        await asyncio.sleep(2)  # a duplicate would show up now
        seen = await outcomes(pipeline, hostile, where)
        for h in hostile:
            # Exactly one outcome each: one dead letter, or (only where it makes sense) one
            # normalized listing.
            assert len(seen[h.label]) == 1, (h.label, seen[h.label])
            if h.listing_key is None:
                assert seen[h.label][0] != "persisted", h.label
        by_label = {label: found[0] for label, found in seen.items()}
        assert by_label["absurd price"]["error_type"] == "business_rule"
        for label in (
            "binary garbage",
            "malformed JSON",
            "wrong schema",
            "huge string",
            "wrong types",
            "empty value",
            "null value",
            "deeply nested",
            "not UTF-8",
        ):
            assert by_label[label]["error_type"] == "contract_error", label  # fmt: skip

        # Every audit row knows the size and hash of its original; small ones travel whole.
        for h in hostile[1:4]:
            row, value = by_label[h.label], h.value or b""
            assert not row["truncated_on_topic"] and base64.b64decode(row["value_b64"]) == value
            assert row["value_size"] == len(value)
            assert row["value_sha256"] == hashlib.sha256(value).hexdigest()
        # A NUL in the title passes the contract; Postgres refuses it, so the persister finds
        # it poison (after retrying it alone) and dead-letters it alone.
        hostile_outcome = by_label["hostile strings"]
        assert hostile_outcome == "persisted" or hostile_outcome["error_type"] == "processing_error"

        # The oversized listing: whole in Postgres with size and hash; the topic, a prefix.
        big = hostile[0].value
        assert big is not None
        stored = by_label["over 1 MB"]
        assert stored["truncated_on_topic"] and stored["error_type"] == "contract_error"
        assert stored["value_size"] == len(big) == 1_000_075
        assert stored["value_sha256"] == hashlib.sha256(big).hexdigest()
        assert base64.b64decode(stored["value_b64"]) == big
        assert by_label["huge key"]["truncated_on_topic"]
        letters = await pipeline.read(DLQ)
        assert all(len(v) < 1_048_576 for _, v in letters)
        on_topic = [
            d
            for d in (DeadLetter.model_validate_json(v) for _, v in letters)
            if (d.partition, d.offset) == where["over 1 MB"] and d.topic == topic
        ]
        assert on_topic and all(d.truncated for d in on_topic)
        assert on_topic[0].original_ref == f"postgres:dead_letters/{stored['id']}"
        assert on_topic[0].value_sha256 == stored["value_sha256"]
        assert on_topic[0].value_size == 1_000_075
        # The operator's way back to the original, byte for byte.
        exported = tmp_path / "original.bin"
        shown = await cli(pipeline, "dlq", "show", str(stored["id"]))
        assert shown.exit_code == 0, shown.output
        assert "1,000,075 bytes" in shown.output and "kept whole here only" in shown.output
        result = await cli(pipeline, "dlq", "export", str(stored["id"]), "-o", str(exported))
        assert result.exit_code == 0, result.output
        assert exported.read_bytes() == big

        # No consume loop crashed: every service still runs and is ready.
        for service in ("router", "cache_lookup", "persister"):
            assert pipeline.running[service].poll() is None, service
            assert pipeline.ready(service), service
            assert "consume loop crashed" not in log_of(pipeline, service)
    finally:
        pipeline.stop()


async def _all_persisted(pipeline: Pipeline, keys: list[str]) -> bool:
    return await persisted(pipeline, keys) == len(keys)


# -- a dependency outage ----------------------------------------------------------------------


class TcpGate:
    """A TCP proxy to Postgres the test can close: open connections are cut and new ones
    refused, which is what the services see when the database goes away. It runs its own event
    loop in a thread, so the test's blocking HTTP probes never stall the proxied traffic."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    def open(self) -> None:
        self._call(self._open())

    def close(self) -> None:
        self._call(self._close())

    def shutdown(self) -> None:
        self.close()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    async def _open(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def _close(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
        for writer in list(self.writers):
            writer.transport.abort()
        self.writers.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.transport.abort()
            return
        self.writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.IncompleteReadError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self.writers -= {writer, up_writer}


async def test_a_postgres_outage_is_waited_out_without_dead_letters(stack: Stack) -> None:
    """Postgres is reached through a proxy the test closes: first while the services start,
    then while listings flow."""
    gate = TcpGate(stack.ports.postgres)
    prefix = f"t{uuid.uuid4().hex[:8]}."
    name = prefix.rstrip(".").replace(".", "_")
    real_dsn = await create_database(stack, name)
    gated_dsn = f"postgresql://postgres@127.0.0.1:{gate.port}/{name}"
    env = {
        **FAST,
        "CATALOG_POSTGRES__DSN": gated_dsn,
        "CATALOG_POSTGRES__COMMAND_TIMEOUT_S": "3",
    }
    pipeline = Pipeline(stack, prefix, real_dsn, env)
    await create_topics(pipeline.kafka)
    run = uuid.uuid4().hex[:6]
    try:
        # Down at start: the services wait for it instead of hanging unready.
        pipeline.start(("router", "cache_lookup", "persister"))
        before = valid_listings(f"{run}a", ("lider",))
        await pipeline.produce(RAW, [(x.listing_key, x) for x in before])

        async def persister_waits_to_start() -> bool:
            try:
                status, report = pipeline.health("persister")
            except OSError:
                return False
            return status == 503 and report["delivery"]["state"] == "starting"

        await wait_until(persister_waits_to_start, 30)
        # The error names what it cannot reach: the database's address.
        assert str(gate.port) in pipeline.health("persister")[1]["delivery"]["error"]
        gate.open()
        await pipeline.wait_ready()
        await wait_until(lambda: _all_persisted(pipeline, [x.listing_key for x in before]), 60)

        # Down while listings flow: nothing is dead-lettered, everything comes out after.
        gate.close()
        during = valid_listings(f"{run}b", ("lider", "jumbo", "paris"))
        await pipeline.produce(RAW, [(x.listing_key, x) for x in during])

        async def persister_sees_it() -> bool:
            status, report = pipeline.health("persister")
            return status == 503 and report["dependencies"]["postgres"].startswith("down")

        await wait_until(persister_sees_it, 20)
        await asyncio.sleep(4)  # messages keep arriving at a service that cannot write
        gate.open()

        await wait_until(lambda: _all_persisted(pipeline, [x.listing_key for x in during]), 90)
        assert await fetch(pipeline, "SELECT id FROM dead_letters") == []
        assert await pipeline.read(DLQ) == []
        retries = pipeline.metrics("persister")
        assert 'catalog_delivery_retries_total{reason="postgres",service="persister"}' in retries
        for service in ("router", "cache_lookup", "persister"):
            assert pipeline.running[service].poll() is None, service
        await wait_until(lambda: asyncio.to_thread(pipeline.ready, "persister"), 30)
    finally:
        pipeline.stop()
        gate.shutdown()


# -- batched sends: partitions, order and a failed send phase ---------------------------------


WIDE = TopicSpec("test.wide.v1", RawListing, "retailer:sku", 6)
PER_RECORD = TopicSpec("test.per-record.v1", RawListing, "retailer:sku", 6)


async def read_placed(
    stack: Stack, topic: str, partitions: int
) -> list[tuple[int, str, bytes, dict[str, bytes]]]:
    """Every record on a topic as (partition, key, value, headers), each partition in order."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=stack.kafka_bootstrap, enable_auto_commit=False, fetch_max_wait_ms=20
    )
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        out: list[tuple[int, str, bytes, dict[str, bytes]]] = []
        while True:
            fetched = await consumer.getmany(timeout_ms=300)
            for tp, records in fetched.items():
                out.extend(
                    (tp.partition, r.key.decode(), r.value, dict(r.headers))
                    for r in records
                    if r.key is not None and r.value is not None
                )
            behind = any([await consumer.position(tp) < ends[tp] for tp in tps])
            if not fetched and not behind:
                return out
    finally:
        await consumer.stop()


async def test_batched_sends_keep_each_keys_partition_order_and_headers(stack: Stack) -> None:
    topics = Pipeline(stack, f"t{uuid.uuid4().hex[:8]}.", "")
    kafka = topics.kafka.model_copy(update={"partitions": 6})
    await create_topics(kafka, (WIDE, PER_RECORD))
    wide, per_record = WIDE.full_name(kafka), PER_RECORD.full_name(kafka)
    # 40 keys, 5 records each, interleaved; 2 KB values fill a 16 KiB producer batch after a
    # few records, so every partition gets several batches.
    keys = [f"lider:sku-{i}" for i in range(40)]
    sequence = [(key, step) for step in range(5) for key in keys]

    def value(key: str, step: int) -> bytes:
        return f"{key}|{step}|".encode() + b"v" * 2000

    # The per-record path the producer takes on its own: which partition each key gets.
    plain = AIOKafkaProducer(bootstrap_servers=stack.kafka_bootstrap)
    await plain.start()
    try:
        for key, step in sequence:
            await plain.send(per_record, key=key.encode(), value=value(key, step))
        await plain.flush()
    finally:
        await plain.stop()

    settings = Settings(kafka=kafka.model_copy(update={"max_batch_bytes": 16_384}))
    sender = Sender(settings, FaultInjector(FaultSettings(), "test"), "test-sender")
    await sender.start()
    try:
        await sender.send_all(
            [
                Send(wide, k.encode(), value(k, s), [("step", str(s).encode())], source=i)
                for i, (k, s) in enumerate(sequence)
            ]
        )
    finally:
        await sender.stop()

    expected = {k: p for p, k, _, _ in await read_placed(stack, per_record, 6)}
    placed = await read_placed(stack, wide, 6)
    assert len(placed) == len(sequence)
    assert len({p for p, _, _, _ in placed}) == 6
    for key in keys:
        mine = [(p, v, h) for p, k, v, h in placed if k == key]
        assert {p for p, _, _ in mine} == {expected[key]}
        assert [v for _, v, _ in mine] == [value(key, s) for s in range(5)]
        assert [h["step"] for _, _, h in mine] == [str(s).encode() for s in range(5)]


class ScriptedSendFaults(FaultInjector):
    """Fails every send phase half-way through while `failing` is set, and records where."""

    def __init__(self) -> None:
        super().__init__(FaultSettings(), "echo")
        self.failing = True
        self.failed_at: list[int] = []

    def send_fault_at(self, count: int) -> int | None:
        if not self.failing or count < 1:
            return None
        self.failed_at.append(count // 2)
        return count // 2


class RecordingSender(Sender):
    """The real sender, remembering the records of each send phase."""

    def __init__(self, settings: Settings, faults: FaultInjector) -> None:
        super().__init__(settings, faults, "echo")
        self.phases: list[list[Send]] = []

    async def send_all(self, records: Sequence[Send]) -> None:
        self.phases.append(list(records))
        await super().send_all(records)


def spread_failure(sender: RecordingSender, faults: ScriptedSendFaults) -> bool:
    """At least three failed phases, one of them with records for two partitions or more of
    the output topic both before and after its fault."""
    six = list(range(6))

    def partitions(records: Sequence[Send]) -> int:
        return len({DefaultPartitioner()(r.key, six, six) for r in records})

    failed = zip(sender.phases, list(faults.failed_at), strict=False)
    spread = any(partitions(p[:at]) >= 2 and partitions(p[at:]) >= 2 for p, at in failed)
    return len(faults.failed_at) >= 3 and spread


class WideEcho:
    async def __call__(self, batch: Sequence[Incoming[Any]]) -> list[Result]:
        return [[Outgoing(WIDE, item.value.listing_key, item.value)] for item in batch]


async def test_a_send_phase_failing_across_partitions_commits_nothing_then_all_arrive(
    stack: Stack,
) -> None:
    topics = Pipeline(stack, f"t{uuid.uuid4().hex[:8]}.", "")
    kafka = topics.kafka.model_copy(
        update={
            "partitions": 6, "session_timeout_s": 4.0, "retry_base_s": 0.05,
            "retry_max_s": 0.3, "batch_max": 40,
        }
    )  # fmt: skip
    await create_topics(kafka, (RAW, WIDE, DLQ))
    listings = numbered_listings("wide", 120)
    raw = RAW.full_name(kafka)
    plain = AIOKafkaProducer(bootstrap_servers=stack.kafka_bootstrap)
    await plain.start()
    try:
        for x in listings:
            await plain.send(raw, key=x.listing_key.encode(), value=encode(x))
        await plain.flush()
    finally:
        await plain.stop()

    faults = ScriptedSendFaults()
    settings = Settings(kafka=kafka, faults=FaultSettings())
    sender = RecordingSender(settings, faults)
    originals = OriginalStore(settings.postgres)
    loop = ConsumeLoop("echo", settings, {RAW: WideEcho()}, sender, originals, all_healthy, faults)
    await run_loop(loop)
    wide = WIDE.full_name(kafka)
    try:
        # Several failed phases, one of them with records for several partitions of the output
        # topic on both sides of its fault.
        await wait_until(lambda: _async(spread_failure(sender, faults)), 30)
        async with loop._in_flight:  # no send phase in flight while the offsets are read
            group = AIOKafkaConsumer(
                bootstrap_servers=stack.kafka_bootstrap,
                group_id=loop.group_id,
                enable_auto_commit=False,
            )
            await group.start()
            try:
                tps = [TopicPartition(raw, p) for p in range(6)]
                assert [await group.committed(tp) for tp in tps] == [None] * 6
            finally:
                await group.stop()
            faults.failing = False
        total = len(listings)

        async def all_committed() -> bool:
            return await committed_total(stack, loop.group_id, raw, 6) == total

        await wait_until(all_committed, 60)
    finally:
        await stop_loop(loop)
    failed_phases = sender.phases[: len(faults.failed_at)]
    handed_before_fault: dict[str, int] = {}
    for phase, at in zip(failed_phases, faults.failed_at, strict=True):
        for rec in phase[:at]:
            handed_before_fault[rec.key.decode()] = handed_before_fault.get(rec.key.decode(), 0) + 1
    placed = await read_placed(stack, wide, 6)
    counts: dict[str, int] = {}
    for _, key, _, _ in placed:
        counts[key] = counts.get(key, 0) + 1
    # Every output once from the attempt that committed, plus exactly the records the failed
    # attempts had handed over before their fault (at-least-once: a retry resends those).
    assert counts == {
        x.listing_key: 1 + handed_before_fault.get(x.listing_key, 0) for x in listings
    }
    assert len({p for p, _, _, _ in placed}) == 6
