"""Cache lookup latency by level (p50/p95), on real Redis and Postgres + pgvector.

Starts a throwaway Redis and Postgres from the embedded stack's binaries, stores the rules
answers of the dev set and the sample feed (about 1,000 entries) the way the persister does, then
times single-listing lookups answered by each level: L1 (Redis), L2 (pgvector, L1 off), L3
(Postgres, L1 and L2 off) and a full miss (all levels consulted).

Run: `python benchmarks/bench_cache_lookup.py`.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

import redis.asyncio as redis

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "libs"), str(ROOT / "services"), str(ROOT)]

from cache_lookup.logic import lookup_key  # noqa: E402
from catalog import products  # noqa: E402
from catalog.cache.embeddings import HashingEmbedder  # noqa: E402
from catalog.cache.l1 import L1Cache  # noqa: E402
from catalog.cache.l2 import SemanticCache  # noqa: E402
from catalog.cache.multilevel import LookupKey, MultiLevelCache  # noqa: E402
from catalog.db.migrate import migrate  # noqa: E402
from catalog.db.pool import create_pool  # noqa: E402
from catalog.devstack.stack import Stack  # noqa: E402
from catalog.domain.taxonomy import load_taxonomy  # noqa: E402
from catalog.service import Incoming  # noqa: E402
from catalog.settings import CacheSettings, PostgresSettings, Settings  # noqa: E402
from persister.logic import CatalogWriter  # noqa: E402
from router.logic import Router  # noqa: E402
from schemas.models import RawListing, RoutedListing  # noqa: E402

SAMPLES = 400


def listings() -> list[RawListing]:
    out = [RawListing.model_validate_json(line) for line in
           (ROOT / "data/sample/listings.jsonl").read_text().splitlines()]  # fmt: skip
    for line in (ROOT / "tests/data/devset.jsonl").read_text().splitlines():
        out.append(RawListing.model_validate(json.loads(line)["listing"]))
    return out


def percentiles(samples: Sequence[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.95) - 1]


async def timed(
    cache: MultiLevelCache, keys: Sequence[LookupKey], level: str | None
) -> list[float]:
    samples = []
    for key in keys:
        start = time.perf_counter()
        [hit] = await cache.lookup([key])
        samples.append((time.perf_counter() - start) * 1000)
        got = hit.level if hit else None
        if got != level:
            raise AssertionError(f"expected {level}, got {got} for {key.title!r}")
    return samples


async def run(stack: Stack) -> None:
    dsn = stack.postgres_dsn
    await migrate(dsn)
    settings = Settings(cache=CacheSettings(namespace=f"bench-{uuid.uuid4().hex[:6]}"))
    pool = await create_pool(PostgresSettings(dsn=dsn), max_size=4)  # type: ignore[arg-type]
    client = redis.Redis.from_url(stack.redis_url)
    l1 = L1Cache(client, settings.cache.namespace)
    embedder = HashingEmbedder()
    semantic = SemanticCache(pool, embedder.model, embedder.dim)
    await semantic.ensure_index()
    taxonomy = load_taxonomy()
    writer = CatalogWriter(pool, taxonomy, l1, semantic, embedder, settings.cache.namespace, 3600)
    router = Router(settings)
    stored: dict[str, RoutedListing] = {}
    for listing in listings():
        routed = router.route(listing)
        rules = routed.rules
        if rules.brand and rules.model and rules.category:
            stored.setdefault(routed.input_fingerprint, routed)
    batch = [
        Incoming(products.from_extraction(r, r.rules, source="rules", prompt_version="bench"),
                 None, {}, "bench", 0, 0)
        for r in stored.values()
    ]  # fmt: skip
    for start in range(0, len(batch), 200):
        await writer.handle_validated(batch[start : start + 200])
    keys = [lookup_key(r) for r in list(stored.values())[:SAMPLES]]
    misses = [
        LookupKey(uuid.uuid4().hex, f"Producto inexistente {i} modelo {uuid.uuid4().hex[:6]}",
                  k.category, k.brand, k.attributes, k.model)
        for i, k in enumerate(keys)
    ]  # fmt: skip

    def cache(**levels: bool) -> MultiLevelCache:
        cfg = settings.cache.model_copy(
            update={f"{name}_enabled": on for name, on in levels.items()}
        )
        return MultiLevelCache(cfg, taxonomy, l1, pool, semantic, embedder)

    cases: list[tuple[str, Callable[[], MultiLevelCache], Sequence[LookupKey], str | None]] = [
        ("L1 hit (Redis)", lambda: cache(), keys, "l1"),
        ("L2 hit (pgvector HNSW)", lambda: cache(l1=False), keys, "l2"),
        ("L3 hit (Postgres)", lambda: cache(l1=False, l2=False), keys, "l3"),
        ("miss (L1+L2+L3)", lambda: cache(), misses, None),
    ]
    print(f"cache lookup latency, {len(stored)} entries stored, {len(keys)} single lookups each")
    print(f"{'level':<26} {'p50 ms':>8} {'p95 ms':>8}")
    for name, make, subset, level in cases:
        await timed(make(), subset[:20], level)  # warm-up
        p50, p95 = percentiles(await timed(make(), subset, level))
        print(f"{name:<26} {p50:>8.2f} {p95:>8.2f}")
    await client.aclose()
    await pool.close()


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-cache-") as root:
        stack = Stack(Path(root))
        try:
            stack.start_postgres()
            stack.start_redis()
            asyncio.run(run(stack))
        finally:
            stack.stop_all()


if __name__ == "__main__":
    main()
