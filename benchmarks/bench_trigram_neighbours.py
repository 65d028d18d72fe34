"""Identity resolution's trigram neighbours at catalog scale, with and without the GiST index.

Every new listing asks Postgres for the masters of its category group whose title is within
pg_trgm's reach, best similarity first (the `rank 3` branch of `PostgresCatalog.candidates` and
of the batch prefetch). Starts a private embedded Postgres, applies the migrations and, for each
`--sizes` catalog size, fills `productos_maestros` with the demo feed's titles: each base title
once, then siblings of it with a model code and a weight of their own, as a store's catalog
holds a line's variants. Then times `--probes` lookups of the feed's titles (median of
`--repeats` passes, milliseconds a lookup) with the migrations' indexes, and again with the GiST
index of migration 016 dropped, and checks that both return the same masters.

Run: `.venv/bin/python benchmarks/bench_trigram_neighbours.py [--sizes 7000 20000 50000]`
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "libs"), str(ROOT / "services"), str(ROOT)]

import asyncpg  # noqa: E402

from catalog.devstack.stack import private_postgres  # noqa: E402
from catalog.domain.extractor import extract  # noqa: E402
from catalog.domain.identity import normalize_title  # noqa: E402
from catalog.identity.features import category_group  # noqa: E402

SAMPLE = ROOT / "data" / "sample" / "listings.jsonl"
GIST_INDEX = "idx_productos_group_title_gist"
# The lookup exactly as the resolver's candidate queries write it.
NEIGHBOURS_SQL = """
SELECT p.id FROM productos_maestros p
WHERE p.category_group = $2 AND p.match_title % $1 AND p.merged_into IS NULL
ORDER BY similarity(p.match_title, $1) DESC, p.id LIMIT 20"""


def base_titles() -> list[tuple[str, str]]:
    """The demo feed's distinct titles with their category group."""
    seen: dict[str, str] = {}
    for line in SAMPLE.read_text().splitlines():
        if not line.strip():
            continue
        name = json.loads(line)["name"]
        seen.setdefault(name, category_group(extract(name).category) or "other")
    return sorted(seen.items())


async def fill(conn: asyncpg.Connection, size: int, bases: list[tuple[str, str]]) -> None:
    have = int(await conn.fetchval("SELECT count(*) FROM productos_maestros"))
    rng = random.Random(size)
    rows = []
    for i in range(have, size):
        title, group = bases[i % len(bases)]
        if i >= len(bases):
            title = f"{title} ZB{rng.randint(100, 99999)} Peso {rng.randint(1, 999)} g"
        rows.append((f"bench-{i}", title[:500], normalize_title(title), group))
    await conn.executemany(
        """INSERT INTO productos_maestros (fingerprint, brand, model, normalized_name,
               category_id, match_title, category_group)
           VALUES ($1, 'BENCH', 'bench', $2, 'other', $3, $4)""",
        rows,
    )
    await conn.execute("ANALYZE productos_maestros")


async def lookups(
    conn: asyncpg.Connection, probes: list[tuple[str, str]], repeats: int
) -> tuple[float, list[list[int]]]:
    """Median milliseconds a lookup over `repeats` passes, and the answers of the last."""
    passes = []
    answers: list[list[int]] = []
    for _ in range(repeats):
        answers = []
        started = time.perf_counter()
        for title, group in probes:
            rows = await conn.fetch(NEIGHBOURS_SQL, normalize_title(title), group)
            answers.append([int(r["id"]) for r in rows])
        passes.append((time.perf_counter() - started) / len(probes) * 1000)
    return statistics.median(passes), answers


class _Restore(Exception):
    """Leaves the transaction that dropped the index, which brings the index back."""


async def without_index(
    conn: asyncpg.Connection, probes: list[tuple[str, str]], repeats: int
) -> tuple[float, list[list[int]]]:
    """`lookups` with the GiST index dropped inside a transaction that is then rolled back."""
    result: tuple[float, list[list[int]]] | None = None
    try:
        async with conn.transaction():
            await conn.execute(f"DROP INDEX {GIST_INDEX}")
            result = await lookups(conn, probes, repeats)
            raise _Restore
    except _Restore:
        pass
    assert result is not None
    return result


async def run(args: argparse.Namespace) -> list[dict[str, object]]:
    bases = base_titles()
    rng = random.Random(7)
    probes = [rng.choice(bases) for _ in range(args.probes)]
    out: list[dict[str, object]] = []
    async with private_postgres("bench-trigram-") as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            for size in sorted(args.sizes):
                await fill(conn, size, bases)
                with_gist, expected = await lookups(conn, probes, args.repeats)
                without, answers = await without_index(conn, probes, args.repeats)
                same = sum(a == b for a, b in zip(expected, answers, strict=True))
                row: dict[str, object] = {
                    "masters": size,
                    "ms_per_lookup_with_gist": round(with_gist, 2),
                    "ms_per_lookup_without_gist": round(without, 2),
                    "ratio": round(without / with_gist, 1),
                    "same_answers": f"{same}/{len(probes)}",
                }
                print(json.dumps(row), flush=True)
                out.append(row)
        finally:
            await conn.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[7000, 20000, 50000])
    parser.add_argument("--probes", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
