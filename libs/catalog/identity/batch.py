"""Identity resolution of a whole batch against the Postgres catalog in a few round trips.

`PostgresCatalog` answers one listing at a time: its master seed, `known`, vector neighbours and
candidates cost about ten SQL round trips per listing. `prefetch` gathers the same answers for
many listings at once, against the catalog as it is at that moment:

1. one query for what each listing already is (its own row with the same title and GTIN, a
   master a person chose for it in review) and which of its master seeds are taken;
2. one query for every listing's candidate masters: the same blocking as
   `PostgresCatalog.candidates` (GTIN, code keys, brand + code token, trigram neighbours in the
   category group, the masters of the nearest title embeddings through a LATERAL join), each
   listing's hits with their rank and title similarity;
3. one query for the candidate masters' facts, stores and latest offers, all at once.

`Prefetch.source(listing)` is then a `CandidateSource` the unchanged `Resolver.resolve` decides
with, exactly as `PostgresCatalog` would have answered before the batch wrote anything.

Resolving one listing after another, the second of a batch sees what the first wrote (a master
it created, an offer it added to a master). `Round` keeps a batch exact: a listing is decided
from the prefetch only when nothing decided earlier in the same round can change its answers:
no master touched in this round is among the masters whose offers are its candidates, none
touched or created could now rank at or before the last of them (a shared GTIN or code key,
the same brand with one of its code tokens, a title within trigram reach in its category
group, a listing placed on it among its nearest embeddings), and no master created in this
round took one of its seeds. The first listing that fails this ends the round: the caller
writes what the round decided and prefetches again for the rest (`Prefetch.carry` keeps the
answers the round cannot have changed), so the outcome is the one of resolving the listings
one by one in order.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import asyncpg
import numpy as np

from catalog.domain.identity import normalize_title
from catalog.identity.catalog_pg import (
    MASTER_FACTS_COLUMNS,
    PostgresCatalog,
    VectorIndex,
    category_group,
    code_keys,
    code_tokens,
    facts_from_json,
    master_facts,
)
from catalog.identity.model import OFFERS_PER_MASTER, Candidate, Facts
from catalog.identity.resolver import new_master_id

__all__ = ["BatchListing", "Prefetch", "PrefetchedMaster", "Round", "prefetch"]

# `master_seed` tries the listing key and then "key#2" ... "key#11".
_SEEDS_PER_KEY = 11
# Joins a listing's code keys into one text per row of an `unnest` (codes never contain it).
_SEPARATOR = "\x1f"
_TRIGRAM_WORD = re.compile(r"[a-z0-9]+")
_TRIGRAM_SAFE = re.compile(r"[a-z0-9. ]*")
# What a title similarity computed here may be off by from pg_trgm's (float4 rounding).
_SIMILARITY_MARGIN = 0.02


@dataclass(frozen=True)
class BatchListing:
    """One listing to resolve: its key, its master seed's key (see `master_seed`) is derived
    from it, its facts and its title embedding's key."""

    listing_key: str
    facts: Facts
    input_fingerprint: str | None = None


@dataclass(frozen=True)
class PrefetchedMaster:
    """A candidate master as `PostgresCatalog.candidates` offers it."""

    id: int
    fingerprint: str
    facts: Facts
    """Its fused facts (the row's identifiers, category and title)."""
    retailers: frozenset[str]
    offers: tuple[Facts, ...]
    """Latest offers first, at most `OFFERS_PER_MASTER`; empty offers' facts are the master's."""


@dataclass(frozen=True)
class _Hit:
    master: int
    rank: int
    similarity: float


def _seeds(listing_key: str) -> list[str]:
    return [listing_key] + [f"{listing_key}#{n}" for n in range(2, _SEEDS_PER_KEY + 1)]


@dataclass
class Prefetch:
    """What the catalog answers for each listing of a batch, as of one moment."""

    limit: int
    known: dict[str, str] = field(default_factory=dict)
    seeds: dict[str, str] = field(default_factory=dict)
    seed_ids: dict[str, frozenset[str]] = field(default_factory=dict)
    hits: dict[str, list[_Hit]] = field(default_factory=dict)
    neighbours: dict[str, frozenset[str]] = field(default_factory=dict)
    """The input fingerprints of each listing's nearest title embeddings."""
    masters: dict[int, PrefetchedMaster] = field(default_factory=dict)
    similarity_threshold: float = 0.3
    answered: set[str] = field(default_factory=set)
    """The listings answered here."""
    _by_fingerprint: dict[str, PrefetchedMaster] = field(default_factory=dict)
    _effective: dict[str, tuple[frozenset[int], tuple[int, float] | None]] = field(
        default_factory=dict
    )

    def top_ids(self, listing_key: str) -> list[int]:
        """The `limit` best masters: identifier hits first, then by title similarity."""
        hits = sorted(
            self.hits.get(listing_key, ()), key=lambda h: (h.rank, -h.similarity, h.master)
        )
        return [h.master for h in hits[: self.limit]]

    def effective(self, listing_key: str) -> tuple[frozenset[int], tuple[int, float] | None]:
        """The masters whose offers are the listing's candidates, and the (rank, -similarity)
        of the last of them; None instead when they are fewer than `limit` (any other hit
        would be one)."""
        held = self._effective.get(listing_key)
        if held is None:
            hits = sorted(
                self.hits.get(listing_key, ()), key=lambda h: (h.rank, -h.similarity, h.master)
            )[: self.limit]
            cutoff = (hits[-1].rank, -hits[-1].similarity) if len(hits) >= self.limit else None
            held = (frozenset(h.master for h in hits), cutoff)
            self._effective[listing_key] = held
        return held

    def carry(self, round_: Round, rest: Sequence[BatchListing]) -> Prefetch:
        """What stays true once `round_`'s decisions are written: the answers for the listings
        of `rest` that nothing decided in the round can change, and the masters it did not
        touch."""
        out = Prefetch(self.limit, similarity_threshold=self.similarity_threshold)
        if round_.closed:
            return out  # the round went where it does not track what changed
        out.masters = {i: m for i, m in self.masters.items() if i not in round_.touched}
        for listing in rest:
            key = listing.listing_key
            if key not in self.answered or not round_.independent(listing):
                continue
            out.answered.add(key)
            if key in self.known:
                out.known[key] = self.known[key]
            out.seeds[key] = self.seeds[key]
            out.seed_ids[key] = self.seed_ids[key]
            if key in self.hits:
                out.hits[key] = self.hits[key]
            if key in self.neighbours:
                out.neighbours[key] = self.neighbours[key]
        return out

    def by_fingerprint(self) -> dict[str, PrefetchedMaster]:
        if len(self._by_fingerprint) != len(self.masters):
            self._by_fingerprint = {m.fingerprint: m for m in self.masters.values()}
        return self._by_fingerprint

    def candidates(self, listing_key: str) -> list[Candidate]:
        found: list[Candidate] = []
        for master_id in self.top_ids(listing_key):
            master = self.masters[master_id]
            offers = master.offers or (master.facts,)
            found.extend(Candidate(master.fingerprint, offer, master.retailers) for offer in offers)
        return found

    def source(self, listing_key: str) -> PrefetchedSource:
        return PrefetchedSource(self, listing_key)


class PrefetchedSource:
    """A `CandidateSource` answering one listing of a batch from its prefetch (the resolver
    passes the master seed as the listing key; answers are for the real key)."""

    def __init__(self, prefetch: Prefetch, listing_key: str) -> None:
        self.prefetch = prefetch
        self.listing_key = listing_key

    async def known(self, listing_key: str, title: str, gtin: str | None) -> str | None:
        return self.prefetch.known.get(self.listing_key)

    async def candidates(self, facts: Facts, limit: int) -> Sequence[Candidate]:
        if limit != self.prefetch.limit:
            raise ValueError(f"prefetched {self.prefetch.limit} candidates, asked for {limit}")
        return self.prefetch.candidates(self.listing_key)


_CONTEXT_SQL = """
SELECT 'known' AS kind, t.key AS a, p.fingerprint AS b, NULL AS c
FROM unnest($1::text[], $2::text[], $3::text[]) AS t(key, title, gtin)
JOIN listings l ON l.listing_key = t.key AND l.match_title = t.title
                AND l.gtin IS NOT DISTINCT FROM t.gtin
JOIN productos_maestros p ON p.id = l.product_id
UNION ALL
SELECT 'review', r.listing_key, r.decided_master, r.listing->>'name' FROM review_items r
WHERE r.listing_key = ANY($1) AND r.status = 'accepted' AND r.decided_master IS NOT NULL
UNION ALL
SELECT 'taken', p.fingerprint, NULL, NULL FROM productos_maestros p
WHERE p.fingerprint = ANY($4)
UNION ALL
SELECT 'threshold', show_limit()::text, NULL, NULL"""


def _hits_sql(vectors: VectorIndex | None) -> str:
    """Every listing's hits (`_CANDIDATES_SQL`'s `ranked`, with the rank and similarity its
    `top` orders by) and the input fingerprints of its nearest title embeddings."""
    if vectors is None:
        # ($12, the embedding model, is typed here too: every parameter must be.)
        nearest = (
            "SELECT NULL::text AS key, NULL::text[] AS fps, NULL::int[] AS ids "
            "WHERE $12::text IS NULL AND FALSE"
        )
    else:
        dim = vectors.dim
        nearest = f"""
        SELECT t.key, n.fps,
               ARRAY(SELECT l.product_id
                     FROM unnest(n.fps, n.distances) AS u(fingerprint, distance)
                     JOIN listings l ON l.input_fingerprint = u.fingerprint
                     GROUP BY l.product_id ORDER BY min(u.distance), l.product_id) AS ids
        FROM t JOIN ai_embeddings q ON q.fingerprint = t.fp AND q.embedding_model = $12
        CROSS JOIN LATERAL (
            SELECT array_agg(e.fingerprint ORDER BY e.n) AS fps,
                   array_agg(e.distance ORDER BY e.n) AS distances
            FROM (SELECT e.fingerprint, e.distance, row_number() OVER () AS n
                  FROM (SELECT e.fingerprint,
                               e.embedding::vector({dim}) <=> q.embedding::vector({dim})
                                   AS distance
                        FROM ai_embeddings e
                        WHERE e.embedding_model = $12 AND e.category = t.category
                          AND e.fingerprint <> t.fp
                        ORDER BY e.embedding::vector({dim}) <=> q.embedding::vector({dim})
                        LIMIT $10) AS e) AS e) AS n
        WHERE t.category IS NOT NULL"""
    return f"""
WITH t AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                         $6::text[], $7::text[], $8::text[], $9::text[])
        AS t(key, gtin, codes, brand, title, grp, pattern, fp, category)
), v AS ({nearest})
SELECT t.key, NULL::int AS id, NULL::int AS rank, NULL::real AS sim, v.fps
FROM t JOIN v ON v.key = t.key
UNION ALL
SELECT t.key, r.id, r.rank, r.sim, NULL
FROM t LEFT JOIN v ON v.key = t.key
CROSS JOIN LATERAL (
    -- Each hit's row by primary key: a plan that does not depend on fresh statistics.
    SELECT h.id, min(h.rank) AS rank,
           (SELECT similarity(p.match_title, t.title) FROM productos_maestros p
            WHERE p.id = h.id AND p.merged_into IS NULL) AS sim
    FROM (
        (SELECT p.id, 0 AS rank FROM productos_maestros p
         WHERE t.gtin IS NOT NULL AND p.gtin = t.gtin AND p.merged_into IS NULL LIMIT $10)
        UNION ALL
        (SELECT l.product_id, 0 FROM listings l
         WHERE t.gtin IS NOT NULL AND l.gtin = t.gtin LIMIT $10)
        UNION ALL
        (SELECT p.id, 1 FROM productos_maestros p
         WHERE t.codes <> '' AND p.code_keys && string_to_array(t.codes, $13)
           AND p.merged_into IS NULL LIMIT $10)
        UNION ALL
        (SELECT p.id, 2 FROM productos_maestros p
         WHERE t.brand IS NOT NULL AND p.match_brand = t.brand AND p.category_group = t.grp
           AND t.pattern <> '' AND p.match_title ~ t.pattern AND p.merged_into IS NULL
         ORDER BY similarity(p.match_title, t.title) DESC LIMIT $10)
        UNION ALL
        (SELECT p.id, 3 FROM productos_maestros p
         WHERE p.category_group = t.grp AND p.match_title % t.title AND p.merged_into IS NULL
         ORDER BY similarity(p.match_title, t.title) DESC LIMIT $10)
        UNION ALL
        (SELECT unnest(coalesce(v.ids, '{{}}'::int[])), 4)
    ) AS h
    WHERE NOT (h.id = ANY($11::int[]))
    GROUP BY h.id
) AS r
WHERE r.sim IS NOT NULL"""


_MASTERS_SQL = f"""
SELECT m.*, o.facts AS offer_facts, o.n
FROM (SELECT {MASTER_FACTS_COLUMNS} FROM productos_maestros p WHERE p.id = ANY($1)) AS m
LEFT JOIN LATERAL (
    SELECT l.facts, row_number() OVER (ORDER BY l.first_seen DESC, l.listing_key) AS n
    FROM listings l WHERE l.product_id = m.id
    ORDER BY l.first_seen DESC, l.listing_key LIMIT $2
) AS o ON TRUE
ORDER BY m.id, o.n"""


def _pattern(facts: Facts) -> str:
    tokens = code_tokens(facts)
    return r"\m(" + "|".join(re.escape(t) for t in tokens) + r")\M" if tokens else ""


async def prefetch(
    conn: asyncpg.Connection,
    listings: Sequence[BatchListing],
    limit: int,
    vectors: VectorIndex | None = None,
    exclude: Sequence[int] = (),
    reuse: Prefetch | None = None,
) -> Prefetch:
    """What `PostgresCatalog(conn, exclude, vectors)` answers for each listing (`master_seed`,
    `known`, `candidates(facts, limit, input_fingerprint)`), in three round trips; `reuse`
    (see `Prefetch.carry`) holds answers still valid, which are not asked again."""
    out = Prefetch(limit) if reuse is None else reuse
    if out.limit != limit:
        raise ValueError(f"reused a prefetch of {out.limit} candidates, asked for {limit}")
    listings = [x for x in listings if x.listing_key not in out.answered]
    if not listings:
        return out
    keys = [x.listing_key for x in listings]
    out.answered.update(keys)
    seed_ids = {key: {new_master_id(s): s for s in _seeds(key)} for key in keys}
    rows = await conn.fetch(
        _CONTEXT_SQL,
        keys,
        [x.facts.title for x in listings],
        [x.facts.gtin for x in listings],
        [master_id for ids in seed_ids.values() for master_id in ids],
    )
    taken = set()
    catalog = PostgresCatalog(conn, exclude, vectors)
    reviewed: dict[str, str] = {}
    titles = {x.listing_key: x.facts.title for x in listings}
    for r in rows:
        if r["kind"] == "known":
            out.known[r["a"]] = r["b"]
        elif r["kind"] == "review":
            if normalize_title(r["c"] or "") == titles[r["a"]]:
                reviewed[r["a"]] = r["b"]
        elif r["kind"] == "taken":
            taken.add(r["a"])
        else:
            out.similarity_threshold = float(r["a"])
    for key, fingerprint in list(out.known.items()) + list(reviewed.items()):
        if key in out.known and out.known[key] != fingerprint:
            continue  # `known` prefers the listing's own row to a review decision
        # Rare (a merged master, a person's choice): followed one query at a time.
        out.known[key] = await catalog.live_master(fingerprint)
    for key, ids in seed_ids.items():
        out.seed_ids[key] = frozenset(ids)
        free = [seed for master_id, seed in ids.items() if master_id not in taken]
        if not free:
            raise RuntimeError(f"{key}: no free master id after {_SEEDS_PER_KEY} tries")
        out.seeds[key] = free[0]
    if vectors is not None:
        # Filtered HNSW scans can come back short; iterative scans keep looking.
        await conn.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
    rows = await conn.fetch(
        _hits_sql(vectors),
        keys,
        [x.facts.gtin for x in listings],
        [_SEPARATOR.join(code_keys(x.facts.codes)) for x in listings],
        [x.facts.brand for x in listings],
        [x.facts.title for x in listings],
        [category_group(x.facts.category) for x in listings],
        [_pattern(x.facts) for x in listings],
        [x.input_fingerprint if vectors is not None else None for x in listings],
        [x.facts.category for x in listings],
        limit,
        list(exclude),
        vectors.model if vectors is not None else None,
        _SEPARATOR,
    )
    for r in rows:
        if r["id"] is None:
            out.neighbours[r["key"]] = frozenset(r["fps"] or ())
        else:
            out.hits.setdefault(r["key"], []).append(
                _Hit(int(r["id"]), int(r["rank"]), float(r["sim"]))
            )
    wanted = sorted({i for key in keys for i in out.top_ids(key)} - out.masters.keys())
    if wanted:
        offers: dict[int, list[Facts]] = {}
        for r in await conn.fetch(_MASTERS_SQL, wanted, OFFERS_PER_MASTER):
            own = master_facts(r)
            held = offers.setdefault(r["id"], [])
            if r["n"] is not None:
                held.append(facts_from_json(r["offer_facts"]) if r["offer_facts"] else own)
            out.masters[r["id"]] = PrefetchedMaster(
                int(r["id"]), r["fingerprint"], own, frozenset(r["retailers"] or ()), ()
            )
        for master_id, held in offers.items():
            m = out.masters[master_id]
            out.masters[master_id] = PrefetchedMaster(
                m.id, m.fingerprint, m.facts, m.retailers, tuple(held)
            )
    return out


def _trigrams(title: str) -> frozenset[str] | None:
    """pg_trgm's trigrams of a normalized title (words of letters and digits, each padded with
    two spaces before and one after); None for a title with other characters, whose trigrams
    this does not claim to reproduce."""
    if not _TRIGRAM_SAFE.fullmatch(title):
        return None
    grams: set[str] = set()
    for word in _TRIGRAM_WORD.findall(title):
        padded = f"  {word} "
        grams.update(padded[i : i + 3] for i in range(len(padded) - 2))
    return frozenset(grams)


def _similarity(a: frozenset[str], b: frozenset[str]) -> float:
    """pg_trgm's `similarity` of two titles' trigrams (in float4, as it computes it)."""
    common = len(a & b)
    union = len(a) + len(b) - common
    return float(np.float32(common) / np.float32(union)) if union else 0.0


def _similar(a: frozenset[str] | None, b: frozenset[str] | None, threshold: float) -> bool:
    """Whether pg_trgm's `%` may hold between two titles' trigrams: a margin below the
    threshold keeps this a superset of it, and an unknown side may."""
    if a is None or b is None:
        return True
    return _similarity(a, b) >= threshold - _SIMILARITY_MARGIN


def _jaccard(a: _Reach, b: _Reach) -> float:
    assert a.trigrams is not None and b.trigrams is not None
    return _similarity(a.trigrams, b.trigrams)


@dataclass(frozen=True)
class _Reach:
    """What decides whether a master holding some facts can be one of a listing's hits."""

    gtin: str | None
    codes: frozenset[str]
    brand: str | None
    group: str
    title: str
    trigrams: frozenset[str] | None
    tokens: tuple[str, ...]


def _reach(facts: Facts) -> _Reach:
    return _Reach(
        facts.gtin,
        frozenset(code_keys(facts.codes)),
        facts.brand,
        category_group(facts.category),
        facts.title,
        _trigrams(facts.title),
        tuple(code_tokens(facts)),
    )


@dataclass(frozen=True)
class _Placed:
    """A listing decided in this round: what the master it went to may hold now. A master's
    title, brand, category and GTIN after fusion are each one of its listings' (the old fused
    state or one of its recent offers, or the new offer); its codes are their union."""

    master: int | None
    """The master's row, when it was prefetched (None: created in this round)."""
    states: tuple[_Reach, ...]
    input_fingerprint: str | None


class Round:
    """The listings of a batch decided together from one prefetch (see the module docstring).

    A listing's candidates are the offers of its first masters in (rank, similarity, id) order
    (at most `limit`): its *effective* masters. A master decided on earlier in the round
    changes the listing's candidates only if it is one of them, or if what it may hold now
    (see `_Placed`) could rank it at or before the last of them. When the listing has fewer
    candidates than `limit`, any master that could be a hit at all counts."""

    def __init__(self, prefetch: Prefetch) -> None:
        self.prefetch = prefetch
        self.touched: set[int] = set()
        self.created: set[str] = set()
        self.placed: list[_Placed] = []
        self.closed = False
        """Nothing more may be decided from this prefetch."""

    def independent(self, listing: BatchListing) -> bool:
        """Whether the prefetch still answers for `listing` what the catalog would now."""
        if self.closed:
            return False
        if not self.placed:
            return True
        key = listing.listing_key
        if self.prefetch.seed_ids.get(key, frozenset()) & self.created:
            return False
        effective, cutoff = self.prefetch.effective(key)
        if self.touched & effective:
            return False
        hits = {h.master: h for h in self.prefetch.hits.get(key, ())}
        neighbours = self.prefetch.neighbours.get(key, frozenset())
        mine = _reach(listing.facts)
        for placed in self.placed:
            held = hits.get(placed.master) if placed.master is not None else None
            rank = self._best_rank(placed, mine, neighbours, held)
            if rank is None:
                continue  # it cannot be one of the listing's hits
            if cutoff is None:
                return False
            similarity = max(
                (
                    1.0 if s.trigrams is None or mine.trigrams is None else _jaccard(s, mine)
                    for s in placed.states
                ),
                default=0.0,
            )
            if held is not None:
                similarity = max(similarity, held.similarity)
            if (rank, -(similarity + _SIMILARITY_MARGIN)) <= cutoff:
                return False
        return True

    def _best_rank(
        self, placed: _Placed, listing: _Reach, neighbours: frozenset[str], held: _Hit | None
    ) -> int | None:
        """The best rank the master of `placed` may have among the listing's hits now (any
        mix of its states' values, or the rank it held before), or None when it cannot be one
        of them."""
        states = placed.states
        ranks = [held.rank] if held is not None else []
        if listing.gtin is not None and any(s.gtin == listing.gtin for s in states):
            ranks.append(0)
        if any(s.codes & listing.codes for s in states):
            ranks.append(1)
        in_group = any(s.group == listing.group for s in states)
        if (
            in_group
            and listing.brand is not None
            and listing.tokens
            and any(s.brand == listing.brand for s in states)
            and any(token in s.title for s in states for token in listing.tokens)
        ):
            ranks.append(2)
        threshold = self.prefetch.similarity_threshold
        if in_group and any(_similar(s.trigrams, listing.trigrams, threshold) for s in states):
            ranks.append(3)
        if placed.input_fingerprint is not None and placed.input_fingerprint in neighbours:
            ranks.append(4)
        return min(ranks, default=None)

    def record(
        self,
        listing: BatchListing,
        master_id: str,
        *,
        previous_master: int | None = None,
    ) -> None:
        """`listing` goes to `master_id` (`previous_master`: the row it leaves, if it was
        placed before). A master outside the prefetch that is not created here, or a listing
        that leaves a master, closes the round: what else changes is not tracked."""
        existing = self.prefetch.by_fingerprint().get(master_id)
        states = [_reach(listing.facts)]
        if existing is not None:
            self.touched.add(existing.id)
            states.extend(_reach(f) for f in (existing.facts, *existing.offers))
        elif master_id == new_master_id(self.prefetch.seeds[listing.listing_key]):
            self.created.add(master_id)
        else:
            self.closed = True
        if previous_master is not None:
            self.touched.add(previous_master)
            self.closed = True
        self.placed.append(
            _Placed(existing.id if existing else None, tuple(states), listing.input_fingerprint)
        )
