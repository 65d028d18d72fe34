"""Writing validated listings to the catalog, with identity resolution, idempotently.

For each validated listing, in the batch's transaction:

1. **Resolve** which master product it is (`catalog.identity.resolver`): a listing already
   resolved with the same normalized title and GTIN keeps its master with no matching at all (the
   re-scrape fast path, checked for the whole batch at once); a new listing whose title other
   listings carry with the same identity facts is scored against one of them only and attached
   when it reaches the threshold (the cache-hit fast path, one query per batch); otherwise
   candidates from the Postgres catalog are scored by the matcher: a clear match attaches, no
   plausible candidate creates a master (its id, `new_master_id(listing_key)`, is stable and
   deterministic), and the uncertain band is decided by the judge (`CATALOG_IDENTITY__JUDGE`)
   or, without one, goes to products.review.v1 with its scored candidates instead of creating a
   master. Creation is serialised per blocking key (GTIN, model codes, brand + category group)
   with transaction-scoped advisory locks taken before candidates are read, so two listings of
   one new product, in one batch or on two replicas, leave one master. Within a batch the
   listings are resolved together in rounds (`catalog.identity.batch`): one prefetch of every
   pending listing's candidates, decisions in batch order for the listings nothing decided
   earlier in the round can affect, then the round is written and the rest prefetched again;
   the outcome is the one of resolving them one after the other, so the second listing of a
   new product sees the first's master.
2. **Write** the listing with its own price (`listings`, a `price_history` row only when the
   price changed) and recompute its store's best price for the product (`precios_actuales`).
3. **Learn**: a master whose listings changed is re-fused from all of them (attributes, name,
   identifiers); one left without offers is deactivated.
4. **Publish** catalog.products.v1 / catalog.offers.v1 states whose version grows only when the
   state changed, with event ids derived from key and version.

**Re-scrapes on products.prices.v1** (`handle_prices`): the router sends a listing there when
Redis holds the identity digest this writer recorded for it (`catalog.cache.listing_digests`)
and the listing's digest is the same. In one transaction per batch the rows are locked, each
listing whose row still holds that digest gets its new price, stock and seen-at (one statement
for all of them and their history rows), and its catalog.offers.v1 event is published as on the
full path; a master's catalog.products.v1 state only when its version grew, or when the batch
holds a message its listing already reflects (a possible redelivery: the state is sent again).
A listing whose row holds another digest (or none, or no row) goes back to products.raw.v1 with
`FULL_PATH_HEADER`, for the full path.

Redelivery changes nothing: the same message takes the fast path to the same master, writes no
history row, keeps every version, and re-publishes the same event ids. Timestamps come from the
message (`scraped_at`, else `validated_at`); a message older than what the listing already
reflects is skipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import asyncpg

from catalog import brand_registry, metrics
from catalog.brand_registry import observations
from catalog.cache.embeddings import EmbeddingProvider
from catalog.cache.l1 import L1Cache
from catalog.cache.l2 import SemanticCache
from catalog.cache.listing_digests import FULL_PATH_HEADER, ListingDigests, listing_digest
from catalog.domain.taxonomy import Taxonomy
from catalog.identity.batch import BatchListing, Prefetch, Round, prefetch
from catalog.identity.catalog_pg import (
    VectorIndex,
    blocking_keys,
    category_group,
    code_keys,
    facts_from_json,
    facts_to_json,
    lock_blocking_keys,
    same_title_masters,
)
from catalog.identity.facts import facts_from_product
from catalog.identity.identifiers import canonical_gtin
from catalog.identity.model import Decision, Facts, Outcome
from catalog.identity.resolver import Judge, Resolver, load_resolver
from catalog.kafka.topics import CATALOG_OFFERS, CATALOG_PRODUCTS, RAW, REVIEW
from catalog.masters import (
    OFFER_COLUMNS,
    changed_product_states,
    fuse_masters,
    offer_events,
    offer_from_row,
    product_states,
    refresh_best_prices,
)
from catalog.products import to_entry
from catalog.service import Incoming, Outgoing, Result
from schemas.models import (
    DeadLetter,
    Extraction,
    PriceObservation,
    ReviewCandidate,
    ReviewItem,
    ValidatedProduct,
)

CACHEABLE_SOURCES = ("rules", "llm")
# Candidates a review item shows a person, best first.
REVIEW_CANDIDATES = 5
IDENTITY_REASON = "identity_uncertain"
# New listings prefetched at first in a round of batched resolution (see `_resolve_and_place`).
PREFETCH_WINDOW = 32
# Joins a master's codes into one text per row of an `unnest` insert (codes never contain it).
CODE_SEPARATOR = "\x1f"


def _seen_at(product: ValidatedProduct) -> datetime:
    return product.listing.scraped_at or product.validated_at


def _unchanged(product: ValidatedProduct, before: asyncpg.Record | None) -> bool:
    """The listing as it was last resolved: same title, GTIN and normalization."""
    return (
        before is not None
        and before["title"] == product.listing.name
        and before["normalization"] == product.product_fingerprint
        and before["gtin"] == canonical_gtin(product.listing.ean)
    )


def _identity_part(facts: dict[str, Any]) -> dict[str, Any]:
    """A listing's facts without its price: what its master learns from."""
    return {k: v for k, v in facts.items() if k != "price"}


@dataclass(frozen=True)
class Placement:
    """A listing and the master it was resolved to."""

    product: ValidatedProduct
    facts: Facts
    product_id: int
    outcome: Outcome
    score: float | None = None
    fused: bool = False
    """The master's facts already hold this listing's identity facts (a listing of it has the
    same ones) and the listing comes last in the order a master is fused in (`first_seen`):
    folding it in at the end cannot change the master's facts or the listings they are
    credited to (`fuse` is idempotent), so the master is not re-fused for it."""


@dataclass
class Changes:
    """What a batch touched: what to recompute and publish before the transaction ends."""

    products: set[int] = field(default_factory=set)
    pairs: set[tuple[int, str]] = field(default_factory=set)
    refuse: set[int] = field(default_factory=set)
    listings: list[str] = field(default_factory=list)
    # Whether a listing left a master: only then can a (product, store) pair be left without
    # listings (`refresh_best_prices(listings_stay=...)`).
    moved: bool = False

    def absorb(self, other: Changes) -> None:
        self.products |= other.products
        self.pairs |= other.pairs
        self.refuse |= other.refuse
        self.listings.extend(other.listings)
        self.moved |= other.moved


class CatalogWriter:
    def __init__(
        self,
        pool: asyncpg.Pool,
        taxonomy: Taxonomy,
        l1: L1Cache | None,
        semantic: SemanticCache | None,
        embedder: EmbeddingProvider | None,
        namespace: str,
        default_ttl_s: int,
        resolver: Resolver | None = None,
        judge: Judge | None = None,
        digests: ListingDigests | None = None,
    ) -> None:
        self.pool = pool
        self.taxonomy = taxonomy
        self.l1 = l1
        self.semantic = semantic
        self.embedder = embedder
        self.namespace = namespace
        self.default_ttl_s = default_ttl_s
        self.resolver = resolver or load_resolver()
        # Decides the uncertain band; without one, those listings go to review.
        self.judge = judge
        # Where the re-scrape fast path learns which listings it may take (None: nowhere).
        self.digests = digests

    async def handle_validated(self, batch: Sequence[Incoming[ValidatedProduct]]) -> list[Result]:
        # Within one batch the last message of a listing is its current state.
        latest: dict[str, ValidatedProduct] = {}
        for item in batch:
            latest[item.value.listing.listing_key] = item.value
        cacheable = [p for p in latest.values() if p.source in CACHEABLE_SOURCES]
        vectors = (
            await self.embedder.embed([p.listing.name for p in cacheable])
            if self.embedder and self.semantic and cacheable
            else []
        )
        async with self.pool.acquire() as conn, conn.transaction():
            previous = await self._previous(conn, list(latest))
            products = [p for p in latest.values() if not self._stale(p, previous)]
            # The cache and its embeddings first: a title's embedding is one way to its
            # candidates (and an embedding row needs its cache row).
            await self._write_cache(conn, cacheable)
            if self.semantic is not None and vectors:
                await self.semantic.store(
                    conn,
                    [
                        (p.input_fingerprint, p.category, v)
                        for p, v in zip(cacheable, vectors, strict=True)
                    ],
                )
            changes = Changes()
            reviews = await self._resolve_and_place(conn, products, previous, changes)
            # Brands count once per listing state: a redelivered or re-scraped listing (title,
            # GTIN and normalization unchanged) is not a new observation.
            await self._record_brand_observations(
                conn,
                [p for p in products if not _unchanged(p, previous.get(p.listing.listing_key))],
            )
            await refresh_best_prices(conn, changes.pairs, listings_stay=not changes.moved)
            await fuse_masters(conn, changes.refuse)
            states = await product_states(conn, changes.products)
            offers = await offer_events(conn, changes.listings)
        if self.l1 is not None:
            await self.l1.set_many(
                [(p.input_fingerprint, to_entry(p), self._ttl(p.category)) for p in cacheable]
            )
        if self.digests is not None:
            # Only now that the rows are committed: their next re-scrape may skip the way here.
            placed = set(changes.listings)
            await self.digests.record_many(
                [
                    (p.listing.listing_key, listing_digest(p.listing, self.namespace))
                    for p in products
                    if p.listing.listing_key in placed
                ]
            )
        out: list[Outgoing] = [Outgoing(CATALOG_PRODUCTS, s.product_fingerprint, s) for s in states]
        out.extend(Outgoing(CATALOG_OFFERS, o.product_fingerprint, o) for o in offers)
        out.extend(Outgoing(REVIEW, r.listing.listing_key, r) for r in reviews)
        # Every output goes with the first message of the batch; the rest carry none. Offsets of
        # the whole batch are committed together after the producer flush, so this is safe.
        results: list[Result] = [[] for _ in batch]
        results[0] = out
        return results

    async def handle_prices(self, batch: Sequence[Incoming[PriceObservation]]) -> list[Result]:
        """Re-scrapes the router found unchanged: the price, stock and seen-at of each listing
        whose row still holds the observed identity digest, in one statement; the events a
        re-scrape on the full path publishes; every other listing back to the full path."""
        latest: dict[str, tuple[int, PriceObservation]] = {}
        for index, item in enumerate(batch):
            latest[item.value.listing.listing_key] = (index, item.value)
        outputs: list[list[Outgoing]] = [[] for _ in batch]
        applied: list[tuple[PriceObservation, asyncpg.Record]] = []
        detours: list[tuple[int, PriceObservation]] = []
        stale = 0
        async with self.pool.acquire() as conn, conn.transaction():
            # Locked in key order, like `_previous` on the full path: the two paths (on two
            # replicas, since they are two topics) queue on a listing instead of deadlocking.
            rows = await conn.fetch(
                "SELECT listing_key, product_id, retailer, price, price_original, last_seen, "
                "identity_digest, version FROM listings WHERE listing_key = ANY($1) "
                "ORDER BY listing_key FOR UPDATE",
                list(latest),
            )
            previous = {r["listing_key"]: r for r in rows}
            for key, (index, obs) in latest.items():
                before = previous.get(key)
                if before is None or before["identity_digest"] != obs.identity_digest:
                    detours.append((index, obs))
                elif _observed_at(obs) < before["last_seen"]:
                    # Older than what the listing reflects: like `_stale` on the full path.
                    stale += 1
                else:
                    applied.append((obs, before))
            written = await _apply_prices(conn, applied) if applied else []
            # No listing leaves its store's pair here: best prices are upserted, never deleted.
            await refresh_best_prices(
                conn, {(b["product_id"], b["retailer"]) for _, b in applied}, listings_stay=True
            )
            # A master's state is published when it changed (a new version); an unchanged one
            # needs no event, its consumers hold that very version already. Except after a
            # message its listing already reflects (seen no later than the row: a
            # redelivery, whose first delivery may have committed here and failed before
            # sending): then the master's current state is published again, whatever else
            # the batch holds for that listing.
            states = await changed_product_states(
                conn,
                {r["product_id"] for r in written},
                republish=_redelivered_masters(batch, previous),
            )
            offers = [offer_from_row(r) for r in written]
        metrics.FAST_PATH.labels("persister", "applied").inc(len(applied))
        if applied:
            metrics.RESOLUTIONS.labels("known").inc(len(applied))
            metrics.PERSISTED.labels("offer").inc(len(applied))
        if stale:
            metrics.FAST_PATH.labels("persister", "stale_skipped").inc(stale)
            metrics.PERSISTED.labels("stale_skipped").inc(stale)
        if detours:
            metrics.FAST_PATH.labels("persister", "full_path").inc(len(detours))
        for index, obs in detours:
            # The recorded digest was stale (title changed, row gone, Redis behind Postgres):
            # the listing goes the full way, acknowledged before this batch is committed.
            outputs[index].append(
                Outgoing(RAW, obs.listing.listing_key, obs.listing, {FULL_PATH_HEADER: "1"})
            )
        if batch:
            # Like `handle_validated`: the batch's events go with its first message.
            outputs[0].extend(Outgoing(CATALOG_PRODUCTS, s.product_fingerprint, s) for s in states)
            outputs[0].extend(Outgoing(CATALOG_OFFERS, o.product_fingerprint, o) for o in offers)
        return list(outputs)

    @staticmethod
    async def _previous(conn: asyncpg.Connection, keys: list[str]) -> dict[str, asyncpg.Record]:
        """The current row of each listing, locked until the transaction ends."""
        rows = await conn.fetch(
            "SELECT listing_key, product_id, retailer, price, price_original, last_seen, "
            "title, normalization, match_title, gtin, facts, identity_digest FROM listings "
            "WHERE listing_key = ANY($1) ORDER BY listing_key FOR UPDATE",
            keys,
        )
        return {r["listing_key"]: r for r in rows}

    @staticmethod
    def _stale(product: ValidatedProduct, previous: dict[str, asyncpg.Record]) -> bool:
        """A message older than what the listing already reflects (a late redelivery after a
        newer one) must not roll the offer back."""
        before = previous.get(product.listing.listing_key)
        if before is None or _seen_at(product) >= before["last_seen"]:
            return False
        metrics.PERSISTED.labels("stale_skipped").inc()
        return True

    def _ttl(self, category: str) -> int:
        cat = self.taxonomy.get(category)
        return cat.l1_ttl_s if cat else self.default_ttl_s

    # ------------------------------------------------------------------------ resolution

    async def _resolve_and_place(
        self,
        conn: asyncpg.Connection,
        products: Sequence[ValidatedProduct],
        previous: dict[str, asyncpg.Record],
        changes: Changes,
    ) -> list[ReviewItem]:
        """Resolve every listing and write it; returns the listings queued for review."""
        known: list[Placement] = []
        unresolved: list[tuple[ValidatedProduct, Facts]] = []
        for p in products:
            before = previous.get(p.listing.listing_key)
            if _unchanged(p, before):
                # A re-scrape: same title, GTIN and normalization; only the price may move.
                assert before is not None
                price = float(p.listing.price) if p.listing.price else None
                facts = replace(facts_from_json(before["facts"]), price=price)
                known.append(Placement(p, facts, before["product_id"], "known"))
                continue
            facts = facts_from_product(p)
            if before is not None and not before["facts"] and before["title"] == p.listing.name:
                # Persisted before identity resolution existed: it keeps its master, which
                # learns from it now.
                known.append(Placement(p, facts, before["product_id"], "known"))
                continue
            if (
                before is not None
                and before["match_title"] == facts.title
                and before["gtin"] == facts.gtin
            ):
                known.append(Placement(p, facts, before["product_id"], "known"))
            else:
                unresolved.append((p, facts))
        if known:
            metrics.RESOLUTIONS.labels("known").inc(len(known))
            await self._place(conn, known, previous, changes)
        reviews: list[ReviewItem] = []
        if unresolved:
            unresolved = await self._attach_same_title(conn, unresolved, previous, changes)
        if not unresolved:
            return reviews
        await lock_blocking_keys(conn, (k for _, f in unresolved for k in blocking_keys(f)))
        vectors = VectorIndex(self.semantic.model, self.semantic.dim) if self.semantic else None
        pending = unresolved
        rounds = 0
        window = PREFETCH_WINDOW
        carried: Prefetch | None = None
        while pending:
            # One prefetch answers the next pending listings as the catalog is now; the
            # listings it still answers exactly (nothing decided earlier in the round can change
            # their candidates) are decided from it, the rest after this round is written. The
            # window follows how far the last round got, so a batch whose listings depend on
            # each other does not prefetch the same listings over and over.
            rounds += 1
            batch = [
                BatchListing(p.listing.listing_key, facts, p.input_fingerprint)
                for p, facts in pending[:window]
            ]
            found = await prefetch(
                conn, batch, self.resolver.candidate_limit, vectors, reuse=carried
            )
            round_ = Round(found)
            decided: list[tuple[ValidatedProduct, Facts, Decision]] = []
            done = 0
            for (p, facts), listing in zip(pending, batch, strict=False):
                if not round_.independent(listing):
                    break
                done += 1
                key = listing.listing_key
                decision = await self.resolver.resolve(
                    found.source(key), found.seeds[key], facts, self.judge
                )
                metrics.RESOLUTIONS.labels(decision.outcome).inc()
                if decision.candidates:
                    metrics.MATCH_SCORE.observe(decision.candidates[0][1])
                if decision.outcome == "review" or decision.master_id is None:
                    reviews.append(await self._queue_review(conn, p, decision))
                    continue
                before = previous.get(key)
                round_.record(
                    listing,
                    decision.master_id,
                    previous_master=before["product_id"] if before is not None else None,
                )
                decided.append((p, facts, decision))
            pending = pending[done:]
            # Answers the round's decisions cannot have changed are not asked again.
            carried = found.carry(round_, batch[done:])
            window = 2 * window if done == len(batch) else max(PREFETCH_WINDOW // 4, 2 * done)
            if not decided:
                continue
            ids = await self._masters_for(conn, decided)
            placements = [
                Placement(p, facts, ids[i], d.outcome, d.score if d.candidates else None)
                for i, (p, facts, d) in enumerate(decided)
            ]
            placed = Changes()
            await self._place(conn, placements, previous, placed)
            if pending:
                # The next round must see these masters as they now are.
                await refresh_best_prices(conn, placed.pairs, listings_stay=not placed.moved)
                await fuse_masters(conn, placed.refuse)
            changes.absorb(placed)
        metrics.RESOLUTION_ROUNDS.observe(rounds)
        return reviews

    async def _masters_for(
        self,
        conn: asyncpg.Connection,
        decided: Sequence[tuple[ValidatedProduct, Facts, Decision]],
    ) -> list[int]:
        """The row id of each decision's master, as `_master_for` gives it, for a whole round:
        live masters share-locked in one statement (in id order), new ones created in one
        statement; a master merged since (or any other case) goes through `_master_for`."""
        fingerprints = sorted({d.master_id for _, _, d in decided if d.master_id is not None})
        rows = await conn.fetch(
            "SELECT id, fingerprint, merged_into FROM productos_maestros "
            "WHERE fingerprint = ANY($1) ORDER BY id FOR SHARE",
            fingerprints,
        )
        live = {r["fingerprint"]: int(r["id"]) for r in rows if r["merged_into"] is None}
        held = {r["fingerprint"] for r in rows}
        # One creation per new master: the first listing of the round that named it.
        creations: dict[str, tuple[ValidatedProduct, Facts]] = {}
        for p, facts, d in decided:
            assert d.master_id is not None
            if d.master_id not in held and d.master_id not in creations:
                creations[d.master_id] = (p, facts)
        if creations:
            live.update(await self._create_masters(conn, creations))
        ids: list[int] = []
        for p, facts, d in decided:
            assert d.master_id is not None
            master = live.get(d.master_id)
            ids.append(
                master
                if master is not None
                else await self._master_for(conn, d.master_id, p, facts)
            )
        return ids

    async def _create_masters(
        self, conn: asyncpg.Connection, creations: dict[str, tuple[ValidatedProduct, Facts]]
    ) -> dict[str, int]:
        """New masters, each from the listing that first resolved to it (as `_master_for`
        creates one), in one statement; returns their row ids."""
        items = list(creations.items())
        rows = await conn.fetch(
            """INSERT INTO productos_maestros (fingerprint, brand, model, normalized_name,
                   category_id, attributes, ai_confidence, ai_enhanced, processing_version, gtin,
                   model_codes, code_keys, match_brand, category_group, match_title, name_source)
               SELECT t.fingerprint, t.brand, t.model, t.normalized_name, t.category_id,
                      t.attributes, t.ai_confidence, t.ai_enhanced, t.processing_version, t.gtin,
                      string_to_array(t.model_codes, $17), string_to_array(t.code_keys, $17),
                      t.match_brand, t.category_group, t.match_title, t.name_source
               FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                           $6::jsonb[], $7::numeric[], $8::bool[], $9::text[], $10::text[],
                           $11::text[], $12::text[], $13::text[], $14::text[], $15::text[],
                           $16::text[])
                    AS t(fingerprint, brand, model, normalized_name, category_id, attributes,
                         ai_confidence, ai_enhanced, processing_version, gtin, model_codes,
                         code_keys, match_brand, category_group, match_title, name_source)
               ORDER BY t.fingerprint
               ON CONFLICT (fingerprint) DO NOTHING RETURNING id, fingerprint""",
            [fingerprint for fingerprint, _ in items],
            [p.brand[:100] for _, (p, _) in items],
            [p.model[:200] for _, (p, _) in items],
            [p.normalized_name[:500] for _, (p, _) in items],
            [p.category[:50] for _, (p, _) in items],
            [dict(facts.attributes) for _, (_, facts) in items],
            [round(p.confidence, 2) for _, (p, _) in items],
            [p.source != "rules" for _, (p, _) in items],
            [p.prompt_version[:20] for _, (p, _) in items],
            [facts.gtin for _, (_, facts) in items],
            [CODE_SEPARATOR.join(sorted(facts.codes)) for _, (_, facts) in items],
            [CODE_SEPARATOR.join(code_keys(facts.codes)) for _, (_, facts) in items],
            [facts.brand[:100] if facts.brand else None for _, (_, facts) in items],
            [category_group(facts.category) for _, (_, facts) in items],
            [facts.title for _, (_, facts) in items],
            [p.listing.listing_key for _, (p, _) in items],
            CODE_SEPARATOR,
        )
        created = {r["fingerprint"]: int(r["id"]) for r in rows}
        metrics.PERSISTED.labels("product_created").inc(len(created))
        return created

    async def _attach_same_title(
        self,
        conn: asyncpg.Connection,
        unresolved: list[tuple[ValidatedProduct, Facts]],
        previous: dict[str, asyncpg.Record],
        changes: Changes,
    ) -> list[tuple[ValidatedProduct, Facts]]:
        """The cache-hit path: a new listing whose normalized title and GTIN other listings
        already carry, with the same identity facts, is scored by the matcher against one of
        them only (one query for the whole batch instead of a candidate search per listing) and
        attached, written in one statement, when the score reaches the attach threshold. What
        this does not settle goes on to full resolution, returned."""
        masters = await same_title_masters(
            conn, [(p.listing.listing_key, facts) for p, facts in unresolved]
        )
        found = [masters.get(p.listing.listing_key) for p, _ in unresolved]
        # One model evaluation for the batch; the same scores as one `score` call each.
        pairs = [(facts, m.candidate) for (_, facts), m in zip(unresolved, found, strict=True) if m]
        scores = iter(self.resolver.score_pairs(pairs))
        attached: list[Placement] = []
        rest: list[tuple[ValidatedProduct, Facts]] = []
        for (p, facts), master in zip(unresolved, found, strict=True):
            if master is not None:
                score = next(scores)
                if score >= self.resolver.bounds(facts)[0]:
                    # A listing of the master has the same identity facts; seen after all of
                    # them, this one would be folded in last.
                    last = master.latest_seen is None or _seen_at(p) > master.latest_seen
                    attached.append(
                        Placement(p, facts, master.product_id, "attached", score, fused=last)
                    )
                    continue
            rest.append((p, facts))
        if not attached:
            return rest
        metrics.RESOLUTIONS.labels("attached").inc(len(attached))
        metrics.SAME_TITLE_ATTACHED.inc(len(attached))
        for pl in attached:
            metrics.MATCH_SCORE.observe(pl.score or 0.0)
        placed = Changes()
        await self._place(conn, attached, previous, placed)
        if rest:
            # The listings resolved one by one next must see these masters as they now are.
            await refresh_best_prices(conn, placed.pairs, listings_stay=not placed.moved)
            await fuse_masters(conn, placed.refuse)
        changes.absorb(placed)
        return rest

    async def _master_for(
        self, conn: asyncpg.Connection, fingerprint: str, p: ValidatedProduct, facts: Facts
    ) -> int:
        """The row id of master `fingerprint` (following merges), created from this listing
        when it does not exist yet. The row is share-locked so a concurrent merge waits."""
        seen: set[str] = set()
        while fingerprint not in seen:
            seen.add(fingerprint)
            row = await conn.fetchrow(
                "SELECT id, merged_into FROM productos_maestros WHERE fingerprint = $1 FOR SHARE",
                fingerprint,
            )
            if row is None:
                break
            if row["merged_into"] is None:
                return int(row["id"])
            fingerprint = row["merged_into"]
        created = await conn.fetchval(
            """INSERT INTO productos_maestros (fingerprint, brand, model, normalized_name,
                   category_id, attributes, ai_confidence, ai_enhanced, processing_version, gtin,
                   model_codes, code_keys, match_brand, category_group, match_title, name_source)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
               ON CONFLICT (fingerprint) DO NOTHING RETURNING id""",
            fingerprint,
            p.brand[:100],
            p.model[:200],
            p.normalized_name[:500],
            p.category[:50],
            dict(facts.attributes),
            round(p.confidence, 2),
            p.source != "rules",
            p.prompt_version[:20],
            facts.gtin,
            sorted(facts.codes),
            code_keys(facts.codes),
            facts.brand[:100] if facts.brand else None,
            category_group(facts.category),
            facts.title,
            p.listing.listing_key,
        )
        if created is None:
            created = await conn.fetchval(
                "SELECT id FROM productos_maestros WHERE fingerprint = $1", fingerprint
            )
        else:
            metrics.PERSISTED.labels("product_created").inc()
        return int(created)

    async def _record_brand_observations(
        self, conn: asyncpg.Connection, products: Sequence[ValidatedProduct]
    ) -> None:
        """The brand registry counts the batch's brand observations in the same transaction:
        only new listing states reach here, so a replay never counts twice."""
        await brand_registry.record(
            conn,
            [o for p in products for o in observations(p.listing.brand, p.brand, p.source)],
        )

    async def _queue_review(
        self, conn: asyncpg.Connection, p: ValidatedProduct, decision: Decision
    ) -> ReviewItem:
        """An uncertain identity: the listing waits in `review_items` with its scored
        candidates and the validated product (what a decision re-publishes); no master is
        created. Written here, in the batch's transaction, and also sent on products.review.v1."""
        shown = decision.candidates[:REVIEW_CANDIDATES]
        bounds = self.resolver.bounds(facts_from_product(p))
        names = {
            r["fingerprint"]: r["normalized_name"]
            for r in await conn.fetch(
                "SELECT fingerprint, normalized_name FROM productos_maestros "
                "WHERE fingerprint = ANY($1)",
                [m for m, _ in shown],
            )
        }
        item = ReviewItem(
            listing=p.listing,
            input_fingerprint=p.input_fingerprint,
            reasons=[
                f"{IDENTITY_REASON}: best candidate scored {decision.score:.2f}, between "
                f"{bounds[1]:.2f} and {bounds[0]:.2f}"
            ],
            best_answer=Extraction(
                brand=p.brand,
                model=p.model,
                normalized_name=p.normalized_name,
                category=p.category,
                attributes=p.attributes,
                confidence=p.confidence,
            ),
            attempts=0,
            queued_at=_seen_at(p),
            candidates=[
                ReviewCandidate(master_id=m, score=min(max(s, 0.0), 1.0), name=names.get(m, ""))
                for m, s in shown
            ],
        )
        await conn.execute(
            """INSERT INTO review_items AS r (listing_key, input_fingerprint, listing, reasons,
                   best_answer, attempts, status, queued_at, candidates, validated)
               VALUES ($1, $2, $3, $4, $5, 0, 'pending', $6, $7, $8)
               ON CONFLICT (listing_key) DO UPDATE SET
                   input_fingerprint = EXCLUDED.input_fingerprint, listing = EXCLUDED.listing,
                   reasons = EXCLUDED.reasons, best_answer = EXCLUDED.best_answer,
                   attempts = 0, status = 'pending', queued_at = EXCLUDED.queued_at,
                   resolved_at = NULL, note = NULL, resolved_by = NULL, correction = NULL,
                   candidates = EXCLUDED.candidates, validated = EXCLUDED.validated,
                   decided_master = NULL
               WHERE r.queued_at <> EXCLUDED.queued_at OR r.validated IS NULL""",
            p.listing.listing_key,
            p.input_fingerprint,
            p.listing.model_dump(mode="json"),
            item.reasons,
            item.best_answer.model_dump(mode="json") if item.best_answer else None,
            item.queued_at,
            [c.model_dump(mode="json") for c in item.candidates],
            p.model_dump(mode="json"),
        )
        metrics.REVIEW.labels(IDENTITY_REASON).inc()
        metrics.PERSISTED.labels("identity_review").inc()
        return item

    # ------------------------------------------------------------------------ listings

    async def _place(
        self,
        conn: asyncpg.Connection,
        placements: Sequence[Placement],
        previous: dict[str, asyncpg.Record],
        changes: Changes,
    ) -> None:
        """Write each listing with its own price, and a history row when the price changed (one
        statement)."""
        history: list[bool] = []
        for pl in placements:
            listing = pl.product.listing
            key = listing.listing_key
            before = previous.get(key)
            changes.products.add(pl.product_id)
            changes.pairs.add((pl.product_id, listing.retailer))
            changes.listings.append(key)
            facts_json = facts_to_json(pl.facts)
            if before is None:
                if not pl.fused:
                    changes.refuse.add(pl.product_id)
            else:
                if before["product_id"] != pl.product_id:
                    changes.products.add(before["product_id"])
                    changes.pairs.add((before["product_id"], before["retailer"]))
                    changes.refuse |= {before["product_id"], pl.product_id}
                    changes.moved = True
                    metrics.PERSISTED.labels("offer_moved").inc()
                elif _identity_part(before["facts"] or {}) != _identity_part(facts_json):
                    changes.refuse.add(pl.product_id)
            history.append(
                before is None
                or before["price"] != listing.price
                or before["price_original"] != listing.price_original
            )
        metrics.PERSISTED.labels("offer").inc(len(placements))
        await conn.execute(
            """WITH t AS (
                   SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[],
                           $5::text[], $6::text[], $7::int[], $8::int[], $9::text[],
                           $10::timestamptz[], $11::text[], $12::text[], $13::jsonb[],
                           $14::text[], $15::text[], $16::text[], $17::text[], $18::text[],
                           $19::real[], $20::text[], $21::text[], $22::bool[])
                    AS t(key, retailer, sku, product_id, input_fingerprint, title, price,
                         price_original, source, seen, gtin, match_title, facts,
                         normalized_name, currency, stock_status, url, resolution, match_score,
                         normalization, identity_digest, history)
               ), written AS (
               INSERT INTO listings AS l (listing_key, retailer, sku, product_id,
                   input_fingerprint, title, price, price_original, source, first_seen,
                   last_seen, gtin, match_title, facts, normalized_name, currency, stock_status,
                   url, resolution, match_score, normalization, identity_digest)
               SELECT t.key, t.retailer, t.sku, t.product_id, t.input_fingerprint, t.title,
                      t.price, t.price_original, t.source, t.seen, t.seen, t.gtin,
                      t.match_title, t.facts, t.normalized_name, t.currency, t.stock_status,
                      t.url, t.resolution, t.match_score, t.normalization, t.identity_digest
               FROM t
               ON CONFLICT (listing_key) DO UPDATE SET
                   version = l.version + CASE WHEN
                       (l.product_id, l.sku, l.price, l.price_original, l.currency,
                        l.stock_status, l.url, l.last_seen)
                       IS DISTINCT FROM (EXCLUDED.product_id, EXCLUDED.sku, EXCLUDED.price,
                        EXCLUDED.price_original, EXCLUDED.currency, EXCLUDED.stock_status,
                        EXCLUDED.url, greatest(l.last_seen, EXCLUDED.last_seen))
                       THEN 1 ELSE 0 END,
                   price_version = CASE WHEN (l.price, l.price_original)
                       IS DISTINCT FROM (EXCLUDED.price, EXCLUDED.price_original)
                       THEN l.version + 1 ELSE l.price_version END,
                   product_id = EXCLUDED.product_id, sku = EXCLUDED.sku,
                   input_fingerprint = EXCLUDED.input_fingerprint, title = EXCLUDED.title,
                   price = EXCLUDED.price, price_original = EXCLUDED.price_original,
                   source = EXCLUDED.source, gtin = EXCLUDED.gtin,
                   match_title = EXCLUDED.match_title, facts = EXCLUDED.facts,
                   normalized_name = EXCLUDED.normalized_name, currency = EXCLUDED.currency,
                   normalization = EXCLUDED.normalization,
                   identity_digest = EXCLUDED.identity_digest,
                   stock_status = EXCLUDED.stock_status, url = EXCLUDED.url,
                   resolution = CASE WHEN EXCLUDED.resolution = 'known' THEN l.resolution
                                     ELSE EXCLUDED.resolution END,
                   match_score = CASE WHEN EXCLUDED.resolution = 'known' THEN l.match_score
                                      ELSE EXCLUDED.match_score END,
                   persisted_at = now(),
                   last_seen = greatest(l.last_seen, EXCLUDED.last_seen)
               )
               INSERT INTO price_history (listing_key, product_id, retailer, price,
                                          price_original, observed_at)
               SELECT t.key, t.product_id, t.retailer, t.price, t.price_original, t.seen
               FROM t WHERE t.history""",
            *_columns(
                placements,
                lambda pl: pl.product.listing.listing_key,
                lambda pl: pl.product.listing.retailer,
                lambda pl: pl.product.listing.sku,
                lambda pl: pl.product_id,
                lambda pl: pl.product.input_fingerprint,
                lambda pl: pl.product.listing.name,
                lambda pl: pl.product.listing.price,
                lambda pl: pl.product.listing.price_original,
                lambda pl: pl.product.source,
                lambda pl: _seen_at(pl.product),
                lambda pl: pl.facts.gtin,
                lambda pl: pl.facts.title,
                lambda pl: facts_to_json(pl.facts),
                lambda pl: pl.product.normalized_name[:500],
                lambda pl: pl.product.listing.currency,
                lambda pl: pl.product.listing.stock_status,
                lambda pl: pl.product.listing.url,
                lambda pl: pl.outcome,
                lambda pl: pl.score,
                lambda pl: pl.product.product_fingerprint,
                lambda pl: listing_digest(pl.product.listing, self.namespace),
            ),
            history,
        )
        if any(history):
            metrics.PERSISTED.labels("price_change").inc(sum(history))

    async def _write_cache(
        self, conn: asyncpg.Connection, products: Sequence[ValidatedProduct]
    ) -> None:
        if not products:
            return
        await conn.executemany(
            """INSERT INTO ai_metadata_cache AS c (fingerprint, custom_id, namespace, category,
                   product_fingerprint, product_raw, ai_response, source, model_used,
                   prompt_version, tokens_used, prompt_tokens, completion_tokens,
                   reasoning_tokens, cost_usd, confidence)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
               ON CONFLICT (fingerprint) DO UPDATE SET custom_id = EXCLUDED.custom_id,
                   category = EXCLUDED.category, product_fingerprint = EXCLUDED.product_fingerprint,
                   ai_response = EXCLUDED.ai_response, source = EXCLUDED.source,
                   model_used = EXCLUDED.model_used, prompt_version = EXCLUDED.prompt_version,
                   tokens_used = EXCLUDED.tokens_used, prompt_tokens = EXCLUDED.prompt_tokens,
                   completion_tokens = EXCLUDED.completion_tokens,
                   reasoning_tokens = EXCLUDED.reasoning_tokens, cost_usd = EXCLUDED.cost_usd,
                   confidence = EXCLUDED.confidence, updated_at = now()
               WHERE EXCLUDED.confidence > c.confidence""",
            [
                (
                    p.input_fingerprint,
                    p.custom_id,
                    self.namespace,
                    p.category,
                    p.product_fingerprint,
                    p.listing.model_dump(mode="json"),
                    to_entry(p).model_dump(mode="json"),
                    p.source,
                    p.model_used or "rules",
                    p.prompt_version[:20],
                    p.usage.prompt_tokens + p.usage.completion_tokens,
                    p.usage.prompt_tokens,
                    p.usage.completion_tokens,
                    p.usage.reasoning_tokens,
                    p.cost_usd,
                    round(p.confidence, 2),
                )
                for p in products
            ],
        )

    async def handle_review(self, batch: Sequence[Incoming[ReviewItem]]) -> list[Result]:
        # Identity reviews (with candidates) were written by the transaction that decided them;
        # applying them again could reopen an item a person has resolved since.
        items = [r.value for r in batch if not r.value.candidates]
        if items:
            await self.pool.executemany(
                """INSERT INTO review_items (listing_key, input_fingerprint, listing, reasons,
                       best_answer, attempts, status, queued_at)
                   VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7)
                   ON CONFLICT (listing_key) DO UPDATE SET
                       input_fingerprint = EXCLUDED.input_fingerprint,
                       listing = EXCLUDED.listing, reasons = EXCLUDED.reasons,
                       best_answer = EXCLUDED.best_answer, attempts = EXCLUDED.attempts,
                       status = 'pending', queued_at = EXCLUDED.queued_at, resolved_at = NULL,
                       candidates = NULL, validated = NULL, decided_master = NULL
                   WHERE review_items.queued_at <> EXCLUDED.queued_at""",
                [
                    (
                        r.listing.listing_key,
                        r.input_fingerprint,
                        r.listing.model_dump(mode="json"),
                        r.reasons,
                        r.best_answer.model_dump(mode="json") if r.best_answer else None,
                        r.attempts,
                        r.queued_at,
                    )
                    for r in items
                ],
            )
        return [[] for _ in batch]

    async def handle_dead_letters(self, batch: Sequence[Incoming[DeadLetter]]) -> list[Result]:
        await self.pool.executemany(
            # An oversized original was already written whole by the service that
            # dead-lettered it (the record carries only a prefix): that row is kept.
            """INSERT INTO dead_letters (service, topic, partition, "offset", error_type, error,
                   key_b64, value_b64, failed_at, value_size, value_sha256, truncated_on_topic)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
               ON CONFLICT (topic, partition, "offset", service) DO NOTHING""",
            [
                (
                    d.value.service,
                    d.value.topic,
                    d.value.partition,
                    d.value.offset,
                    d.value.error_type,
                    d.value.error,
                    d.value.key_b64,
                    d.value.value_b64,
                    d.value.failed_at,
                    d.value.value_size,
                    d.value.value_sha256,
                    d.value.truncated,
                )
                for d in batch
            ],
        )
        return [[] for _ in batch]


def _observed_at(obs: PriceObservation) -> datetime:
    return obs.listing.scraped_at or obs.routed_at


def _redelivered_masters(
    batch: Sequence[Incoming[PriceObservation]], previous: dict[str, asyncpg.Record]
) -> set[int]:
    """The masters of listings whose row already reflects one of the batch's messages (seen
    no later than the row's `last_seen`, which only grows): a message applied before, so the
    batch may be a redelivery whose events were never sent. Every message counts, not only a
    listing's latest in the batch: a redelivered batch can hold a newer message of the same
    listing that changes nothing the master publishes."""
    masters: set[int] = set()
    for item in batch:
        before = previous.get(item.value.listing.listing_key)
        if before is not None and _observed_at(item.value) <= before["last_seen"]:
            masters.add(before["product_id"])
    return masters


async def _apply_prices(
    conn: asyncpg.Connection, rows: Sequence[tuple[PriceObservation, asyncpg.Record]]
) -> list[asyncpg.Record]:
    """One statement: the new price, stock and seen-at of each (locked) listing, with the
    version rules of `CatalogWriter._place` (the identity columns do not move), a history row
    where the price changed, and the listings as they are now (`OFFER_COLUMNS` and
    `product_id`, in key order) for their offer events."""
    moved = [
        (b["price"], b["price_original"]) != (o.listing.price, o.listing.price_original)
        for o, b in rows
    ]
    written = await conn.fetch(
        f"""WITH t AS (
               SELECT * FROM unnest($1::text[], $2::int[], $3::int[], $4::text[], $5::text[],
                                    $6::text[], $7::timestamptz[], $8::bool[])
                   AS t(key, price, price_original, currency, stock_status, url, seen, moved)
           ), updated AS (
               UPDATE listings l SET
                   version = l.version + CASE WHEN
                       (l.price, l.price_original, l.currency, l.stock_status, l.url,
                        l.last_seen)
                       IS DISTINCT FROM (t.price, t.price_original, t.currency, t.stock_status,
                        t.url, greatest(l.last_seen, t.seen))
                       THEN 1 ELSE 0 END,
                   price_version = CASE WHEN (l.price, l.price_original)
                       IS DISTINCT FROM (t.price, t.price_original)
                       THEN l.version + 1 ELSE l.price_version END,
                   price = t.price, price_original = t.price_original, currency = t.currency,
                   stock_status = t.stock_status, url = t.url,
                   facts = CASE WHEN jsonb_typeof(l.facts) = 'object'
                       THEN jsonb_set(l.facts, '{{price}}', CASE WHEN t.price > 0
                           THEN to_jsonb(t.price::float8) ELSE 'null'::jsonb END)
                       ELSE l.facts END,
                   persisted_at = now(),
                   last_seen = greatest(l.last_seen, t.seen)
               FROM t WHERE l.listing_key = t.key
               RETURNING l.*
           ), history AS (
               INSERT INTO price_history (listing_key, product_id, retailer, price,
                                          price_original, observed_at)
               SELECT t.key, u.product_id, u.retailer, t.price, t.price_original, t.seen
               FROM t JOIN updated u ON u.listing_key = t.key WHERE t.moved
           )
           SELECT {OFFER_COLUMNS}, l.product_id
           FROM updated l JOIN productos_maestros p ON p.id = l.product_id
           ORDER BY l.listing_key""",
        [o.listing.listing_key for o, _ in rows],
        [o.listing.price for o, _ in rows],
        [o.listing.price_original for o, _ in rows],
        [o.listing.currency for o, _ in rows],
        [o.listing.stock_status for o, _ in rows],
        [o.listing.url for o, _ in rows],
        [_observed_at(o) for o, _ in rows],
        moved,
    )
    changed = sum(moved)
    if changed:
        metrics.PERSISTED.labels("price_change").inc(changed)
    return list(written)


def _columns(rows: Sequence[Placement], *getters: Any) -> list[list[Any]]:
    """Column arrays for an `unnest` insert."""
    return [[get(row) for row in rows] for get in getters]
