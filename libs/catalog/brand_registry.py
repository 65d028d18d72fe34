"""The brand registry: every brand the platform has seen, with counts, growing as listings arrive.

The packaged alias table (`domain/data/brands.yaml`) knows a few hundred brands; real listings
name many more. Each brand read from a listing (the retailer's `brand` field, the title, a
model's answer) is recorded here under its canonical spelling, so an operator can see which
brands are new (`catalog brands list --new`) and fold a misspelling or former name into a brand
(`catalog brands alias ALIAS BRAND`). Aliases live in `brand_aliases` (keyed by the folded alias
spelling, as the packaged ones are), so a later observation of an alias counts for its brand.

All functions take an asyncpg connection; `record` runs inside the caller's transaction when one
is open (the persister records in the transaction that writes the offer).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from catalog import metrics
from catalog.domain.brands import BrandAliases, brand_spelling, load_brands
from catalog.domain.units import alias_key

__all__ = [
    "SOURCES",
    "BrandRow",
    "alias",
    "canonical_spelling",
    "list_brands",
    "observations",
    "record",
]

# Where a brand observation comes from.
SOURCE_LISTING = "listing"  # the retailer's brand field
SOURCE_TITLE = "title"  # read from the title by the rules
SOURCE_LLM = "llm"  # named by a model's answer
SOURCES = (SOURCE_LISTING, SOURCE_TITLE, SOURCE_LLM)

_MAX_BRAND = 100
_MAX_SOURCE = 30
# Per-source counts of an existing row (`b`) plus those of the incoming one (`EXCLUDED`).
_MERGE_SOURCES = """(
    SELECT COALESCE(
        jsonb_object_agg(
            k,
            COALESCE((b.sources ->> k)::bigint, 0) + COALESCE((EXCLUDED.sources ->> k)::bigint, 0)
        ),
        '{}'::jsonb)
    FROM jsonb_object_keys(b.sources || EXCLUDED.sources) AS k)"""


@dataclass(frozen=True)
class BrandRow:
    brand: str
    listings: int
    sources: dict[str, int]
    first_seen: datetime
    last_seen: datetime
    known: bool  # in the packaged alias table


def canonical_spelling(raw: str | None, brands: BrandAliases | None = None) -> str | None:
    """The registry key of a brand: the packaged canonical name when the alias table knows it
    (`"apple inc"` -> APPLE), else its one spelling (`brand_spelling`: upper case, single
    spaces, unaccented vowels), as the catalog writes it; None when empty."""
    if raw is None:
        return None
    text = re.sub(r"\s+", " ", str(raw)).strip()
    if not alias_key(text):
        return None
    known = (brands or load_brands()).canonical(text)
    return known[:_MAX_BRAND] if known else brand_spelling(text)


def observations(
    listing_brand: str | None, brand: str | None, source: str
) -> list[tuple[str, str]]:
    """The observations one normalized listing makes: its brand field as the retailer wrote it,
    and the brand it was normalized to, credited to the title (rules) or to the model (llm)."""
    found: list[tuple[str, str]] = []
    from_field = canonical_spelling(listing_brand)
    if from_field is not None:
        found.append((from_field, SOURCE_LISTING))
    if brand and canonical_spelling(brand) != from_field:
        found.append((brand, SOURCE_LLM if source == "llm" else SOURCE_TITLE))
    return found


async def record(conn: Any, observations: Sequence[tuple[str, str]]) -> None:
    """Count each (brand, source) observation: insert new brands, add to known ones.

    Brands are canonicalized (packaged aliases, then the registry's own `brand_aliases`), so
    "Samsung", "SAMSUNG" and an aliased "SAMSUMG" count for one brand. Rows are written in brand
    order, so concurrent writers never deadlock on each other.
    """
    counts: Counter[tuple[str, str]] = Counter()
    for raw_brand, raw_source in observations:
        brand = canonical_spelling(raw_brand)
        source = (str(raw_source or "").strip().lower() or "unknown")[:_MAX_SOURCE]
        if brand is not None:
            counts[(brand, source)] += 1
    if not counts:
        return
    rows = sorted(counts.items())
    # One statement: each spelling resolved through the registry's own `brand_aliases`, the
    # counts summed per brand and source, then inserted or added in brand order.
    inserted = await conn.fetch(
        f"""WITH t AS (
               SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[])
                   AS t(brand, alias, source, n)
           ), resolved AS (
               SELECT coalesce(a.brand_canonical, t.brand) AS brand, t.source,
                      sum(t.n)::bigint AS n
               FROM t LEFT JOIN brand_aliases a ON a.alias = t.alias
               GROUP BY 1, 2
           )
           INSERT INTO brands AS b (brand, listings, sources)
           SELECT brand, sum(n)::bigint, jsonb_object_agg(source, n)
           FROM resolved GROUP BY brand ORDER BY brand
           ON CONFLICT (brand) DO UPDATE SET
               listings = b.listings + EXCLUDED.listings,
               sources = {_MERGE_SOURCES},
               last_seen = now()
           RETURNING (xmax = 0) AS created""",
        [brand for (brand, _), _ in rows],
        [alias_key(brand) for (brand, _), _ in rows],
        [source for (_, source), _ in rows],
        [n for _, n in rows],
    )
    # `xmax = 0` is Postgres' mark of a row this statement inserted rather than updated.
    metrics.BRANDS_OBSERVED.inc(sum(1 for row in inserted if row["created"]))


async def list_brands(conn: Any, *, new_only: bool = False, limit: int = 100) -> list[BrandRow]:
    """Registered brands, most listed first; `new_only`: those the packaged table does not know
    (nor the unbranded marker), newest first."""
    packaged = load_brands()
    rows = await conn.fetch(
        """SELECT brand, listings, sources, first_seen, last_seen FROM brands
           ORDER BY CASE WHEN $1 THEN extract(epoch FROM first_seen) ELSE listings END DESC,
                    brand""",
        new_only,
    )
    out: list[BrandRow] = []
    for row in rows:
        known = row["brand"] in packaged
        if new_only and known:
            continue
        sources = row["sources"]
        if isinstance(sources, str):
            sources = json.loads(sources)
        out.append(
            BrandRow(
                brand=row["brand"],
                listings=int(row["listings"]),
                sources={str(k): int(v) for k, v in (sources or {}).items()},
                first_seen=row["first_seen"],
                last_seen=row["last_seen"],
                known=known,
            )
        )
        if len(out) >= limit:
            break
    return out


async def alias(conn: Any, alias_name: str, brand: str) -> int:
    """Make `alias_name` a spelling of `brand`: record the alias and fold the alias's registry
    row (counts, sources, first sighting) into the brand's. Returns the listings moved."""
    target = canonical_spelling(brand)
    spelled = canonical_spelling(alias_name)
    key = alias_key(alias_name)
    if target is None or spelled is None or not key:
        raise ValueError("alias and brand must both name something")
    if spelled == target:
        raise ValueError(f"{alias_name!r} already is {target}")
    async with conn.transaction():
        await conn.execute(
            """INSERT INTO brand_aliases (brand_canonical, alias, confidence) VALUES ($1, $2, 1.0)
               ON CONFLICT (alias) DO UPDATE SET brand_canonical = EXCLUDED.brand_canonical,
                   confidence = EXCLUDED.confidence""",
            target,
            key[:_MAX_BRAND],
        )
        moved = await conn.fetchrow(
            "DELETE FROM brands WHERE brand = $1 RETURNING listings, sources, first_seen",
            spelled,
        )
        if moved is None:
            await conn.execute(
                "INSERT INTO brands (brand) VALUES ($1) ON CONFLICT (brand) DO NOTHING", target
            )
            return 0
        await conn.execute(
            f"""INSERT INTO brands AS b (brand, listings, sources, first_seen)
               VALUES ($1, $2, $3::jsonb, $4)
               ON CONFLICT (brand) DO UPDATE SET
                   listings = b.listings + EXCLUDED.listings,
                   sources = {_MERGE_SOURCES},
                   first_seen = LEAST(b.first_seen, EXCLUDED.first_seen),
                   last_seen = now()""",
            target,
            int(moved["listings"]),
            moved["sources"] if isinstance(moved["sources"], str) else json.dumps(moved["sources"]),
            moved["first_seen"],
        )
        return int(moved["listings"])
