"""The Postgres catalog of master products, as identity resolution reads it.

`PostgresCatalog` is the `CandidateSource` the persister (and `catalog resolve --rerun`) hands
to the resolver, inside the caller's transaction:

* `known()`: the listing already resolved with the same normalized title and GTIN (a re-scrape:
  no matching at all), or the master a person chose for it in review;
* `same_title_masters()`: for a whole batch of new listings in one query, the live master the
  other listings with the same normalized title and GTIN already hold, offered through one of
  those listings (the cache-hit path: the same product at another store);
* `candidates()`: live masters (never merged ones) sharing the GTIN, sharing a model code
  (array overlap), of the same brand and category group with one of the title's code tokens,
  trigram neighbours of the normalized title within the category group, or, when the listing's
  title has an embedding (the L2 semantic cache's `ai_embeddings`), the masters of its nearest
  embedded listings in its category (pgvector). Identifier hits first, then by title
  similarity. At most `limit` masters, each offered through its latest offers (one candidate
  each, the resolver keeps the best score).

Blocking keys (GTIN, each model code, else brand + category group) name what two listings of
one new product necessarily share; `lock_blocking_keys` serialises master creation on them with
transaction-scoped advisory locks, so two replicas cannot both create the same master.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from catalog.domain.identity import normalize_title
from catalog.identity.features import category_group
from catalog.identity.identifiers import code_stem
from catalog.identity.model import OFFERS_PER_MASTER, AttributeValue, Candidate, Facts
from catalog.identity.resolver import new_master_id

__all__ = [
    "PostgresCatalog",
    "VectorIndex",
    "blocking_keys",
    "category_group",
    "code_keys",
    "code_tokens",
    "facts_from_json",
    "facts_to_json",
    "fresh_master_id",
    "lock_blocking_keys",
    "master_seed",
    "same_title_masters",
]

# Tokens that carry both letters and digits but only state a quantity, not a model.
_UNIT_TOKEN = re.compile(
    r"\d+(?:\.\d+)?(?:gb|tb|mb|in|ml|l|kg|g|un|hz|mah|mp|w|mm|cm|m|oz|lb|k|p|v|a|x)"
)
_HAS_DIGIT = re.compile(r"\d")
_HAS_ALPHA = re.compile(r"[a-z]")


def code_keys(codes: Iterable[str]) -> list[str]:
    """Model codes and their stems without regional or colour suffixes (`wh1000xm3b` ->
    `wh1000xm3`): two spellings of one model share a key."""
    keys = set(codes)
    keys.update(code_stem(code) for code in list(keys))
    return sorted(key for key in keys if len(key) >= 4)


def code_tokens(facts: Facts) -> list[str]:
    """Title tokens that look like model codes (letters and digits, not a quantity) plus the
    facts' codes: what "same brand and model-code tokens" compares."""
    tokens = {
        t
        for t in facts.title.split()
        if len(t) >= 3
        and _HAS_DIGIT.search(t)
        and _HAS_ALPHA.search(t)
        and not _UNIT_TOKEN.fullmatch(t)
    }
    return sorted(tokens | set(facts.codes))


def blocking_keys(facts: Facts) -> list[str]:
    """What two listings of one product share for sure enough to serialise creation on: the
    GTIN, each model code, and brand + category group (the coarse fallback)."""
    keys = [f"gtin:{facts.gtin}"] if facts.gtin else []
    keys.extend(f"code:{c}" for c in code_keys(facts.codes))
    keys.append(f"brand:{facts.brand or ''}|{category_group(facts.category)}")
    return keys


def _lock_id(key: str) -> int:
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big", signed=True)


async def lock_blocking_keys(conn: asyncpg.Connection, keys: Iterable[str]) -> None:
    """Take the transaction-scoped advisory lock of every key, in one global order (no
    deadlock between two transactions locking overlapping sets)."""
    ids = sorted({_lock_id(k) for k in keys})
    if ids:
        await conn.execute(
            "SELECT pg_advisory_xact_lock(k) FROM unnest($1::bigint[]) WITH ORDINALITY AS t(k, n) "
            "ORDER BY n",
            ids,
        )


async def master_seed(conn: asyncpg.Connection, listing_key: str) -> str:
    """The key a new master first seen as `listing_key` takes its id from
    (`new_master_id(seed)`): the listing key itself, or, when the listing already created a
    master before (it was retitled since, or a person declared it a new product), the first of
    `"key#2"`, `"key#3"`... whose id is free. Deterministic for a given catalog, so a replay
    derives the same id."""
    seeds = [listing_key] + [f"{listing_key}#{n}" for n in range(2, 12)]
    ids = {new_master_id(seed): seed for seed in seeds}
    taken = {
        r["fingerprint"]
        for r in await conn.fetch(
            "SELECT fingerprint FROM productos_maestros WHERE fingerprint = ANY($1)", list(ids)
        )
    }
    for master_id, seed in ids.items():
        if master_id not in taken:
            return seed
    raise RuntimeError(f"{listing_key}: no free master id after {len(seeds)} tries")


async def fresh_master_id(conn: asyncpg.Connection, listing_key: str) -> str:
    """The id of a new master first seen as `listing_key` (see `master_seed`)."""
    return new_master_id(await master_seed(conn, listing_key))


class SeededSource:
    """A `CandidateSource` that answers `known` for the real listing key whatever key the
    resolver passes: the persister resolves with a master seed as the listing key, so that a
    new master's id never collides with one the listing created before."""

    def __init__(
        self, source: PostgresCatalog, listing_key: str, input_fingerprint: str | None = None
    ) -> None:
        self.source = source
        self.listing_key = listing_key
        self.input_fingerprint = input_fingerprint

    async def known(self, listing_key: str, title: str, gtin: str | None) -> str | None:
        return await self.source.known(self.listing_key, title, gtin)

    async def candidates(self, facts: Facts, limit: int) -> Sequence[Candidate]:
        return await self.source.candidates(facts, limit, self.input_fingerprint)


def facts_to_json(facts: Facts) -> dict[str, Any]:
    return {
        "title": facts.title,
        "brand": facts.brand,
        "category": facts.category,
        "attributes": dict(facts.attributes),
        "gtin": facts.gtin,
        "codes": sorted(facts.codes),
        "model": facts.model,
        "price": facts.price,
        "retailer": facts.retailer,
    }


def _load_json(value: Any) -> Any:
    # Connections without the JSON codec return text.
    return json.loads(value) if isinstance(value, str) else value


def facts_from_json(value: Any) -> Facts:
    data: Mapping[str, Any] = _load_json(value) or {}
    attributes: dict[str, AttributeValue] = dict(data.get("attributes") or {})
    price = data.get("price")
    return Facts(
        title=str(data.get("title") or ""),
        brand=data.get("brand"),
        category=data.get("category"),
        attributes=attributes,
        gtin=data.get("gtin"),
        codes=frozenset(data.get("codes") or ()),
        model=data.get("model"),
        price=float(price) if price is not None else None,
        retailer=data.get("retailer"),
    )


def master_facts(row: Mapping[str, Any]) -> Facts:
    """A master's facts from its row (`MASTER_FACTS_COLUMNS`)."""
    price = row["min_price"]
    return Facts(
        title=row["match_title"],
        brand=row["match_brand"],
        category=row["category_id"],
        attributes=dict(_load_json(row["attributes"]) or {}),
        gtin=row["gtin"],
        codes=frozenset(row["model_codes"] or ()),
        model=row["model"],
        price=float(price) if price is not None else None,
    )


MASTER_FACTS_COLUMNS = """p.id, p.fingerprint, p.normalized_name, p.match_title, p.match_brand,
    p.category_id, p.attributes, p.gtin, p.model_codes, p.model,
    (SELECT min(pa.price_current) FROM precios_actuales pa WHERE pa.product_id = p.id)
        AS min_price,
    ARRAY(SELECT DISTINCT pa.retailer FROM precios_actuales pa WHERE pa.product_id = p.id)
        AS retailers"""

# Identifier hits rank first (0 GTIN, 1 model code, 2 brand + code token), then trigram
# neighbours (3); within a rank, by title similarity. `%` is pg_trgm's similarity operator
# (threshold `pg_trgm.similarity_threshold`, 0.3 by default), served by the GIN index.
_CANDIDATES_SQL = f"""
WITH hits AS (
    (SELECT p.id, 0 AS rank FROM productos_maestros p
     WHERE $1::text IS NOT NULL AND p.gtin = $1 AND p.merged_into IS NULL LIMIT $6)
    UNION ALL
    (SELECT l.product_id, 0 FROM listings l
     WHERE $1::text IS NOT NULL AND l.gtin = $1 LIMIT $6)
    UNION ALL
    (SELECT p.id, 1 FROM productos_maestros p
     WHERE cardinality($2::text[]) > 0 AND p.code_keys && $2::text[]
       AND p.merged_into IS NULL LIMIT $6)
    UNION ALL
    (SELECT p.id, 2 FROM productos_maestros p
     WHERE $3::text IS NOT NULL AND p.match_brand = $3 AND p.category_group = $5
       AND $8::text <> '' AND p.match_title ~ $8 AND p.merged_into IS NULL
     ORDER BY similarity(p.match_title, $4) DESC LIMIT $6)
    UNION ALL
    (SELECT p.id, 3 FROM productos_maestros p
     WHERE p.category_group = $5 AND p.match_title % $4 AND p.merged_into IS NULL
     ORDER BY similarity(p.match_title, $4) DESC LIMIT $6)
    UNION ALL
    (SELECT unnest($9::int[]), 4)
), ranked AS (
    SELECT id, min(rank) AS rank FROM hits WHERE NOT (id = ANY($7::int[])) GROUP BY id
), top AS (
    SELECT {MASTER_FACTS_COLUMNS}, r.rank, similarity(p.match_title, $4) AS sim
    FROM ranked r JOIN productos_maestros p ON p.id = r.id
    WHERE p.merged_into IS NULL
    ORDER BY r.rank, sim DESC, p.id
    LIMIT $6
)
SELECT t.*, o.facts AS offer_facts, o.n
FROM top t LEFT JOIN LATERAL (
    SELECT l.facts, row_number() OVER (ORDER BY l.first_seen DESC, l.listing_key) AS n
    FROM listings l WHERE l.product_id = t.id
    ORDER BY l.first_seen DESC, l.listing_key LIMIT $10
) AS o ON TRUE
ORDER BY t.rank, t.sim DESC, t.id, o.n"""


async def recent_offers(
    conn: asyncpg.Connection, product_ids: Sequence[int]
) -> dict[int, list[Facts]]:
    """The facts of each master's latest `OFFERS_PER_MASTER` listings, latest first."""
    if not product_ids:
        return {}
    rows = await conn.fetch(
        """SELECT product_id, facts FROM (
               SELECT product_id, facts, row_number() OVER (
                   PARTITION BY product_id ORDER BY first_seen DESC, listing_key) AS n
               FROM listings WHERE product_id = ANY($1)) AS t
           WHERE n <= $2 ORDER BY product_id, n""",
        list(product_ids),
        OFFERS_PER_MASTER,
    )
    out: dict[int, list[Facts]] = {}
    for r in rows:
        out.setdefault(r["product_id"], []).append(facts_from_json(r["facts"]))
    return out


# The most recent listings of a title that are read to decide whether they agree on a master.
SAME_TITLE_LISTINGS = 5


@dataclass(frozen=True)
class SameTitleMaster:
    """The master other listings with a listing's title hold, and one of them as a candidate."""

    product_id: int
    candidate: Candidate
    latest_seen: datetime | None = None
    """The latest `first_seen` among the master's listings (the order it is fused in)."""


def _identity_facts(facts: Mapping[str, Any]) -> dict[str, Any]:
    """Facts without the ones that differ between offers of one product (price, store)."""
    return {k: v for k, v in facts.items() if k not in ("price", "retailer")}


async def same_title_masters(
    conn: asyncpg.Connection, listings: Sequence[tuple[str, Facts]]
) -> dict[str, SameTitleMaster]:
    """For each `(listing_key, facts)` of a batch, in one round trip: the live master held by
    the latest other listings with the same normalized title and GTIN, when they all hold the
    same one, one of them has the same identity facts (title, brand, category, attributes,
    GTIN, codes), and no person chose a master for the listing in review. The master rows are
    share-locked, as `_master_for` does, so a concurrent merge waits for this transaction.
    Listings without such a master are left out."""
    if not listings:
        return {}
    # Each master's stores and newest listing are read once (`masters`), not once for every
    # latest listing of every batch listing that names it.
    rows = await conn.fetch(
        """WITH held AS MATERIALIZED (
               SELECT t.key, l.product_id, l.facts
               FROM unnest($1::text[], $2::text[], $3::text[]) AS t(key, title, gtin)
               JOIN LATERAL (
                   SELECT l.product_id, l.facts FROM listings l
                   WHERE l.match_title = t.title AND l.gtin IS NOT DISTINCT FROM t.gtin
                     AND l.listing_key <> t.key
                   ORDER BY l.first_seen DESC, l.listing_key LIMIT $4) AS l ON TRUE
               -- A master a person chose for the listing in review wins
               -- (`PostgresCatalog.known`).
               WHERE NOT EXISTS (
                   SELECT 1 FROM review_items r WHERE r.listing_key = t.key
                     AND r.status = 'accepted' AND r.decided_master IS NOT NULL)
           ), masters AS MATERIALIZED (
               SELECT p.id, p.fingerprint, p.merged_into,
                      ARRAY(SELECT pa.retailer FROM precios_actuales pa
                            WHERE pa.product_id = p.id) AS retailers,
                      (SELECT max(lp.first_seen) FROM listings lp
                       WHERE lp.product_id = p.id) AS latest_seen
               FROM productos_maestros p
               WHERE p.id IN (SELECT product_id FROM held)
               ORDER BY p.id
               FOR SHARE OF p)
           SELECT h.key, m.id, m.fingerprint, m.merged_into, h.facts, m.retailers,
                  m.latest_seen
           FROM held h JOIN masters m ON m.id = h.product_id""",
        [key for key, _ in listings],
        [facts.title for _, facts in listings],
        [facts.gtin for _, facts in listings],
        SAME_TITLE_LISTINGS,
    )
    by_key: dict[str, list[asyncpg.Record]] = {}
    for r in rows:
        by_key.setdefault(r["key"], []).append(r)
    wanted = {key: _identity_facts(facts_to_json(facts)) for key, facts in listings}
    found: dict[str, SameTitleMaster] = {}
    for key, held in by_key.items():
        if any(r["merged_into"] is not None for r in held) or len({r["id"] for r in held}) != 1:
            continue  # a merged master, or siblings that disagree: the matcher decides
        same = [r for r in held if _identity_facts(_load_json(r["facts"]) or {}) == wanted[key]]
        if not same:
            continue
        r = same[0]
        candidate = Candidate(
            r["fingerprint"], facts_from_json(r["facts"]), frozenset(r["retailers"] or ())
        )
        found[key] = SameTitleMaster(int(r["id"]), candidate, r["latest_seen"])
    return found


@dataclass(frozen=True)
class VectorIndex:
    """The title embeddings of one embedding model in `ai_embeddings` (the L2 semantic cache's,
    keyed by input fingerprint, HNSW-indexed per model)."""

    model: str
    dim: int


class PostgresCatalog:
    """`CandidateSource` over the catalog tables, on one connection (the caller's transaction)."""

    def __init__(
        self,
        conn: asyncpg.Connection,
        exclude: Sequence[int] = (),
        vectors: VectorIndex | None = None,
    ) -> None:
        self.conn = conn
        self.exclude = list(exclude)
        """Master ids never offered as candidates (the master being re-resolved)."""
        self.vectors = vectors

    async def known(self, listing_key: str, title: str, gtin: str | None) -> str | None:
        row = await self.conn.fetchrow(
            """SELECT p.fingerprint FROM listings l
               JOIN productos_maestros p ON p.id = l.product_id
               WHERE l.listing_key = $1 AND l.match_title = $2
                 AND l.gtin IS NOT DISTINCT FROM $3""",
            listing_key,
            title,
            gtin,
        )
        if row is not None:
            return await self.live_master(row["fingerprint"])
        decided = await self.conn.fetchrow(
            """SELECT decided_master, listing->>'name' AS name FROM review_items
               WHERE listing_key = $1 AND status = 'accepted' AND decided_master IS NOT NULL""",
            listing_key,
        )
        if decided is not None and normalize_title(decided["name"] or "") == title:
            return await self.live_master(decided["decided_master"])
        return None

    async def live_master(self, fingerprint: str) -> str:
        """The master a (possibly merged) master id stands for now; an id not created yet (a
        new product declared in review) stands for itself."""
        seen = {fingerprint}
        while True:
            merged = await self.conn.fetchval(
                "SELECT merged_into FROM productos_maestros WHERE fingerprint = $1", fingerprint
            )
            if merged is None or merged in seen:
                return fingerprint
            seen.add(merged)
            fingerprint = merged

    async def vector_neighbours(
        self, input_fingerprint: str | None, category: str | None, limit: int
    ) -> list[int]:
        """Masters of the listings whose title embeddings are nearest to this listing's (same
        category), nearest first; nothing when the listing's title has no embedding."""
        if self.vectors is None or not input_fingerprint or not category:
            return []
        dim, model = self.vectors.dim, self.vectors.model
        query = await self.conn.fetchval(
            f"""SELECT embedding::vector({dim}) FROM ai_embeddings
                WHERE fingerprint = $1 AND embedding_model = $2""",
            input_fingerprint,
            model,
        )
        if query is None:
            return []
        # Filtered HNSW scans can come back short; iterative scans keep looking.
        await self.conn.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
        rows = await self.conn.fetch(
            f"""SELECT l.product_id, min(n.distance) AS distance
                FROM (SELECT e.fingerprint,
                             e.embedding::vector({dim}) <=> $1::vector({dim}) AS distance
                      FROM ai_embeddings e
                      WHERE e.embedding_model = $2 AND e.category = $3 AND e.fingerprint <> $4
                      ORDER BY e.embedding::vector({dim}) <=> $1::vector({dim})
                      LIMIT $5) AS n
                JOIN listings l ON l.input_fingerprint = n.fingerprint
                GROUP BY l.product_id ORDER BY 2, 1""",
            query,
            model,
            category,
            input_fingerprint,
            limit,
        )
        return [r["product_id"] for r in rows]

    async def candidates(
        self, facts: Facts, limit: int, input_fingerprint: str | None = None
    ) -> Sequence[Candidate]:
        """See the module docstring; `input_fingerprint` names the listing's title embedding."""
        neighbours = await self.vector_neighbours(input_fingerprint, facts.category, limit)
        tokens = code_tokens(facts)
        token_pattern = r"\m(" + "|".join(re.escape(t) for t in tokens) + r")\M" if tokens else ""
        rows = await self.conn.fetch(
            _CANDIDATES_SQL,
            facts.gtin,
            code_keys(facts.codes),
            facts.brand,
            facts.title,
            category_group(facts.category),
            limit,
            self.exclude,
            token_pattern,
            neighbours,
            OFFERS_PER_MASTER,
        )
        # One row per (master, recent offer), best masters first; a master without listings
        # (none left) is offered through its own fused facts.
        return [
            Candidate(
                r["fingerprint"],
                facts_from_json(r["offer_facts"]) if r["offer_facts"] else master_facts(r),
                frozenset(r["retailers"] or ()),
            )
            for r in rows
        ]
