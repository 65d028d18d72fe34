"""`make chaos`: the whole platform on its own embedded stack, under crashes, faults and outages.

One run:

1. starts a private embedded stack (its own directory, ports, database and broker, so a `make up`
   stack is never touched) and the six services under an in-process `Supervisor`;
2. publishes the chaos feed (`feed.py`): a burst first (a large backlog: the Batch API path), then
   a trickle of small groups (small backlogs: the synchronous path) for as long as the chaos lasts,
   with re-scrapes (new prices) of `rules` listings sent earlier among them (the re-scrape fast
   path; the rules tier never sends one to review, so each must end at its last price);
3. meanwhile, in order:
   - SIGKILLs round-robin over the six services. Kills of batch_builder and batch_poller are aimed
     at the LLM recovery windows by watching `llm_batch_items`: a kill of batch_builder waits
     until an item is `sync` (a synchronous call in flight) and, every other time, `emitting`
     (a result stored but not yet acknowledged by the broker); a kill of batch_poller waits for
     `emitting` or `batched` items (a batch in flight). The window seen at the moment of the kill
     is recorded; when none opens within a few seconds the kill happens anyway and says so;
   - the emulator answers badly for a while (low confidence and malformed JSON) through its
     `/_emulator/faults` endpoint, which exercises fallback and review;
   - injected transient exceptions: `CATALOG_FAULTS__HANDLER_RATE`, `__SEND_RATE` and
     `__COMMIT_RATE` are set in every service's environment through the supervisor, and each
     service is SIGTERMed so that it restarts with them (the SIGTERM of each service); after the
     fault period they are cleared and each service is SIGTERMed again;
   - Postgres down (fast shutdown, then started again on the same data), Redis down (stopped and
     started: it is a cache), the LLM endpoint down (the emulator stopped and started; its files
     and batches are kept in its data directory). The broker is in-memory and never touched;
4. waits until every published message is accounted for (a `listings` row, a `review_items` row
   or a `dead_letters` row with its key) and every re-scraped listing holds its last price, or
   the timeout, and prints the table of `report.py`.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import random
import shutil
import signal
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TextIO

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition

from catalog.chaos.feed import FeedItem, build_feed, rescrape
from catalog.chaos.report import Facts, Tally, tally
from catalog.devstack.stack import SERVICES, Stack
from catalog.devstack.supervisor import RestartPolicy, Supervisor

HANDLER_RATE_ENV = "CATALOG_FAULTS__HANDLER_RATE"
SEND_RATE_ENV = "CATALOG_FAULTS__SEND_RATE"
COMMIT_RATE_ENV = "CATALOG_FAULTS__COMMIT_RATE"
MAX_MESSAGE_BYTES = 4 * 1024 * 1024
# How long a kill of batch_builder/batch_poller waits for its LLM recovery window to open.
AIM_TIMEOUT_S = 20.0
# Re-scrapes: after each group of the trickle, this chance of re-publishing a `rules` listing
# sent at least RESCRAPE_LAG listings earlier (by then it is usually persisted: the fast path).
RESCRAPE_SHARE = 0.6
RESCRAPE_LAG = 150
# Batch-path kills first: right after the opening burst the Batch API has work in flight.
KILL_ORDER = ("batch_poller", "router", "batch_builder", "cache_lookup", "validator", "persister")


@dataclass
class ChaosConfig:
    listings: int = 5000
    kills: int = 12
    # 1.0: Postgres and Redis down 30 s each, the LLM endpoint 60 s, faults on for 30 s.
    outage_scale: float = 1.0
    fault_rate: float = 0.05
    timeout_s: float = 900.0
    kill_interval_s: float = 5.0
    seed: int = 7
    oversized_bytes: int = 950_000
    root: Path | None = None
    keep: bool = False
    partitions: int = 4
    out: TextIO = sys.stdout

    def scaled(self, seconds: float) -> float:
        return seconds * self.outage_scale


@dataclass
class Recorder:
    """The run's log of events, with times relative to its start."""

    out: TextIO
    started: float = field(default_factory=time.monotonic)
    events: list[tuple[float, str]] = field(default_factory=list)

    def __call__(self, text: str) -> None:
        at = time.monotonic() - self.started
        self.events.append((at, text))
        print(f"[{at:7.1f}s] {text}", file=self.out, flush=True)


# -- the stack --------------------------------------------------------------------------------


def _ready(stack: Stack, service: str) -> bool:
    from catalog.service import SERVICE_PORT_OFFSETS

    port = stack.ports.web_base + SERVICE_PORT_OFFSETS[service]
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/ready", timeout=1) as resp:
            return bool(resp.status == 200)
    except OSError:
        return False


async def _prepare(stack: Stack) -> None:
    from catalog.db.migrate import migrate
    from catalog.kafka.admin import create_topics, wait_for_broker
    from catalog.settings import KafkaSettings

    await migrate(stack.postgres_dsn)
    kafka = KafkaSettings(bootstrap=stack.kafka_bootstrap, partitions=stack.kafka_partitions)
    await wait_for_broker(kafka)
    await create_topics(kafka)


async def _wait(check: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} after {timeout_s:.0f}s")
        await asyncio.sleep(0.5)


def _emulator_faults(stack: Stack, faults: dict[str, Any]) -> None:
    request = urllib.request.Request(
        f"http://127.0.0.1:{stack.ports.emulator}/_emulator/faults",
        data=json.dumps(faults).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5) as resp:
        resp.read()


# -- the database -----------------------------------------------------------------------------


# A sample taken while Postgres is being stopped or killed may fail in any of these ways (the
# client's own state errors included, e.g. a type introspection cut short); it is skipped and the
# next one taken a second later.
_SAMPLE_ERRORS = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.InternalClientError,
)


async def _query(dsn: str, work: Callable[[asyncpg.Connection], Awaitable[Any]]) -> Any:
    conn = await asyncpg.connect(dsn, timeout=3)
    try:
        return await work(conn)
    finally:
        await conn.close()


ACCOUNTED_SQL = """
WITH wanted AS (SELECT unnest($1::text[]) AS k)
SELECT count(*) FROM wanted w WHERE
    EXISTS (SELECT 1 FROM listings l WHERE l.listing_key = w.k)
 OR EXISTS (SELECT 1 FROM review_items r WHERE r.listing_key = w.k)
 OR EXISTS (SELECT 1 FROM dead_letters d
            WHERE d.key_b64 = encode(convert_to(w.k, 'UTF8'), 'base64'))
"""


# Re-scraped listings (keys, last prices) not yet at their last price.
BEHIND_SQL = """
SELECT count(*) FROM unnest($1::text[], $2::int[]) AS w(k, price)
WHERE NOT EXISTS (SELECT 1 FROM listings l WHERE l.listing_key = w.k AND l.price = w.price)
"""


async def accounted(dsn: str, keys: list[str], last_prices: dict[str, int] | None = None) -> int:
    """Messages accounted for: every key with a row, less the re-scraped listings whose row
    does not hold their last price yet."""
    prices = last_prices or {}

    async def count(conn: asyncpg.Connection) -> int:
        done = int(await conn.fetchval(ACCOUNTED_SQL, keys))
        if prices:
            done -= int(await conn.fetchval(BEHIND_SQL, list(prices), list(prices.values())))
        return done

    result: int = await _query(dsn, count)
    return result


def _fast_path_applied(stack: Stack) -> float | None:
    """The persister's `catalog_fast_path_total{outcome="applied"}` (None when unreachable)."""
    from catalog.service import SERVICE_PORT_OFFSETS

    port = stack.ports.web_base + SERVICE_PORT_OFFSETS["persister"]
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=1) as resp:
            text = resp.read().decode()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("catalog_fast_path_total{") and 'outcome="applied"' in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


@dataclass
class RestartingCounter:
    """A counter of a process that restarts (back to 0): the sum of what each life counted,
    as sampled (what a life counted after its last sample is lost: a lower bound)."""

    total: float = 0.0
    last: float = 0.0

    def sample(self, value: float | None) -> None:
        if value is None:
            return
        if value < self.last:
            self.total += self.last
        self.last = value

    @property
    def value(self) -> float:
        return self.total + self.last


async def _llm_states(dsn: str) -> Counter[str]:
    async def states(conn: asyncpg.Connection) -> Counter[str]:
        rows = await conn.fetch(
            "SELECT status, count(*) AS n FROM llm_batch_items "
            "WHERE status IN ('pending', 'sync', 'batched', 'emitting') GROUP BY status"
        )
        return Counter({r["status"]: r["n"] for r in rows})

    result: Counter[str] = await _query(dsn, states)
    return result


def _decode_key(key_b64: str | None) -> str | None:
    if key_b64 is None:
        return None
    try:
        return base64.b64decode(key_b64).decode()
    except (ValueError, UnicodeDecodeError):
        return None


async def collect_facts(stack: Stack) -> Facts:
    async def read(conn: asyncpg.Connection) -> Facts:
        facts = Facts()
        merged = await conn.fetchval(
            "SELECT count(*) FROM information_schema.columns "
            "WHERE table_name = 'productos_maestros' AND column_name = 'merged_into'"
        )
        # A master merged into another counts as that other one (the merge is the fix).
        # (`merged_into` names the surviving master by its fingerprint.)
        master, survivor = (
            (
                "coalesce(s.id, m.id)",
                "LEFT JOIN productos_maestros s ON s.fingerprint = m.merged_into",
            )
            if merged
            else ("m.id", "")
        )
        for row in await conn.fetch(
            f"SELECT l.listing_key, {master} AS master FROM listings l "
            f"JOIN productos_maestros m ON m.id = l.product_id {survivor}"
        ):
            facts.persisted[row["listing_key"]] = row["master"]
        facts.review = {
            r["listing_key"] for r in await conn.fetch("SELECT listing_key FROM review_items")
        }
        for row in await conn.fetch("SELECT key_b64, count(*) AS n FROM dead_letters GROUP BY 1"):
            key = _decode_key(row["key_b64"])
            if key is not None:
                facts.dead_letters[key] += row["n"]
        for row in await conn.fetch(
            "SELECT listing_key, count(*) AS n FROM precios_actuales GROUP BY listing_key"
        ):
            facts.offers[row["listing_key"]] = row["n"]
        for row in await conn.fetch("SELECT listing_key, price FROM listings"):
            facts.prices[row["listing_key"]] = row["price"]
        facts.ledger_requests = int(
            await conn.fetchval("SELECT coalesce(sum(requests), 0) FROM llm_spend")
        )
        facts.billed_items = int(
            await conn.fetchval(
                "SELECT count(*) FROM llm_batch_items "
                "WHERE status IN ('emitting', 'done') AND cost_usd > 0"
            )
        )
        return facts

    facts: Facts = await _query(stack.postgres_dsn, read)
    facts.dlq_records = await _dlq_records(stack)
    return facts


async def _dlq_records(stack: Stack) -> Counter[tuple[str, str, int, int]]:
    from catalog.kafka.topics import DLQ
    from catalog.settings import KafkaSettings

    kafka = KafkaSettings(bootstrap=stack.kafka_bootstrap, partitions=stack.kafka_partitions)
    topic = DLQ.full_name(kafka)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=stack.kafka_bootstrap,
        enable_auto_commit=False,
        fetch_max_wait_ms=50,
        max_partition_fetch_bytes=MAX_MESSAGE_BYTES,
    )
    await consumer.start()
    records: Counter[tuple[str, str, int, int]] = Counter()
    try:
        partitions = [TopicPartition(topic, p) for p in range(stack.kafka_partitions)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        idle = 0
        while idle < 3:
            batch = await consumer.getmany(timeout_ms=300)
            for chunk in batch.values():
                for record in chunk:
                    with contextlib.suppress(ValueError, TypeError, KeyError):
                        body = json.loads(record.value)
                        records[
                            (body["service"], body["topic"], body["partition"], body["offset"])
                        ] += 1
            behind = [await consumer.position(tp) < ends[tp] for tp in partitions]
            idle = 0 if batch or any(behind) else idle + 1
    finally:
        await consumer.stop()
    return records


# -- the run ----------------------------------------------------------------------------------


class ChaosRun:
    def __init__(self, config: ChaosConfig) -> None:
        self.config = config
        self.say = Recorder(config.out)
        self.rng = random.Random(config.seed)
        root = config.root or Path(tempfile.mkdtemp(prefix="catalog-chaos-"))
        self.stack = Stack(root)
        self.stack.kafka_partitions = config.partitions
        self.stack.emulator_args = ["--batch-step-s", "0.3"]
        self.supervisor_log = (self.stack.root / "logs" / "supervisor.log").open("a")
        self.supervisor = Supervisor(
            SERVICES,
            lambda name, env: self.stack.start_service(name, extra_env=env),
            policy=RestartPolicy(),
            log=self.supervisor_log,
        )
        self.feed = build_feed(
            config.listings, seed=config.seed, oversized_bytes=config.oversized_bytes
        )
        self.keys = [item.key for item in self.feed]
        # Re-scraped listing -> the price of its last re-scrape (what its row must end at).
        self.last_prices: dict[str, int] = {}
        self.rescrapes = 0
        self.fast_path = RestartingCounter()
        self.progress: list[tuple[float, int]] = []
        self.publishing_done = asyncio.Event()
        self.chaos_done = asyncio.Event()
        self.kills: Counter[str] = Counter()
        self.terms: Counter[str] = Counter()
        self.windows: Counter[str] = Counter()
        self.injected = 0

    # -- publishing ---------------------------------------------------------------------------

    async def publish(self, spread_s: float) -> None:
        from catalog.kafka.topics import RAW
        from catalog.settings import KafkaSettings

        kafka = KafkaSettings(bootstrap=self.stack.kafka_bootstrap)
        topic = RAW.full_name(kafka)
        producer = AIOKafkaProducer(
            bootstrap_servers=self.stack.kafka_bootstrap,
            max_request_size=MAX_MESSAGE_BYTES,
            acks="all",
        )
        await producer.start()
        try:
            burst = len(self.feed) * 2 // 5
            await self._send(producer, topic, self.feed[:burst])
            self.say(f"published a burst of {burst} messages (the Batch API path)")
            rest = self.feed[burst:]
            groups: list[list[FeedItem]] = []
            while rest:
                size = self.rng.randint(1, 8)
                groups.append(rest[:size])
                rest = rest[size:]
            pause = spread_s / max(len(groups), 1)
            sent = burst
            for group in groups:
                await self._send(producer, topic, group + self._rescrapes(sent))
                sent += len(group)
                await asyncio.sleep(pause)
            self.say(
                f"published all {len(self.feed)} messages and {self.rescrapes} re-scrapes of "
                f"{len(self.last_prices)} listings"
            )
        finally:
            await producer.stop()
            self.publishing_done.set()

    def _rescrapes(self, sent: int) -> list[FeedItem]:
        """Now and then a re-scrape of a `rules` listing sent RESCRAPE_LAG messages ago or more."""
        earlier = [i for i in self.feed[: max(0, sent - RESCRAPE_LAG)] if i.kind == "rules"]
        if not earlier or self.rng.random() >= RESCRAPE_SHARE:
            return []
        item, price = rescrape(self.rng.choice(earlier), self.rescrapes)
        self.rescrapes += 1
        self.last_prices[item.key] = price
        return [item]

    @staticmethod
    async def _send(producer: AIOKafkaProducer, topic: str, items: list[FeedItem]) -> None:
        futures = [
            await producer.send(topic, key=item.key.encode(), value=item.value) for item in items
        ]
        await asyncio.gather(*futures)

    # -- watching -----------------------------------------------------------------------------

    async def watch(self) -> None:
        """Sample the accounted count every second (skipped while Postgres is down)."""
        while True:
            self.fast_path.sample(await asyncio.to_thread(_fast_path_applied, self.stack))
            with contextlib.suppress(*_SAMPLE_ERRORS):
                done = await accounted(self.stack.postgres_dsn, self.keys, self.last_prices)
                self.progress.append((time.monotonic(), done))
                if done >= len(self.keys) and self.publishing_done.is_set():
                    return
            await asyncio.sleep(1.0)

    # -- chaos --------------------------------------------------------------------------------

    def _signal(self, service: str, sig: signal.Signals) -> bool:
        pid = self.supervisor.pid(service)
        if pid is None:
            return False
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
            return True
        return False

    async def _alive(self, service: str, timeout_s: float = 60.0) -> None:
        await _wait(lambda: self.supervisor.pid(service) is not None, timeout_s, service)

    async def _aim(self, service: str, attempt: int) -> str:
        """Wait (a little) for the LLM recovery window this kill is aimed at; which was seen."""
        if service == "batch_builder":
            wanted = ("sync",) if attempt % 2 == 0 else ("emitting", "sync")
        elif service == "batch_poller":
            wanted = ("emitting", "batched")
        else:
            return "unaimed"
        deadline = time.monotonic() + AIM_TIMEOUT_S
        while time.monotonic() < deadline:
            with contextlib.suppress(*_SAMPLE_ERRORS):
                states = await _llm_states(self.stack.postgres_dsn)
                for state in wanted:
                    if states[state]:
                        return f"{state} ({states[state]} items)"
            await asyncio.sleep(0.02)
        return "no window opened"

    async def kill_phase(self) -> None:
        order = KILL_ORDER
        for i in range(self.config.kills):
            service = order[i % len(order)]
            await self._alive(service)
            window = await self._aim(service, i // len(order))
            if self._signal(service, signal.SIGKILL):
                self.kills[service] += 1
                self.windows[window.split(" (")[0]] += 1
                self.say(f"SIGKILL {service} (window: {window})")
            await asyncio.sleep(self.config.kill_interval_s)

    async def fault_phase(self) -> None:
        period = max(self.config.scaled(30.0), 8.0)
        rate = str(self.config.fault_rate)
        for service in SERVICES:
            self.supervisor.set_env(
                service, {HANDLER_RATE_ENV: rate, SEND_RATE_ENV: rate, COMMIT_RATE_ENV: rate}
            )
        self.say(
            f"fault injection on: {HANDLER_RATE_ENV}={rate} {SEND_RATE_ENV}={rate} "
            f"{COMMIT_RATE_ENV}={rate}"
        )
        await self._terminate_each("to restart with faults")
        # The period counts from the moment every service runs with the faults.
        await self._all_ready()
        before = self.injected_faults()
        await asyncio.sleep(period)
        # Faults fire only on traffic: on a loaded machine the period can pass before any did.
        # Keep them on (bounded) until at least one fired, so every run exercises them.
        with contextlib.suppress(TimeoutError):  # the verdict reports a run where none fired
            await _wait(
                lambda: self.injected_faults() > before, max(period, 30.0), "no injected fault"
            )
        for service in SERVICES:
            self.supervisor.set_env(service, {})
        self.say("fault injection off")
        await self._terminate_each("to restart without faults")

    async def _all_ready(self, timeout_s: float = 180.0) -> None:
        for service in SERVICES:
            await _wait(partial(_ready, self.stack, service), timeout_s, f"{service} not ready")

    def injected_faults(self) -> int:
        """How many exceptions the services' consume loops say they injected (their logs)."""
        total = 0
        for service in SERVICES:
            log = self.stack.root / "logs" / f"{service}.log"
            if log.exists():
                with log.open("rb") as f:
                    total += sum(1 for line in f if b'"injected fault"' in line)
        return total

    async def _terminate_each(self, why: str) -> None:
        for service in SERVICES:
            await self._alive(service)
            if self._signal(service, signal.SIGTERM):
                self.terms[service] += 1
                self.say(f"SIGTERM {service} ({why})")
            await asyncio.sleep(1.0)

    async def outage(self, name: str, seconds: float) -> None:
        stop_signal = signal.SIGINT if name == "postgres" else signal.SIGTERM
        self.say(f"{name} down for {seconds:.0f}s")
        await asyncio.to_thread(self.stack.stop_process, name, 15.0, stop_signal)
        await asyncio.sleep(seconds)
        start = {
            "postgres": self.stack.start_postgres,
            "redis": self.stack.start_redis,
            "emulator": self.stack.start_emulator,
        }[name]
        await asyncio.to_thread(start)
        self.say(f"{name} back")

    async def chaos(self) -> None:
        try:
            from catalog.settings import LLMSettings

            # Slow synchronous answers now and then widen the "sync call in flight" window.
            slow = {"timeout_rate": 0.3, "timeout_s": 1.5}
            _emulator_faults(
                self.stack,
                {
                    "low_confidence_rate": 0.15,
                    "malformed_json_rate": 0.05,
                    "per_model": {LLMSettings().mini_model: slow},
                    "seed": 3,
                },
            )
            self.say("emulator answers badly now and then (low confidence, malformed JSON, slow)")
            await _wait(lambda: bool(self.progress and self.progress[-1][1]), 60, "no progress")
            await self.kill_phase()
            _emulator_faults(self.stack, {})
            await self.fault_phase()
            gap = max(self.config.scaled(5.0), 2.0)
            await self.outage("postgres", self.config.scaled(30.0))
            await asyncio.sleep(gap)
            await self.outage("redis", self.config.scaled(30.0))
            await asyncio.sleep(gap)
            await self.outage("emulator", self.config.scaled(60.0))
        finally:
            self.chaos_done.set()

    def estimated_chaos_s(self) -> float:
        kills = self.config.kills * (self.config.kill_interval_s + 3.0)
        faults = max(self.config.scaled(30.0), 8.0) + 2 * len(SERVICES) * 2.0
        outages = self.config.scaled(120.0) + 2 * max(self.config.scaled(5.0), 2.0)
        return kills + faults + outages

    # -- the whole run ------------------------------------------------------------------------

    async def run(self) -> Tally:
        cfg = self.config
        self.say(f"stack in {self.stack.root}")
        await asyncio.to_thread(self.stack.start_infra)
        await _prepare(self.stack)
        stop = threading.Event()
        supervising = threading.Thread(target=self.supervisor.run, args=(stop,), daemon=True)
        supervising.start()
        try:
            await self._all_ready()
            self.say(f"six services ready; publishing {len(self.feed)} messages")
            watcher = asyncio.create_task(self.watch())
            publisher = asyncio.create_task(self.publish(self.estimated_chaos_s() * 0.8))
            await self.chaos()
            await publisher
            self.say("chaos over; waiting until every message is accounted for")
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(watcher), cfg.timeout_s)
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            facts = await collect_facts(self.stack)
        finally:
            stop.set()
            supervising.join(timeout=10)
            await asyncio.to_thread(self.stack.stop_all)
            self.supervisor_log.close()
        restarts = self.supervisor.restarts()
        self.injected = self.injected_faults()
        self.say(
            f"SIGKILLs {dict(self.kills)}; SIGTERMs {dict(self.terms)}; "
            f"kill windows {dict(self.windows)}; restarts {restarts}; "
            f"injected handler/send/commit exceptions logged: {self.injected}"
        )
        return tally(
            self.feed,
            facts,
            sum(restarts.values()),
            self.progress,
            last_prices=self.last_prices,
            rescrapes=self.rescrapes,
            fast_path_applied=int(self.fast_path.value),
        )


def run(config: ChaosConfig) -> Tally:
    chaos = ChaosRun(config)
    try:
        result = asyncio.run(chaos.run())
    finally:
        if not config.keep:
            shutil.rmtree(chaos.stack.root, ignore_errors=True)
    print(result.render(), file=config.out, flush=True)
    return result
