"""The persister's Python work per cache-hit listing: decode, `handle_validated`, encode.

Starts a private embedded Postgres, applies the migrations and writes `--titles` warm masters
through the persister's own `handle_validated` (one listing each, resolved in full): the demo
feed's titles the rules tier normalizes, each with a model code and a weight of its own appended,
as `bench_e2e.py`'s warm-up does. Then, `--rounds` times, every warm title is offered at a store
that did not sell it, as cache-lookup answers an L1 hit (`products.from_entry`), in batches of
`--batch`: each batch is decoded from its JSON as the consume loop does, handled (the same-title
lookup attaches every listing) and its outputs encoded and partitioned as the loop's `Sender`
does before sending. Nothing goes to a broker: the figure is the persister's own CPU (and
Postgres's wall time) per listing, what `bench_e2e.py` can only see through six services.

Prints microseconds per listing, median and min - max of the batches, for the handler and for
decode + handler + encode. `--profile PATH` writes a cProfile of the timed batches.

Run: `.venv/bin/python benchmarks/bench_attach_batch.py`
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import datetime as dt
import gc
import json
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "libs"), str(ROOT / "services"), str(ROOT)]

from catalog import products  # noqa: E402
from catalog.db.pool import create_pool  # noqa: E402
from catalog.devstack.stack import private_postgres  # noqa: E402
from catalog.domain.identity import normalize_title  # noqa: E402
from catalog.domain.taxonomy import load_taxonomy  # noqa: E402
from catalog.inline import InlineNormalizer  # noqa: E402
from catalog.kafka.codec import decode, encode  # noqa: E402
from catalog.kafka.failures import FaultInjector  # noqa: E402
from catalog.kafka.loop import Incoming, Rejected, Sender  # noqa: E402
from catalog.settings import PostgresSettings, Settings  # noqa: E402
from persister.logic import CatalogWriter  # noqa: E402
from router.logic import Router  # noqa: E402
from schemas.models import RawListing, ValidatedProduct  # noqa: E402

SAMPLE = ROOT / "data" / "sample" / "listings.jsonl"
PARTITIONS = list(range(4))


def warm_listings(count: int) -> list[RawListing]:
    """`count` distinct titles from the demo feed's, as `bench_e2e.py` warms them."""
    rows = [json.loads(line) for line in SAMPLE.read_text().splitlines() if line.strip()]
    by_title: dict[str, dict[str, Any]] = {}
    for row in rows:
        by_title.setdefault(normalize_title(row["name"]), row)
    bases = list(by_title.values())
    tag = uuid.uuid4().hex[:4]
    seen = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    return [
        RawListing.model_validate(
            {
                **bases[i % len(bases)],
                "name": f"{bases[i % len(bases)]['name']} ZB{i:05d} Peso {i + 1} g",
                "sku": f"W{tag}-{i}",
                "ean": None,
                "url": None,
                "scraped_at": seen,
            }
        )
        for i in range(count)
    ]


def incoming(values: list[bytes]) -> list[Incoming[ValidatedProduct]]:
    return [
        Incoming(decode(ValidatedProduct, v), None, {}, "products.validated.v1", 0, i)
        for i, v in enumerate(values)
    ]


async def run(args: argparse.Namespace) -> None:
    settings = Settings(environment="test")
    normalizer = InlineNormalizer(settings)
    router = Router(settings)
    sender = Sender(settings, FaultInjector(settings.faults, "bench"), "bench")
    async with private_postgres("bench-attach-") as dsn:
        pool = await create_pool(PostgresSettings(dsn=dsn))  # type: ignore[arg-type]
        writer = CatalogWriter(pool, load_taxonomy(), None, None, None, "bench", 3600)
        try:
            warm: list[ValidatedProduct] = []
            for listing in warm_listings(args.titles * 2):
                result = await normalizer.normalize_one(listing)
                if result.product is not None and result.product.source == "rules":
                    warm.append(result.product)
                if len(warm) == args.titles:
                    break
            started = time.perf_counter()
            for first in range(0, len(warm), 100):
                chunk = [encode(p) for p in warm[first : first + 100]]
                await writer.handle_validated(incoming(chunk))
            async with pool.acquire() as conn:
                await conn.execute("ANALYZE")
                masters = await conn.fetchval("SELECT count(*) FROM productos_maestros")
            print(
                f"warm-up: {len(warm)} titles, {masters} masters, "
                f"{time.perf_counter() - started:.0f} s"
            )
            # As the persister does after its start (`persister.app`): what is loaded by
            # now lives as long as the process, out of the collector's full passes.
            gc.freeze()
            handler_us: list[float] = []
            whole_us: list[float] = []
            cpu_us: list[float] = []
            # The handler's time by round: a round adds one store's offer to every master.
            by_round: list[list[float]] = []
            outcomes = 0
            profiler = cProfile.Profile() if args.profile else None
            for round_ in range(args.rounds):
                by_round.append([])
                seen = dt.datetime(2026, 12, 2, tzinfo=dt.UTC) + dt.timedelta(hours=round_)
                hits = []
                for i, p in enumerate(warm):
                    listing = p.listing.model_copy(
                        update={
                            "retailer": f"store-{round_}",
                            "sku": f"H{round_}-{i}",
                            "scraped_at": seen,
                        }
                    )
                    routed = router.route(RawListing.model_validate(listing.model_dump()))
                    hits.append(encode(products.from_entry(routed, products.to_entry(p), "l1")))
                for first in range(0, len(hits), args.batch):
                    values = hits[first : first + args.batch]
                    if profiler is not None:
                        profiler.enable()
                    began, cpu_began = time.perf_counter(), time.process_time()
                    batch = incoming(values)
                    handled = time.perf_counter()
                    results = await writer.handle_validated(batch)
                    done = time.perf_counter()
                    sends = [
                        sender.record(out, i, {})
                        for i, result in enumerate(results)
                        if not isinstance(result, Rejected)
                        for out in result
                    ]
                    for send in sends:
                        sender._partitioner(send.key, PARTITIONS, PARTITIONS)
                    ended, cpu_ended = time.perf_counter(), time.process_time()
                    if profiler is not None:
                        profiler.disable()
                    handler_us.append((done - handled) / len(values) * 1e6)
                    by_round[-1].append(handler_us[-1])
                    whole_us.append((ended - began) / len(values) * 1e6)
                    cpu_us.append((cpu_ended - cpu_began) / len(values) * 1e6)
                    outcomes += sum(1 for s in sends if s.topic.endswith("offers.v1"))
            if profiler is not None:
                profiler.dump_stats(args.profile)
            async with pool.acquire() as conn:
                attached = await conn.fetchval(
                    "SELECT count(*) FROM listings WHERE resolution = 'attached'"
                )
            print(
                json.dumps(
                    {
                        "listings": len(warm) * args.rounds,
                        "attached": attached,
                        "offer_events": outcomes,
                        "handler_us_per_listing": round(statistics.median(handler_us), 1),
                        "handler_min_max": [round(min(handler_us)), round(max(handler_us))],
                        "decode_handle_encode_us_per_listing": round(
                            statistics.median(whole_us), 1
                        ),
                        "decode_handle_encode_min_max": [
                            round(min(whole_us)),
                            round(max(whole_us)),
                        ],
                        "cpu_us_per_listing": round(statistics.median(cpu_us), 1),
                        "cpu_min_max": [round(min(cpu_us)), round(max(cpu_us))],
                        "handler_us_by_round": [round(statistics.median(r)) for r in by_round],
                    }
                )
            )
        finally:
            await pool.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--titles", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=250)
    parser.add_argument("--profile", type=str, default=None, help="write a cProfile here")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
