"""End-to-end throughput and latency with all six services on a private embedded stack.

`make bench` runs this. It starts a throwaway embedded stack (broker, Postgres, Redis, the LLM
emulator answering batches at once) in a temporary directory with the six services, warms the
caches with at least `--count` distinct titles the rules tier normalizes (the demo feed's, each
with a model code of its own), and then, `--repeats` times:

1. **broker**: the broker's own produce -> consume rate with plain aiokafka (one producer, one
   consumer, messages the size of a raw listing), measured in the same run as the pipeline;
2. **cache-hit path**: `--count` new listings (new skus) whose titles are cached, each at a
   store that did not sell its title before (about one new store per master and run);
3. **re-scrape path**: the same listings again, same title, new price;
4. **LLM path**: `--llm-count` listings with titles nobody has seen (invented brands), answered
   by the emulator through the Batch API.

Throughput is listings in `products.raw.v1` (published as fast as one producer can) over the
time until the last of them is out on `catalog.offers.v1` (or, on the LLM path, in the review
queue). Then the cache-hit and re-scrape paths are offered at a fixed rate of half their median
maximum for `--latency-s` seconds, `--latency-repeats` times (default: `--repeats`), and the
per-listing latency raw -> offer gives p50/p95/p99 (the medians of the runs, with min - max),
also split into hops from the record timestamps of the topics in between (router, cache-lookup,
persister, and the offer's way to the benchmark's tap).
Per stage: listings per second of handler time (`catalog_stage_seconds`, a stage's capacity)
and the peak RSS of each service. CPU time per listing of every process of the stack (each
service, the broker, Postgres, Redis, the emulator, this benchmark's producer and tap) during
each flooded run shows where the machine's cores go. `--profile` samples every service with
py-spy during the flooded runs of the first repeat and keeps the top frames.

Writes `bench/results/<date>.json` and PNG plots beside it, and prints a table.
`--count 100000` is the large run (CI never runs this).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "libs"), str(ROOT / "services"), str(ROOT)]

from catalog.db.migrate import migrate  # noqa: E402
from catalog.devstack.stack import SERVICES, Stack  # noqa: E402
from catalog.domain.identity import normalize_title  # noqa: E402
from catalog.kafka.admin import create_topics  # noqa: E402
from catalog.kafka.topics import CATALOG_OFFERS, PRICES, RAW, ROUTED, VALIDATED  # noqa: E402
from catalog.service import SERVICE_PORT_OFFSETS  # noqa: E402
from catalog.settings import KafkaSettings  # noqa: E402

BARS = {"rescrape": 4000.0, "cache_hit": 2000.0}
P95_BAR_MS = 100.0
PARTITIONS = 4
# The slowest warm-up (new titles settled per second) the deadline allows for.
WARM_UP_FLOOR_PER_S = 10.0
# How long the warm-up waits without a title settling before it takes the rest for lost.
WARM_UP_SILENCE_S = 300.0
BROKER_TOPIC = "bench.broker.v1"
_SYLLABLES = ("qwo", "rva", "vor", "tex", "zan", "dri", "kel", "mox", "pli", "tar", "quen", "sul")
_LLM_TEMPLATES = (
    ("Electrodomésticos", "Licuadora {brand} {code} {watts}W Vaso Vidrio 1.5L"),
    ("Audio", "Parlante Bluetooth {brand} {code} {watts}W"),
    ("Electrodomésticos", "Hervidor Electrico {brand} {code} {watts}W 1.7L"),
)


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


@dataclass
class Listing:
    key: str
    body: dict[str, Any]

    @property
    def value(self) -> bytes:
        return orjson.dumps(self.body)


@dataclass
class Watch:
    """Which listing keys (at which price) a run waits for on catalog.offers.v1."""

    expected: dict[str, int]
    seen: dict[str, float] = field(default_factory=dict)
    created: dict[str, int] = field(default_factory=dict)
    """Each offer's record timestamp (epoch ms): when the persister handed it to its producer."""
    done: asyncio.Event = field(default_factory=asyncio.Event)


class Tap:
    """A consumer reading from a topic's end in a task of its own, until `stop`."""

    consumer: AIOKafkaConsumer | None = None
    task: asyncio.Task[None] | None = None

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        if self.consumer is not None:
            await self.consumer.stop()


class OfferTap(Tap):
    """Reads catalog.offers.v1 from its end and notes when each awaited listing comes out."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self.watch: Watch | None = None
        self.consumer: AIOKafkaConsumer | None = None
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        topic = CATALOG_OFFERS.full_name(KafkaSettings())
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, enable_auto_commit=False, fetch_max_wait_ms=5
        )
        await self.consumer.start()
        parts = self.consumer.partitions_for_topic(topic) or set(range(PARTITIONS))
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        self.consumer.assign(tps)
        await self.consumer.seek_to_end(*tps)
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        assert self.consumer is not None
        while True:
            batches = await self.consumer.getmany(timeout_ms=200, max_records=5000)
            received = time.monotonic()
            watch = self.watch
            if watch is None:
                continue
            for records in batches.values():
                for rec in records:
                    offer = orjson.loads(rec.value)
                    key = offer["listing_key"]
                    want = watch.expected.get(key)
                    if want is not None and offer["price"] == want and key not in watch.seen:
                        watch.seen[key] = received
                        watch.created[key] = rec.timestamp
            if len(watch.seen) >= len(watch.expected):
                watch.done.set()


class HopTap(Tap):
    """Reads the topics between the raw listing and its offer from their end and keeps, for each
    awaited listing key, the record timestamp (epoch ms) of its first message on each: when the
    service before that hop handed it to its producer. Differences between them split the
    end-to-end latency into hops, each one a consumer's fetch wait plus its handler."""

    TOPICS = (ROUTED, VALIDATED, PRICES)

    def __init__(self, bootstrap: str, keys: set[bytes]) -> None:
        self.bootstrap = bootstrap
        self.keys = keys
        self.created: dict[str, dict[bytes, int]] = {spec.name: {} for spec in self.TOPICS}
        # The embedded broker's end offset can lag its log, so the tap may start a little before
        # the end: records created before it started belong to earlier runs.
        self.since_ms = int(time.time() * 1000)
        self.consumer: AIOKafkaConsumer | None = None
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        kafka = KafkaSettings()
        names = {spec.full_name(kafka): spec.name for spec in self.TOPICS}
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, enable_auto_commit=False, fetch_max_wait_ms=5
        )
        await self.consumer.start()
        tps = [
            TopicPartition(topic, p)
            for topic in names
            for p in sorted(self.consumer.partitions_for_topic(topic) or range(PARTITIONS))
        ]
        self.consumer.assign(tps)
        await self.consumer.seek_to_end(*tps)
        self.task = asyncio.create_task(self._run(names))

    async def _run(self, names: dict[str, str]) -> None:
        assert self.consumer is not None
        while True:
            batches = await self.consumer.getmany(timeout_ms=200, max_records=5000)
            for tp, records in batches.items():
                created = self.created[names[tp.topic]]
                for rec in records:
                    if (
                        rec.timestamp >= self.since_ms
                        and rec.key in self.keys
                        and rec.key not in created
                    ):
                        created[rec.key] = rec.timestamp


def hop_latencies(
    sent_ms: dict[str, float],
    offers_ms: dict[str, int],
    received_ms: dict[str, float],
    created: dict[str, dict[bytes, int]],
) -> dict[str, list[float]]:
    """Per listing, the time spent in each hop (ms): from its publication to the router's
    output, through cache-lookup (cache hits) to the persister's offer, and from the offer's
    hand-over to the benchmark's tap (the broker's acknowledgement plus the tap's fetch)."""
    hops: dict[str, list[float]] = {}

    def add(name: str, start: float | None, end: float | None) -> None:
        if start is not None and end is not None:
            hops.setdefault(name, []).append(end - start)

    routed, validated, prices = (created[spec.name] for spec in HopTap.TOPICS)
    for key, offer in offers_ms.items():
        raw = key.encode()
        first = routed.get(raw, prices.get(raw))
        add("router", sent_ms[key], first)
        if raw in validated:
            add("cache_lookup", first, validated[raw])
        add("persister", validated.get(raw, prices.get(raw)), offer)
        add("to tap", offer, received_ms[key])
    return hops


def process_tree_cpu(root: int) -> dict[int, tuple[str, float]]:
    """CPU seconds (user + system) used so far by `root` and every process under it, by pid,
    with each one's command name (Linux /proc; empty elsewhere)."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    stats: dict[int, tuple[int, str, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            raw = (entry / "stat").read_text()
            name = raw[raw.index("(") + 1 : raw.rindex(")")]
            fields = raw[raw.rindex(")") + 2 :].split()
            cpu_s = (int(fields[11]) + int(fields[12])) / tick  # utime + stime
            stats[int(entry.name)] = (int(fields[1]), name, cpu_s)
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in stats.items():
        children.setdefault(ppid, []).append(pid)
    out: dict[int, tuple[str, float]] = {}
    todo = [root]
    while todo:
        pid = todo.pop()
        if pid in stats:
            out[pid] = (stats[pid][1], stats[pid][2])
            todo.extend(children.get(pid, []))
    return out


class Bench:
    def __init__(self, stack: Stack, args: argparse.Namespace) -> None:
        self.stack = stack
        self.args = args
        self.raw_topic = RAW.full_name(KafkaSettings())
        self.tap = OfferTap(stack.kafka_bootstrap)
        self.producer: AIOKafkaProducer | None = None
        self.base: list[Listing] = []
        self.rss_peak: dict[str, int] = {}
        self.profiles: dict[str, dict[str, list[tuple[str, float]]]] = {}

    # -- plumbing -----------------------------------------------------------------------------

    def pid(self, service: str) -> int:
        return self.stack.procs[service].pid

    def metrics(self, service: str) -> dict[str, float]:
        port = self.stack.ports.web_base + SERVICE_PORT_OFFSETS[service]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
            text = resp.read().decode()
        out = {"stage_s": 0.0, "batches": 0.0, "processed": 0.0}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == "catalog_stage_seconds_sum":
                    out["stage_s"] += sample.value
                elif sample.name == "catalog_stage_seconds_count":
                    out["batches"] += sample.value
                elif (
                    sample.name == "catalog_messages_total"
                    and sample.labels.get("outcome") == "processed"
                ):
                    out["processed"] += sample.value
                elif sample.name == "catalog_gc_pause_seconds_sum":
                    out["gc_s"] = out.get("gc_s", 0.0) + sample.value
                    if sample.labels.get("generation") == "2":
                        out["gc_full_s"] = sample.value
                elif (
                    sample.name == "catalog_gc_pause_seconds_count"
                    and sample.labels.get("generation") == "2"
                ):
                    out["gc_full"] = sample.value
                elif sample.name == "catalog_loop_seconds_total":
                    name = f"loop_{sample.labels.get('phase')}_s"
                    out[name] = out.get(name, 0.0) + sample.value
                elif sample.name == "catalog_cache_lookups_total":
                    name = f"cache_{sample.labels.get('level')}_{sample.labels.get('outcome')}"
                    out[name] = out.get(name, 0.0) + sample.value
                elif sample.name == "catalog_resolutions_total":
                    name = f"resolved_{sample.labels.get('outcome')}"
                    out[name] = out.get(name, 0.0) + sample.value
                elif sample.name == "catalog_same_title_attached_total":
                    out["resolved_same_title"] = out.get("resolved_same_title", 0.0) + sample.value
        return out

    @staticmethod
    def outcomes(
        before: dict[str, dict[str, float]], after: dict[str, dict[str, float]]
    ) -> dict[str, int]:
        """What a run's listings met on the way: cache-lookup's hits and misses per level and
        the persister's resolution outcomes (attached by the same-title lookup, matched, ...)."""
        out: dict[str, int] = {}
        for service in ("cache_lookup", "persister"):
            for name, value in after[service].items():
                if name.startswith(("cache_", "resolved_")):
                    delta = int(value - before[service].get(name, 0.0))
                    if delta:
                        out[name] = delta
        return out

    def cpu_snapshot(self) -> dict[int, tuple[str, float]]:
        return process_tree_cpu(os.getpid())

    def cpu_per_listing(
        self, before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]], count: int
    ) -> dict[str, float]:
        """CPU ms per listing of a run, by process: each service, the broker, Postgres (all its
        backends), Redis, the emulator and this benchmark's own producer and offer tap."""
        labels = {self.pid(s): s for s in SERVICES}
        labels[os.getpid()] = "bench"
        used: dict[str, float] = {}
        for pid, (name, seconds) in after.items():
            label = labels.get(pid) or ("broker" if name.startswith("tansu") else name)
            used[label] = used.get(label, 0.0) + seconds - before.get(pid, (name, 0.0))[1]
        ranked = sorted(used.items(), key=lambda x: -x[1])
        return {k: round(v / count * 1000, 4) for k, v in ranked if v > 0.005}

    def all_metrics(self) -> dict[str, dict[str, float]]:
        return {s: self.metrics(s) for s in SERVICES}

    def sample_rss(self) -> None:
        for service in SERVICES:
            with contextlib.suppress(OSError, KeyError):
                status = Path(f"/proc/{self.pid(service)}/status").read_text()
                kb = int(next(x for x in status.splitlines() if x.startswith("VmRSS")).split()[1])
                self.rss_peak[service] = max(self.rss_peak.get(service, 0), kb * 1024)

    async def rss_sampler(self) -> None:
        while True:
            self.sample_rss()
            await asyncio.sleep(0.5)

    async def wait_ready(self, timeout_s: float = 180) -> None:
        deadline = time.monotonic() + timeout_s
        pending = set(SERVICES)
        while pending:
            if time.monotonic() > deadline:
                raise TimeoutError(f"services not ready: {sorted(pending)}")
            pending = {s for s in pending if not self.ready(s)}
            await asyncio.sleep(0.5)

    def ready(self, service: str) -> bool:
        port = self.stack.ports.web_base + SERVICE_PORT_OFFSETS[service]
        try:
            url = f"http://127.0.0.1:{port}/health/ready"
            with urllib.request.urlopen(url, timeout=1) as resp:
                return bool(resp.status == 200)
        except OSError:
            return False

    async def publish(self, listings: list[Listing]) -> None:
        assert self.producer is not None
        futures = [
            await self.producer.send(self.raw_topic, key=x.key.encode(), value=x.value)
            for x in listings
        ]
        await asyncio.gather(*futures)

    async def db(self) -> asyncpg.Connection:
        return await asyncpg.connect(self.stack.postgres_dsn)

    # -- setup --------------------------------------------------------------------------------

    async def setup(self) -> None:
        await migrate(self.stack.postgres_dsn)
        await create_topics(KafkaSettings(bootstrap=self.stack.kafka_bootstrap, partitions=4))
        admin_settings = KafkaSettings(bootstrap=self.stack.kafka_bootstrap, partitions=PARTITIONS)
        from aiokafka.admin import AIOKafkaAdminClient, NewTopic

        admin = AIOKafkaAdminClient(bootstrap_servers=admin_settings.bootstrap)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(BROKER_TOPIC, PARTITIONS, 1)])
        finally:
            await admin.close()
        for name in SERVICES:
            self.stack.start_service(name)
        await self.wait_ready()
        self.producer = AIOKafkaProducer(
            bootstrap_servers=self.stack.kafka_bootstrap,
            linger_ms=5,
            acks=1,
            max_batch_size=256 * 1024,
        )
        await self.producer.start()
        await self.tap.start()
        await self.warm_up()

    async def warm_up(self) -> None:
        """Caches warmed with `warm_titles()` distinct titles (`--titles`, default `--count`), so
        that each repeat's cache-hit feed gives each master about one new store (`--count` /
        `--titles` stores with fewer titles), as a real catalog's new listings do. A master that
        took every repeat's copy of a few hundred titles (the demo feed) would grow by dozens of
        stores per run and slow the later runs down."""
        feed = self.warm_titles(max(self.args.titles, len(self.demo_feed())))
        await self.publish([Listing(f"{x['retailer']}:{x['sku']}", x) for x in feed])
        started = time.monotonic()
        conn = await self.db()
        try:
            last, stable_since = -1, time.monotonic()
            # New titles go through full resolution (tens a second here): the large run's
            # warm-up takes about an hour, so the deadline grows with the feed.
            deadline = time.monotonic() + max(900.0, len(feed) / WARM_UP_FLOOR_PER_S)
            reported = time.monotonic()
            while time.monotonic() < deadline:
                done = await conn.fetchval(
                    "SELECT (SELECT count(*) FROM listings) + (SELECT count(*) FROM review_items)"
                )
                if done >= len(feed):
                    break
                if time.monotonic() - reported >= 60:
                    reported = time.monotonic()
                    rate = done / (reported - started)
                    print(f"warm-up: {done} of {len(feed)} titles settled ({rate:.0f}/s)")
                # The persister commits a batch of new titles at once, after resolving all of
                # them (more than a minute for 500 titles on a large catalog here): only a long
                # silence means the rest went missing. Titles still in the pipeline would queue
                # ahead of every measured run.
                if done != last:
                    last, stable_since = done, time.monotonic()
                elif time.monotonic() - stable_since > WARM_UP_SILENCE_S and done > len(feed) // 2:
                    break
                await asyncio.sleep(0.5)
            rows = await conn.fetch("SELECT listing_key FROM listings")
        finally:
            await conn.close()
        stored = {r["listing_key"] for r in rows}
        # Only titles the warm-up persisted: the few that need a person stay out of a speed test.
        self.base = [
            Listing(f"{x['retailer']}:{x['sku']}", x)
            for x in feed
            if f"{x['retailer']}:{x['sku']}" in stored
        ]
        took = time.monotonic() - started
        print(f"warm-up: {len(self.base)} cached titles of {len(feed)} in {took:.0f} s")

    @staticmethod
    def demo_feed() -> list[dict[str, Any]]:
        lines = (ROOT / "data/sample/listings.jsonl").read_text().splitlines()
        return [json.loads(line) for line in lines]

    def warm_titles(self, count: int) -> list[dict[str, Any]]:
        """`count` distinct product titles the rules tier normalizes (no LLM): the demo feed's
        titles the router sends to the rules tier, each with a model code and a weight of its
        own appended (`... ZB00042 Peso 43 g`), so each is another product with its own cache
        entry. Synthetic: speed only, not quality."""
        from catalog.domain.extractor import extract
        from catalog.domain.routing import choose_tier, complexity_score

        routing = self.routing_settings()
        templates = []
        for x in self.demo_feed():
            rules = extract(x["name"], x.get("category"), x.get("brand"), x.get("attributes"))
            score = complexity_score(x["name"], rules.category, x["price"], rules)
            if choose_tier(score, rules, **routing) == "rules":
                templates.append(x)
        # One per normalized title: a demo title sold at several stores gives one template.
        by_title: dict[str, dict[str, Any]] = {}
        for x in templates:
            by_title.setdefault(normalize_title(x["name"]), x)
        bases = list(by_title.values())
        tag = uuid.uuid4().hex[:4]
        out = []
        for i in range(count):
            base = bases[i % len(bases)]
            body = {
                **base,
                # Two titles that differ only in a model code are in the matcher's uncertain
                # band (the warm-up would queue most for review); a stated weight of its own
                # makes each another product for identity resolution (a veto dimension).
                "name": f"{base['name']} ZB{i:05d} Peso {i + 1} g",
                "sku": f"W{tag}-{i}",
                # The template's EAN would make every variant one product, its URL is another's.
                "ean": None,
                "url": None,
                "scraped_at": now_iso(),
            }
            out.append(body)
        return out

    @staticmethod
    def routing_settings() -> dict[str, float]:
        from catalog.settings import get_settings

        routing = get_settings().routing
        return {
            "simple_threshold": routing.simple_threshold,
            "complex_threshold": routing.complex_threshold,
            "rules_min_confidence": routing.rules_min_confidence,
        }

    # -- feeds --------------------------------------------------------------------------------

    def cache_hit_feed(self, count: int) -> list[Listing]:
        """Warmed titles sold by a store that did not sell them before: listing `i` takes warm
        title `i` (one new store's offer per master and run, as long as `count` is at most the
        number of warm titles; a larger feed wraps round to a further store)."""
        prefix = f"B{uuid.uuid4().hex[:6]}-"
        out = []
        for i in range(count):
            base = self.base[i % len(self.base)].body
            # Lowercase: the contract turns a store name into its slug.
            store = f"{prefix.lower()}{i // len(self.base)}"
            body = {**base, "retailer": store, "sku": f"{prefix}{i}", "scraped_at": now_iso()}
            out.append(Listing(f"{body['retailer']}:{body['sku']}", body))
        return out

    @staticmethod
    def rescrape_feed(known: list[Listing], bump: int) -> list[Listing]:
        seen_at = now_iso()
        out = []
        for x in known:
            body = {**x.body, "price": x.body["price"] + bump, "scraped_at": seen_at}
            if body.get("price_original") is not None:
                # The router refuses a price above the list price.
                body["price_original"] += bump
            out.append(Listing(x.key, body))
        return out

    @staticmethod
    def llm_feed(count: int, run: int) -> list[Listing]:
        out = []
        tag = uuid.uuid4().hex[:4]
        for i in range(count):
            n = run * 1_000_000 + i
            brand = "".join(_SYLLABLES[(n // 12**k) % 12] for k in range(4)).capitalize()
            category, template = _LLM_TEMPLATES[i % len(_LLM_TEMPLATES)]
            name = template.format(
                brand=brand, code=f"QB-{tag}{i:06d}", watts=(300, 600, 800, 1200)[i % 4]
            )
            body = {
                "retailer": "hites",
                "sku": f"L{tag}-{i}",
                "name": name,
                "category": category,
                "price": 19990 + (i % 50) * 1000,
                "stock_status": "in_stock",
                "scraped_at": now_iso(),
            }
            out.append(Listing(f"hites:{body['sku']}", body))
        return out

    # -- measurements -------------------------------------------------------------------------

    async def broker_rate(self, count: int) -> float:
        """Plain aiokafka: raw-listing-sized messages produced and consumed at once."""
        assert self.producer is not None
        value = self.base[0].value
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.stack.kafka_bootstrap,
            enable_auto_commit=False,
            fetch_max_wait_ms=5,
            max_partition_fetch_bytes=4 * 1024 * 1024,
        )
        await consumer.start()
        try:
            tps = [TopicPartition(BROKER_TOPIC, p) for p in range(PARTITIONS)]
            consumer.assign(tps)
            await consumer.seek_to_end(*tps)
            got = 0

            async def drain() -> None:
                nonlocal got
                while got < count:
                    batches = await consumer.getmany(timeout_ms=200, max_records=10_000)
                    got += sum(len(r) for r in batches.values())

            started = time.monotonic()
            reader = asyncio.create_task(drain())
            futures = [
                await self.producer.send(BROKER_TOPIC, key=str(i).encode(), value=value)
                for i in range(count)
            ]
            await asyncio.gather(*futures)
            await asyncio.wait_for(reader, 300)
            return count / (time.monotonic() - started)
        finally:
            await consumer.stop()

    async def flood_offers(self, listings: list[Listing], timeout_s: float) -> float:
        """Publish as fast as possible; listings/s until every offer is out."""
        watch = Watch({x.key: int(x.body["price"]) for x in listings})
        self.tap.watch = watch
        started = time.monotonic()
        await self.publish(listings)
        await asyncio.wait_for(watch.done.wait(), timeout_s)
        self.tap.watch = None
        return len(listings) / (max(watch.seen.values()) - started)

    async def flood_llm(self, listings: list[Listing], timeout_s: float) -> float:
        """The LLM path ends in an offer or in the review queue: both count as done."""
        watch = Watch({x.key: int(x.body["price"]) for x in listings})
        self.tap.watch = watch
        started = time.monotonic()
        await self.publish(listings)
        conn = await self.db()
        keys = list(watch.expected)
        finished = None
        try:
            deadline = started + timeout_s
            while time.monotonic() < deadline:
                reviewed = await conn.fetchval(
                    "SELECT count(*) FROM review_items WHERE listing_key = ANY($1)", keys
                )
                if len(watch.seen) + reviewed >= len(keys):
                    finished = time.monotonic()
                    break
                await asyncio.sleep(0.25)
        finally:
            await conn.close()
            self.tap.watch = None
        if finished is None:
            raise TimeoutError(f"LLM path: {len(watch.seen)} of {len(keys)} out")
        return len(listings) / (finished - started)

    async def paced(
        self, listings: list[Listing], rate: float
    ) -> tuple[list[float], dict[str, list[float]], dict[str, dict[str, float]]]:
        """Offer `listings` at `rate`/s: the latency of each one raw -> offer (ms), the same
        split into hops (`hop_latencies`), and each service's consume loop cycle meanwhile
        (`loop_cycles`)."""
        assert self.producer is not None
        watch = Watch({x.key: int(x.body["price"]) for x in listings})
        before = self.all_metrics()
        hops = HopTap(self.stack.kafka_bootstrap, {x.key.encode() for x in listings})
        await hops.start()
        self.tap.watch = watch
        sent_at: dict[str, float] = {}
        futures = []
        started = time.monotonic()
        index = 0
        while index < len(listings):
            due = min(len(listings), int((time.monotonic() - started) * rate) + 1)
            while index < due:
                x = listings[index]
                sent_at[x.key] = time.monotonic()
                futures.append(
                    await self.producer.send(self.raw_topic, key=x.key.encode(), value=x.value)
                )
                index += 1
            await asyncio.sleep(0.005)
        await asyncio.gather(*futures)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(watch.done.wait(), 120)
        self.tap.watch = None
        await asyncio.sleep(0.5)  # the hop tap's last fetch
        await hops.stop()
        missing = len(watch.expected) - len(watch.seen)
        if missing:
            print(f"  {missing} of {len(watch.expected)} listings not out after 120 s")
        # Record timestamps are wall-clock epoch ms; the tap's clock is monotonic.
        wall = (time.time() - time.monotonic()) * 1000
        split = hop_latencies(
            {k: t * 1000 + wall for k, t in sent_at.items()},
            watch.created,
            {k: t * 1000 + wall for k, t in watch.seen.items()},
            hops.created,
        )
        samples = [(watch.seen[k] - sent_at[k]) * 1000 for k in watch.expected if k in watch.seen]
        return samples, split, loop_cycles(before, self.all_metrics())

    async def profiled(self, label: str, run: Any) -> Any:
        """Run `run` with py-spy sampling every service; keep each one's top frames."""
        if not self.args.profile:
            return await run
        out_dir = Path(tempfile.mkdtemp(prefix="bench-profile-"))
        spies = {s: spy(self.pid(s), out_dir / f"{s}.txt") for s in SERVICES}
        await asyncio.sleep(1.0)
        try:
            return await run
        finally:
            summary: dict[str, list[tuple[str, float]]] = {}
            for service, (proc, path) in spies.items():
                proc.send_signal(signal.SIGINT)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(20)
                summary[service] = top_frames(path)
            self.profiles[label] = summary

    def stage_rates(
        self, before: dict[str, dict[str, float]], after: dict[str, dict[str, float]]
    ) -> dict[str, dict[str, float]]:
        out = {}
        for service in SERVICES:
            busy = after[service]["stage_s"] - before[service]["stage_s"]
            done = after[service]["processed"] - before[service]["processed"]
            batches = after[service]["batches"] - before[service]["batches"]
            if done > 0 and busy > 0:
                out[service] = {
                    "messages": done,
                    "busy_s": round(busy, 3),
                    "per_s": round(done / busy, 1),
                    "ms_per_message": round(busy / done * 1000, 3),
                    "mean_batch": round(done / max(batches, 1), 1),
                }
        return out

    # -- the run ------------------------------------------------------------------------------

    async def run(self) -> dict[str, Any]:
        args = self.args
        await self.setup()
        sampler = asyncio.create_task(self.rss_sampler())
        runs: dict[str, list[float]] = {"broker": [], "cache_hit": [], "rescrape": [], "llm": []}
        stages: dict[str, list[dict[str, dict[str, float]]]] = {
            "cache_hit": [], "rescrape": [], "llm": []
        }  # fmt: skip
        outcomes: dict[str, list[dict[str, int]]] = {"cache_hit": [], "rescrape": [], "llm": []}
        cpu: dict[str, list[dict[str, float]]] = {"cache_hit": [], "rescrape": [], "llm": []}
        known: list[Listing] = []
        try:
            for repeat in range(args.repeats):
                runs["broker"].append(await self.broker_rate(args.count))
                print(f"repeat {repeat + 1}: broker {runs['broker'][-1]:,.0f} msgs/s")
                first = repeat == 0
                for path in ("cache_hit", "rescrape", "llm"):
                    if path == "llm" and args.llm_count <= 0:
                        continue
                    before = self.all_metrics()
                    if path == "cache_hit":
                        feed = self.cache_hit_feed(args.count)
                        job = self.flood_offers(feed, args.timeout_s)
                    elif path == "rescrape":
                        feed = self.rescrape_feed(feed, bump=10 * (repeat + 1))
                        job = self.flood_offers(feed, args.timeout_s)
                    else:
                        feed = self.llm_feed(args.llm_count, repeat)
                        job = self.flood_llm(feed, args.timeout_s)
                    cpu_before = self.cpu_snapshot()
                    rate = await (self.profiled(path, job) if first else job)
                    if not (first and args.profile):  # py-spy's own CPU would count
                        cpu[path].append(
                            self.cpu_per_listing(cpu_before, self.cpu_snapshot(), len(feed))
                        )
                    if path == "rescrape":
                        known = feed
                    await asyncio.sleep(1.0)
                    after = self.all_metrics()
                    stages[path].append(self.stage_rates(before, after))
                    outcomes[path].append(self.outcomes(before, after))
                    runs[path].append(rate)
                    print(
                        f"repeat {repeat + 1}: {path} {rate:,.0f} listings/s "
                        f"(load {os.getloadavg()[0]:.2f}) {outcomes[path][-1]}"
                    )
            latency: dict[str, dict[str, Any]] = {}
            for path in ("cache_hit", "rescrape"):
                rate = args.latency_rate.get(path) or statistics.median(runs[path]) / 2
                count = max(200, min(int(rate * args.latency_s), 50_000))
                repeated: list[dict[str, Any]] = []
                for repeat in range(args.latency_repeats):
                    if path == "cache_hit":
                        feed = self.cache_hit_feed(count)
                    else:
                        feed = self.rescrape_feed(known[:count], bump=7777 + repeat)
                    samples, split, cycles = await self.paced(feed, rate)
                    q = statistics.quantiles(samples, n=100)
                    repeated.append({
                        "listings": len(samples),
                        "p50_ms": round(q[49], 1),
                        "p95_ms": round(q[94], 1),
                        "p99_ms": round(q[98], 1),
                        "max_ms": round(max(samples), 1),
                        "hops_ms": {hop: percentiles(xs) for hop, xs in split.items()},
                        "loop_cycle_ms": cycles,
                    })  # fmt: skip
                    print(f"latency {path} at {rate:,.0f}/s, run {repeat + 1}: {repeated[-1]}")
                latency[path] = median_latency(rate, repeated)
        finally:
            sampler.cancel()
            await self.tap.stop()
            if self.producer is not None:
                await self.producer.stop()
        return {
            "runs": runs,
            "stages": stages,
            "latency": latency,
            "outcomes": outcomes,
            "cpu": cpu,
        }


LOOP_PHASES = ("fetch", "handle", "send", "commit")


def median_latency(rate: float, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Repeated latency runs at one rate: the median of each percentile with its min and max,
    and the hops and loop cycles of the run whose p95 is the median (the middle one by p95;
    the lower middle of an even count)."""
    middle = sorted(runs, key=lambda r: r["p95_ms"])[(len(runs) - 1) // 2]
    out: dict[str, Any] = {"offered_per_s": round(rate, 1), "runs": len(runs)}
    for key in ("p50_ms", "p95_ms", "p99_ms", "max_ms"):
        values = [r[key] for r in runs]
        out[key] = round(statistics.median(values), 1)
        out[key.replace("_ms", "_min_max_ms")] = [min(values), max(values)]
    out["listings"] = sum(r["listings"] for r in runs)
    out["hops_ms"] = middle["hops_ms"]
    out["loop_cycle_ms"] = middle["loop_cycle_ms"]
    out["each_run"] = runs
    return out


def loop_cycles(
    before: dict[str, dict[str, float]], after: dict[str, dict[str, float]]
) -> dict[str, dict[str, float]]:
    """Each service's consume loop between two metric snapshots: batches handled, their mean
    size, the mean milliseconds per batch in each phase (`catalog_loop_seconds`: fetch is the
    wait for records, idle time included; send is the wait for the broker's ack), and the
    garbage collector's pauses in all (`gc_ms`), the number of full collections (`gc_full`)
    and their pauses (`gc_full_ms`)."""
    out: dict[str, dict[str, float]] = {}
    for service, now in after.items():
        then = before.get(service, {})
        batches = now.get("batches", 0.0) - then.get("batches", 0.0)
        if batches <= 0:
            continue
        done = now.get("processed", 0.0) - then.get("processed", 0.0)
        cycle: dict[str, float] = {"batches": batches, "mean_batch": round(done / batches, 1)}
        for phase in LOOP_PHASES:
            spent = now.get(f"loop_{phase}_s", 0.0) - then.get(f"loop_{phase}_s", 0.0)
            cycle[f"{phase}_ms"] = round(spent / batches * 1000, 2)
        cycle["gc_ms"] = round((now.get("gc_s", 0.0) - then.get("gc_s", 0.0)) * 1000, 1)
        cycle["gc_full"] = now.get("gc_full", 0.0) - then.get("gc_full", 0.0)
        full_s = now.get("gc_full_s", 0.0) - then.get("gc_full_s", 0.0)
        cycle["gc_full_ms"] = round(full_s * 1000, 1)
        out[service] = cycle
    return out


def percentiles(xs: list[float]) -> dict[str, float]:
    """p50 / p95 / p99 of `xs`, rounded to 0.1."""
    q = statistics.quantiles(xs, n=100) if len(xs) > 1 else [xs[0]] * 99
    return {"p50": round(q[49], 1), "p95": round(q[94], 1), "p99": round(q[98], 1)}


def spy(pid: int, path: Path) -> tuple[subprocess.Popen[bytes], Path]:
    """py-spy sampling `pid` into `path` (collapsed stacks) until it gets SIGINT."""
    py_spy = str(Path(sys.executable).with_name("py-spy"))
    argv = [py_spy, "record", "--pid", str(pid), "--rate", "200", "--format", "raw"]
    argv += ["--nonblocking", "--output", str(path)]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc, path


# Waiting for the network or the next message, not work.
IDLE_FRAMES = ("EpollSelector.select", "select (selectors.py")


def top_frames(path: Path, limit: int = 12) -> list[tuple[str, float]]:
    """Where a service spends its busy time, from py-spy's collapsed stacks: the share of
    non-idle samples under each function of the project (inclusive) and, marked `self:`, the
    frames that themselves used most of it."""
    if not path.exists():
        return []
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        if any(frames[-1].startswith(idle) for idle in IDLE_FRAMES):
            continue
        n = int(count)
        total += n
        own["self: " + frames[-1]] += n
        for name in {
            f.split(" (")[0] + " (" + f.split(" (")[1].split(":")[0] + ")"
            for f in frames
            if " (" in f and _project_frame(f)
        }:
            inclusive[name] += n
    if not total:
        return []
    top = inclusive.most_common(limit) + own.most_common(limit // 2)
    return [(frame, round(100 * n / total, 1)) for frame, n in top]


def _project_frame(frame: str) -> bool:
    return any(
        part in frame
        for part in (
            "catalog/",
            "router/",
            "cache_lookup/",
            "persister/",
            "validator/",
            "batch_builder/",
            "batch_poller/",
        )
    )


def summarize(result: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    runs = result["runs"]

    def spread(xs: list[float]) -> dict[str, float]:
        return {
            "median": round(statistics.median(xs), 1),
            "min": round(min(xs), 1),
            "max": round(max(xs), 1),
        }

    throughput = {path: spread(xs) for path, xs in runs.items() if xs}
    broker = throughput["broker"]["median"]
    for path in ("cache_hit", "rescrape", "llm"):
        if path in throughput:
            throughput[path]["ratio_to_broker"] = round(throughput[path]["median"] / broker, 4)
    stages: dict[str, dict[str, Any]] = {}
    for path, per_run in result["stages"].items():
        merged: dict[str, Any] = {}
        for service in SERVICES:
            values = [r[service] for r in per_run if service in r]
            if values:
                merged[service] = {
                    "per_s": round(statistics.median(v["per_s"] for v in values), 1),
                    "ms_per_message": round(
                        statistics.median(v["ms_per_message"] for v in values), 3
                    ),
                    "mean_batch": round(statistics.median(v["mean_batch"] for v in values), 1),
                }
        stages[path] = merged
    cpu: dict[str, dict[str, float]] = {}
    for path, per_run in result.get("cpu", {}).items():
        if per_run:
            names = {name for r in per_run for name in r}
            medians = {n: statistics.median(r.get(n, 0.0) for r in per_run) for n in names}
            cpu[path] = {n: round(v, 3) for n, v in sorted(medians.items(), key=lambda x: -x[1])}
            cpu[path]["total"] = round(sum(medians.values()), 3)
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "load_avg_1m": round(os.getloadavg()[0], 2)},
        "config": {
            "count": args.count,
            "titles": args.titles,
            "llm_count": args.llm_count,
            "repeats": args.repeats,
            "latency_s": args.latency_s,
            "latency_repeats": args.latency_repeats,
            "partitions": PARTITIONS,
        },
        "throughput_per_s": throughput,
        "raw_runs": runs,
        "latency_at_half_rate": result["latency"],
        "stage_capacity": stages,
        "outcomes_per_run": result.get("outcomes", {}),
        "cpu_ms_per_listing": cpu,
        "rss_peak_mb": {},
        "bars": {"rescrape_per_s": BARS["rescrape"], "cache_hit_per_s": BARS["cache_hit"],
                 "p95_ms": P95_BAR_MS},
        "profile_top_self_frames_pct": result.get("profiles", {}),
    }  # fmt: skip


def table(summary: dict[str, Any]) -> str:
    t = summary["throughput_per_s"]
    broker = t["broker"]
    lines = [
        f"{'path':<10} {'median/s':>10} {'min':>9} {'max':>9} {'/broker':>8} {'bar':>7}",
        f"{'broker':<10} {broker['median']:>10,.0f} {broker['min']:>9,.0f} {broker['max']:>9,.0f}",
    ]
    bars = {"rescrape": BARS["rescrape"], "cache_hit": BARS["cache_hit"]}
    for path in ("rescrape", "cache_hit", "llm"):
        if path in t:
            r = t[path]
            bar = f"{bars[path]:,.0f}" if path in bars else "-"
            lines.append(
                f"{path:<10} {r['median']:>10,.0f} {r['min']:>9,.0f} {r['max']:>9,.0f} "
                f"{r['ratio_to_broker']:>8.3f} {bar:>7}"
            )
    lines.append("")
    lines.append(f"{'latency':<10} {'offered/s':>10} {'p50 ms':>9} {'p95 ms':>9} {'p99 ms':>9}")
    for path, lat in summary["latency_at_half_rate"].items():
        lines.append(
            f"{path:<10} {lat['offered_per_s']:>10,.0f} {lat['p50_ms']:>9,.1f} "
            f"{lat['p95_ms']:>9,.1f} {lat['p99_ms']:>9,.1f}"
        )
        for hop, q in lat.get("hops_ms", {}).items():
            lines.append(
                f"  {hop:<12} {'':>8} {q['p50']:>9,.1f} {q['p95']:>9,.1f} {q['p99']:>9,.1f}"
            )
        for service, c in lat.get("loop_cycle_ms", {}).items():
            lines.append(
                f"  {service:<12} batch {c['mean_batch']:.0f}: fetch {c['fetch_ms']:.1f} / "
                f"handle {c['handle_ms']:.1f} / send {c['send_ms']:.1f} / commit "
                f"{c['commit_ms']:.1f} ms, GC {c.get('gc_ms', 0):.0f} ms "
                f"({c.get('gc_full', 0):.0f} full: {c.get('gc_full_ms', 0):.0f} ms)"
            )
    lines.append("")
    paths = list(summary["stage_capacity"])
    lines.append(f"{'stage: ms/msg':<14} " + " ".join(f"{p:>10}" for p in paths) + "  RSS MB")
    for service in SERVICES:
        cells = []
        for p in paths:
            s = summary["stage_capacity"][p].get(service)
            cells.append(f"{s['ms_per_message']:>10.3f}" if s else f"{'-':>10}")
        rss = summary["rss_peak_mb"].get(service, 0)
        lines.append(f"{service:<14} " + " ".join(cells) + f"  {rss:>6.0f}")
    cpu = summary.get("cpu_ms_per_listing", {})
    if cpu:
        lines.append("")
        first = next(iter(cpu.values()))
        names = sorted(
            {n for per in cpu.values() for n in per},
            key=lambda n: (n == "total", -first.get(n, 0.0)),
        )
        lines.append(f"{'CPU ms/listing':<14} " + " ".join(f"{p:>10}" for p in cpu))
        for name in names:
            cells = [f"{cpu[p].get(name, 0.0):>10.3f}" for p in cpu]
            lines.append(f"{name[:14]:<14} " + " ".join(cells))
    return "\n".join(lines)


def markdown(summary: dict[str, Any]) -> str:
    """The same table in Markdown, for the README's Performance section."""
    t = summary["throughput_per_s"]
    lat = summary["latency_at_half_rate"]
    head = "| path | median listings/s | min - max | ratio to broker | bar | latency at half rate |"
    rows = [head, "|---|---|---|---|---|---|"]
    broker = t["broker"]
    rows.append(
        f"| broker alone (msgs/s) | {broker['median']:,.0f} | "
        f"{broker['min']:,.0f} - {broker['max']:,.0f} | 1 | | |"
    )
    names = {"rescrape": "re-scrape", "cache_hit": "cache hit", "llm": "LLM (emulator)"}
    for path in ("rescrape", "cache_hit", "llm"):
        if path not in t:
            continue
        r = t[path]
        bar = f">= {BARS[path]:,.0f}" if path in BARS else ""
        latency = ""
        if path in lat:
            x = lat[path]
            low, high = x.get("p95_min_max_ms", [x["p95_ms"], x["p95_ms"]])
            latency = (
                f"p50 {x['p50_ms']:,.0f} / p95 {x['p95_ms']:,.0f} ({low:,.0f} - {high:,.0f}) / "
                f"p99 {x['p99_ms']:,.0f} ms at {x['offered_per_s']:,.0f}/s"
            )
        rows.append(
            f"| {names[path]} | {r['median']:,.0f} | {r['min']:,.0f} - {r['max']:,.0f} | "
            f"{r['ratio_to_broker']:.3f} | {bar} | {latency} |"
        )
    rows += ["", "| service | " + " | ".join(
        f"{names[p]} ms/listing" for p in summary["stage_capacity"]
    ) + " | peak RSS MB |"]  # fmt: skip
    rows.append("|---" * (len(summary["stage_capacity"]) + 2) + "|")
    for service in SERVICES:
        cells = []
        for p in summary["stage_capacity"]:
            stage = summary["stage_capacity"][p].get(service)
            cells.append(f"{stage['ms_per_message']:.2f}" if stage else "-")
        rss = summary["rss_peak_mb"].get(service, 0)
        rows.append(f"| {service} | " + " | ".join(cells) + f" | {rss:.0f} |")
    hop_rows = [
        f"| {names[path]} | {hop} | {q['p50']:,.0f} | {q['p95']:,.0f} | {q['p99']:,.0f} |"
        for path, x in lat.items()
        for hop, q in x.get("hops_ms", {}).items()
    ]
    if hop_rows:
        rows += ["", "| path at half rate | hop | p50 ms | p95 ms | p99 ms |", "|---" * 5 + "|"]
        rows += hop_rows
    cycle_rows = [
        f"| {names[path]} | {service} | {c['mean_batch']:.0f} | {c['fetch_ms']:.1f} | "
        f"{c['handle_ms']:.1f} | {c['send_ms']:.1f} | {c['commit_ms']:.1f} | "
        f"{c.get('gc_ms', 0):.0f} ({c.get('gc_full', 0):.0f} full: "
        f"{c.get('gc_full_ms', 0):.0f}) |"
        for path, x in lat.items()
        for service, c in x.get("loop_cycle_ms", {}).items()
    ]
    if cycle_rows:
        rows += [
            "",
            "| path at half rate | service | mean batch | fetch ms | handle ms | send ms | "
            "commit ms | GC pauses ms (full collections: ms) |",
            "|---" * 8 + "|",
        ]
        rows += cycle_rows
    cpu = summary.get("cpu_ms_per_listing", {})
    if cpu:
        first = next(iter(cpu.values()))
        processes = sorted(
            {n for per in cpu.values() for n in per},
            key=lambda n: (n == "total", -first.get(n, 0.0)),
        )
        rows += ["", "| process | " + " | ".join(f"{names[p]} CPU ms/listing" for p in cpu) + " |"]
        rows.append("|---" * (len(cpu) + 1) + "|")
        for name in processes:
            cells = [f"{cpu[p].get(name, 0.0):.3f}" for p in cpu]
            rows.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(rows) + "\n"


def plot(summary: dict[str, Any], out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    t = summary["throughput_per_s"]
    paths = [p for p in ("rescrape", "cache_hit", "llm") if p in t]
    fig, ax = plt.subplots(figsize=(6, 3.2), dpi=80)
    med = [t[p]["median"] for p in paths]
    err = [
        [t[p]["median"] - t[p]["min"] for p in paths],
        [t[p]["max"] - t[p]["median"] for p in paths],
    ]
    ax.bar(paths, med, yerr=err, capsize=4, color=["#4c72b0", "#55a868", "#c44e52"][: len(paths)])
    for i, p in enumerate(paths):
        bar = BARS.get(p)
        if bar:
            ax.hlines(bar, i - 0.4, i + 0.4, colors="black", linestyles="dashed")
    ax.set_ylabel("listings/s (median, min-max)")
    ax.set_title(f"End to end, six services (broker alone: {t['broker']['median']:,.0f} msgs/s)")
    fig.tight_layout()
    path = out.with_name(out.stem + "-throughput.png")
    fig.savefig(path)
    plt.close(fig)
    written.append(path)

    stages = summary["stage_capacity"]
    fig, ax = plt.subplots(figsize=(6, 3.2), dpi=80)
    width = 0.8 / max(len(stages), 1)
    for i, (p, per) in enumerate(stages.items()):
        xs = [j + i * width for j in range(len(SERVICES))]
        ax.bar(xs, [per.get(s, {}).get("ms_per_message", 0) for s in SERVICES], width, label=p)
    ax.set_xticks([j + width for j in range(len(SERVICES))])
    ax.set_xticklabels([s.replace("_", "\n") for s in SERVICES], fontsize=8)
    ax.set_ylabel("handler ms per message")
    ax.legend(fontsize=8)
    ax.set_title("Per-stage cost (catalog_stage_seconds / messages)")
    fig.tight_layout()
    path = out.with_name(out.stem + "-stages.png")
    fig.savefig(path)
    plt.close(fig)
    written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--count", type=int, default=int(os.environ.get("BENCH_COUNT", "10000")),
        help="listings per cache-hit / re-scrape run (BENCH_COUNT; 100000 for the large run)",
    )  # fmt: skip
    # The LLM path runs at tens of listings per second here (batches through the emulator), so
    # its default stays small enough for the whole benchmark to finish in minutes.
    parser.add_argument(
        "--llm-count", type=int, default=None, help="default: --count, at most 500 (0 skips it)"
    )
    parser.add_argument(
        "--titles", type=int, default=None,
        help="distinct titles (masters) the warm-up settles; default --count. Fewer than --count "
        "runs --count listings over a smaller catalog: --count / --titles new stores per master",
    )  # fmt: skip
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--latency-s", type=float, default=15.0)
    parser.add_argument(
        "--latency-repeats", type=int, default=None,
        help="latency runs per path (default: --repeats); percentiles are their medians",
    )  # fmt: skip
    parser.add_argument(
        "--latency-rate", action="append", default=[], metavar="PATH=RATE",
        help="offer PATH (cache_hit, rescrape) at RATE/s in the latency run instead of half its "
        "measured maximum (repeatable)",
    )  # fmt: skip
    parser.add_argument("--timeout-s", type=float, default=1800.0)
    parser.add_argument("--profile", action="store_true", help="py-spy every service")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()
    if args.llm_count is None:
        args.llm_count = min(args.count, 500)
    if args.titles is None:
        args.titles = args.count
    if args.latency_repeats is None:
        args.latency_repeats = args.repeats
    args.latency_rate = {
        path: float(rate) for path, rate in (item.split("=", 1) for item in args.latency_rate)
    }
    args.out.mkdir(parents=True, exist_ok=True)
    # A terminated benchmark still stops its stack (the `finally` below) instead of leaving a
    # broker, Postgres and six services running.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    with tempfile.TemporaryDirectory(prefix="bench-e2e-") as root:
        stack = Stack(Path(root))
        stack.emulator_args = ["--batch-step-s", "0"]
        bench = Bench(stack, args)
        try:
            stack.start_infra()
            result = asyncio.run(bench.run())
        finally:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)  # the stop itself is not cut short
            stack.stop_all()
    result["profiles"] = bench.profiles
    summary = summarize(result, args)
    summary["rss_peak_mb"] = {s: round(b / 2**20, 1) for s, b in bench.rss_peak.items()}
    out = args.out / f"{dt.date.today().isoformat()}.json"
    out.write_text(json.dumps(summary, indent=2) + "\n")
    out.with_suffix(".md").write_text(markdown(summary))
    plots = plot(summary, out)
    print()
    print(table(summary))
    print(f"\nwrote {out}, {out.with_suffix('.md').name} and {', '.join(p.name for p in plots)}")


if __name__ == "__main__":
    main()
