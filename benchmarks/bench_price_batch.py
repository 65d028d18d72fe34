"""The re-scrape's price transaction in Postgres: `CatalogWriter.handle_prices` per batch.

Starts a private embedded Postgres, applies the migrations, writes `--masters` masters with two
listings each (two stores) and their best prices, and then moves the price of one store's
listings in batches of `--batch` through the persister's own `handle_prices`, `--rounds` times:
each batch locks its listings, applies prices and history, upserts best prices, and bumps the
version of every master (its lowest price moved). Two layouts of `productos_maestros`,
alternately, twice each:

* **current**: the migrations as they are (015: the search columns filled by a trigger, only
  when the text they are made of is written, and 20% free room on each page of masters);
* **before 015**: `search_text` / `search_tsv` as 011's stored generated columns, which Postgres
  computes again on every UPDATE of a master, a version bump included, and full pages.

Listing `i` of a store belongs to a master far from listing `i + 1`'s, so a batch touches
masters all over the table, as a store's re-scrape does.

Prints milliseconds per batch (median, min - max), microseconds per listing and the median of
the version-bump statement.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "libs"), str(ROOT / "services"), str(ROOT)]

from catalog.db.migrate import load_migrations  # noqa: E402
from catalog.db.pool import create_pool  # noqa: E402
from catalog.devstack.stack import private_postgres  # noqa: E402
from catalog.domain.taxonomy import load_taxonomy  # noqa: E402
from catalog.kafka.loop import Incoming, Rejected  # noqa: E402
from catalog.settings import PostgresSettings  # noqa: E402
from persister.logic import CatalogWriter  # noqa: E402
from schemas.models import PriceObservation, RawListing  # noqa: E402

# A prime that divides no master count used here: listing i -> master (i * SCATTER) % masters + 1.
SCATTER = 7919

# 011's definitions of the two columns, as they were before 015.
BEFORE_015 = """
DROP TRIGGER IF EXISTS productos_maestros_search_columns ON productos_maestros;
DROP FUNCTION IF EXISTS productos_maestros_search_columns();
ALTER TABLE productos_maestros DROP COLUMN search_text, DROP COLUMN search_tsv;
ALTER TABLE productos_maestros
    ADD COLUMN search_text TEXT GENERATED ALWAYS AS (
        lower(catalog_unaccent(
            coalesce(brand, '') || ' ' || coalesce(model, '') || ' ' ||
            coalesce(normalized_name, '') || ' ' || replace(coalesce(category_id, ''), '_', ' ')))
    ) STORED,
    ADD COLUMN search_tsv TSVECTOR GENERATED ALWAYS AS (
        setweight(to_tsvector('spanish'::regconfig,
                              catalog_unaccent(coalesce(brand, '') || ' ' || coalesce(model, ''))),
                  'A')
        || setweight(to_tsvector('spanish'::regconfig,
                                 catalog_unaccent(coalesce(normalized_name, ''))), 'B')
        || setweight(to_tsvector('spanish'::regconfig,
                                 replace(coalesce(category_id, ''), '_', ' ')), 'C')
    ) STORED;
CREATE INDEX idx_productos_search_tsv ON productos_maestros USING GIN (search_tsv)
    WHERE active AND merged_into IS NULL;
CREATE INDEX idx_productos_search_trgm ON productos_maestros
    USING GIN (search_text gin_trgm_ops) WHERE active AND merged_into IS NULL;
ALTER TABLE productos_maestros RESET (fillfactor);
"""


def layouts() -> dict[str, str]:
    """Each layout's SQL, from the migrated schema: before 015 first (015 applies to it)."""
    current = next(m.sql for m in load_migrations() if m.version == 15)
    return {"before 015": BEFORE_015, "current": current}


async def fill(conn: asyncpg.Connection, masters: int) -> None:
    await conn.execute(
        "TRUNCATE listings, precios_actuales, price_history, productos_maestros CASCADE"
    )
    await conn.execute("VACUUM FULL productos_maestros")
    await conn.execute(
        """INSERT INTO productos_maestros (id, fingerprint, brand, model, normalized_name,
               category_id, attributes)
           SELECT i, 'bench-' || i, 'MARCA ' || (i % 97), 'Modelo X' || i,
                  'Celular Marca ' || (i % 97) || ' Modelo X' || i || ' 128GB Negro', 'smartphones',
                  '{"storage_gb": 128, "color": "black"}'::jsonb
           FROM generate_series(1, $1) i""",
        masters,
    )
    for store in ("lider", "jumbo"):
        # Listing i of a store belongs to a master far from listing i + 1's: a batch of a
        # store's listings touches masters all over the table, as a store's re-scrape does.
        await conn.execute(
            """INSERT INTO listings (listing_key, retailer, sku, product_id, input_fingerprint,
                   title, price, source, facts, match_title, identity_digest, url)
               SELECT $2 || ':k' || i, $2, 'k' || i, (i::bigint * $3) % $1 + 1, md5(i::text),
                      'Celular Modelo X' || i || ' 128GB', 1000 + i, 'rules',
                      jsonb_build_object('title', 'celular modelo x' || i, 'price', 1000 + i),
                      'celular modelo x' || i, 'digest-' || i, 'https://' || $2 || '/p/' || i
               FROM generate_series(1, $1) i""",
            masters,
            store,
            SCATTER,
        )
    await conn.execute(
        """INSERT INTO precios_actuales (product_id, retailer, sku, listing_key, price_current,
               currency, stock_status, url, last_seen)
           SELECT product_id, retailer, sku, listing_key, price, currency, stock_status, url,
                  last_seen FROM listings"""
    )
    await conn.execute("ANALYZE")


def observations(first: int, last: int, round_: int) -> list[Incoming[PriceObservation]]:
    # Later than the rows `fill` wrote: an older observation is a late redelivery, skipped.
    seen = dt.datetime.now(dt.UTC) + dt.timedelta(hours=round_ + 1)
    return [
        Incoming(
            PriceObservation(
                listing=RawListing(
                    retailer="lider",
                    sku=f"k{i}",
                    name=f"Celular Modelo X{i} 128GB",
                    price=900 + i - round_,
                    scraped_at=seen,
                    url=f"https://lider/p/{i}",
                ),
                identity_digest=f"digest-{i}",
            ),
            None,
            {},
            "products.prices.v1",
            0,
            i,
        )
        for i in range(first, last + 1)
    ]


async def measure(pool: asyncpg.Pool, writer: CatalogWriter, args: argparse.Namespace) -> Any:
    async with pool.acquire() as conn:
        await fill(conn, args.masters)
    bumps: list[float] = []

    def logged(query: Any) -> None:
        if query.query.lstrip().startswith("UPDATE productos_maestros p SET version"):
            bumps.append(query.elapsed)

    batches: list[float] = []
    for round_ in range(args.rounds):
        for first in range(1, args.masters + 1, args.batch):
            batch = observations(first, min(first + args.batch - 1, args.masters), round_)
            async with pool.acquire() as conn:
                conn.add_query_logger(logged)
            began = time.perf_counter()
            results = await writer.handle_prices(batch)
            batches.append(time.perf_counter() - began)
            async with pool.acquire() as conn:
                conn.remove_query_logger(logged)
            out = results[0]
            if isinstance(out, Rejected) or len(out) != 2 * len(batch):
                raise RuntimeError("every listing's offer and master state should be published")
        await asyncio.sleep(0.5)
    median = statistics.median(batches)
    return {
        "ms_per_batch": round(median * 1000, 1),
        "min_max_ms": [round(min(batches) * 1000, 1), round(max(batches) * 1000, 1)],
        "us_per_listing": round(median / args.batch * 1e6),
        "version_bump_ms": round(statistics.median(bumps) * 1000, 1),
    }


async def run(args: argparse.Namespace) -> None:
    async with private_postgres("bench-price-batch-") as dsn:
        pool = await create_pool(PostgresSettings(dsn=dsn))  # type: ignore[arg-type]
        writer = CatalogWriter(pool, load_taxonomy(), None, None, None, "bench", 3600)
        try:
            for _ in range(2):
                for name, layout in layouts().items():
                    async with pool.acquire() as conn:
                        await conn.execute(layout)
                    print(json.dumps({"layout": name, **await measure(pool, writer, args)}))
        finally:
            await pool.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--masters", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
