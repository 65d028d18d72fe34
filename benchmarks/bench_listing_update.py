"""The re-scrape's listing update in Postgres, with and without heap-only updates.

Starts a private embedded Postgres, applies the migrations, writes `--rows` listings and updates
them in batches of `--batch` the way the re-scrape fast path does (price, facts' price, seen-at,
`persisted_at`), `--rounds` times, for two layouts of `listings`, alternately, twice each:

* **current**: the migrations as they are (014: no index on `persisted_at`, fillfactor 85);
* **before 014**: the index on `persisted_at` back and fillfactor 100, where every update writes
  a new entry into each of the table's indexes.

Prints microseconds per updated listing and how many updates were heap-only (`n_tup_hot_upd`).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import sys
import time
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "libs"), str(ROOT / "services"), str(ROOT)]

from catalog.devstack.stack import private_postgres  # noqa: E402

UPDATE = """UPDATE listings l SET version = l.version + 1, price = t.price, last_seen = t.seen,
       facts = jsonb_set(l.facts, '{price}', to_jsonb(t.price::float8)), persisted_at = now()
    FROM unnest($1::text[], $2::int[], $3::timestamptz[]) AS t(key, price, seen)
    WHERE l.listing_key = t.key"""
LAYOUTS = {
    "current": "DROP INDEX IF EXISTS idx_listings_persisted; "
    "ALTER TABLE listings SET (fillfactor = 85)",
    "before 014": "CREATE INDEX IF NOT EXISTS idx_listings_persisted ON listings (persisted_at); "
    "ALTER TABLE listings SET (fillfactor = 100)",
}


async def measure(conn: asyncpg.Connection, args: argparse.Namespace) -> dict[str, float]:
    await conn.execute("TRUNCATE listings, precios_actuales, price_history CASCADE")
    # Rewrites the table with the layout's fillfactor.
    await conn.execute("VACUUM FULL listings")
    product = await conn.fetchval(
        """INSERT INTO productos_maestros (fingerprint, brand, model, normalized_name, category_id)
           VALUES ('bench-' || gen_random_uuid(), 'b', 'm', 'n', 'c') RETURNING id"""
    )
    await conn.execute(
        """INSERT INTO listings (listing_key, retailer, sku, product_id, input_fingerprint, title,
               price, source, facts, match_title)
           SELECT 's' || (i % 40) || ':k' || i, 's' || (i % 40), 'k' || i, $1, md5(i::text),
                  'Producto ' || i, 1000 + i, 'rules',
                  jsonb_build_object('title', 'producto ' || i, 'price', 1000 + i),
                  'producto ' || i
           FROM generate_series(1, $2) i""",
        product,
        args.rows,
    )
    await conn.execute("ANALYZE listings")
    keys = [r[0] for r in await conn.fetch("SELECT listing_key FROM listings ORDER BY 1")]
    before = await conn.fetchrow(
        "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'listings'"
    )
    busy = 0.0
    for round_ in range(args.rounds):
        for start in range(0, len(keys), args.batch):
            batch = keys[start : start + args.batch]
            seen = dt.datetime.now(dt.UTC)
            began = time.perf_counter()
            async with conn.transaction():
                await conn.execute(UPDATE, batch, [2000 + round_] * len(batch), [seen] * len(batch))
            busy += time.perf_counter() - began
        # A pause between rounds, as between a store's daily re-scrapes (pruning catches up).
        await asyncio.sleep(0.5)
    await asyncio.sleep(1.0)  # statistics are reported asynchronously
    after = await conn.fetchrow(
        "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'listings'"
    )
    updates = after[0] - before[0]
    return {
        "us_per_listing": round(busy / (len(keys) * args.rounds) * 1e6, 1),
        "hot_share": round((after[1] - before[1]) / max(updates, 1), 3),
    }


async def run(args: argparse.Namespace) -> None:
    async with private_postgres("bench-listing-update-") as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            for _ in range(2):
                for name, layout in LAYOUTS.items():
                    await conn.execute(layout)
                    print(json.dumps({"layout": name, **await measure(conn, args)}))
        finally:
            await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
