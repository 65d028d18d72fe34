"""Master products and their offers in Postgres: what every catalog writer shares.

The persister (one transaction per consumed batch) and the operator's `catalog merge` /
`catalog resolve --rerun` write the same tables the same way through this module:

* `refresh_best_prices`: `precios_actuales` holds each store's best current price for a product,
  recomputed from that store's listings of it (in stock first, then the lowest price); every
  listing keeps its own price in `listings`.
* `fuse_masters`: a master learns from its offers: attributes fused from every listing's facts
  (the most specific value, with the listing it came from), its name from the best-formed title,
  identifiers (GTIN, model codes, brand, normalized title) for candidate lookup.
* `product_states` / `offer_events`: what goes on catalog.products.v1 and catalog.offers.v1, with a
  per-product and per-listing version that grows only when the published state changes, and an
  event id derived from the key and the version, so a replay carries the same id.
* `merge`: a duplicate master folded into another one; `find_duplicates`: the re-resolution
  pass that finds masters the matcher now scores as one product, and merges them.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from catalog import metrics
from catalog.identity.catalog_pg import (
    MASTER_FACTS_COLUMNS,
    PostgresCatalog,
    category_group,
    code_keys,
    facts_from_json,
    master_facts,
    recent_offers,
)
from catalog.identity.facts import fuse
from catalog.identity.model import Facts
from catalog.identity.resolver import Resolver
from catalog.kafka.codec import encode
from catalog.kafka.topics import CATALOG_OFFERS, CATALOG_PRODUCTS
from catalog.settings import Settings
from schemas.models import CatalogOffer, CatalogProduct

# Fixed namespace of catalog event ids (uuid5): the same change always gets the same id.
EVENT_NAMESPACE = uuid.UUID("5d0c1f4e-8a43-5b1e-9a57-0c2f6d9e1b73")
_NAMESPACE_BYTES = EVENT_NAMESPACE.bytes


def event_id(kind: str, key: str, version: int) -> str:
    """Deterministic id of a catalog event: `kind` (product or offer), its key, its version.

    The text of `uuid.uuid5(EVENT_NAMESPACE, name)`, computed without building a `UUID` (a batch
    builds one id per event; this is a third of the cost)."""
    digest = bytearray(
        hashlib.sha1(_NAMESPACE_BYTES + f"{kind}:{key}:{version}".encode()).digest()[:16]
    )
    # RFC 4122 version 5 and variant bits, as `uuid.UUID(bytes=..., version=5)` sets them.
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class MergeError(ValueError):
    """The merge cannot be done (unknown master, merged elsewhere, the same master)."""


def _json(value: Any) -> Any:
    # Connections without the JSON codec return text.
    return json.loads(value) if isinstance(value, str) else value


async def refresh_best_prices(
    conn: asyncpg.Connection, pairs: Iterable[tuple[int, str]], *, listings_stay: bool = False
) -> None:
    """Recompute the `precios_actuales` row of each (product, retailer) from that store's
    listings of the product; a pair left without listings loses its row. `listings_stay`: the
    caller holds a listing of every pair locked (it wrote or locked it in this transaction) and
    moved none away from its master, so no pair can be left without listings and that check is
    skipped."""
    unique = sorted(set(pairs))
    if not unique:
        return
    ids = [p for p, _ in unique]
    retailers = [r for _, r in unique]
    if listings_stay:
        await _upsert_best_prices(conn, ids, retailers)
        return
    await conn.execute(
        """DELETE FROM precios_actuales pa
           USING unnest($1::int[], $2::text[]) AS t(product_id, retailer)
           WHERE pa.product_id = t.product_id AND pa.retailer = t.retailer
             AND NOT EXISTS (SELECT 1 FROM listings l
                             WHERE l.product_id = t.product_id AND l.retailer = t.retailer)""",
        ids,
        retailers,
    )
    await _upsert_best_prices(conn, ids, retailers)


async def _upsert_best_prices(
    conn: asyncpg.Connection, ids: list[int], retailers: list[str]
) -> None:
    await conn.execute(
        """INSERT INTO precios_actuales AS pa (product_id, retailer, sku, listing_key,
               price_current, price_original, currency, stock_status, url, last_seen)
           SELECT l.product_id, l.retailer, l.sku, l.listing_key, l.price, l.price_original,
                  l.currency, l.stock_status, l.url, l.last_seen
           FROM unnest($1::int[], $2::text[]) AS t(product_id, retailer)
           -- Per pair, through the (product, store) index: a plan that stays the same however
           -- large the listings table grows (the statement is prepared once, its plan kept).
           CROSS JOIN LATERAL (
               SELECT * FROM listings l
               WHERE l.product_id = t.product_id AND l.retailer = t.retailer
               ORDER BY (l.stock_status = 'out_of_stock'), l.price, l.last_seen DESC,
                        l.listing_key
               LIMIT 1) AS l
           ORDER BY l.product_id, l.retailer
           ON CONFLICT (product_id, retailer) DO UPDATE SET sku = EXCLUDED.sku,
               listing_key = EXCLUDED.listing_key, price_current = EXCLUDED.price_current,
               price_original = EXCLUDED.price_original, currency = EXCLUDED.currency,
               stock_status = EXCLUDED.stock_status, url = EXCLUDED.url,
               last_seen = EXCLUDED.last_seen
           WHERE (pa.sku, pa.listing_key, pa.price_current, pa.price_original, pa.currency,
                  pa.stock_status, pa.url, pa.last_seen)
                 IS DISTINCT FROM (EXCLUDED.sku, EXCLUDED.listing_key, EXCLUDED.price_current,
                  EXCLUDED.price_original, EXCLUDED.currency, EXCLUDED.stock_status,
                  EXCLUDED.url, EXCLUDED.last_seen)""",
        ids,
        retailers,
    )


@dataclass(frozen=True)
class FusedMaster:
    facts: Facts
    name: str
    name_source: str
    attribute_sources: dict[str, str]


def fuse_listings(listings: Sequence[tuple[str, Facts, str | None]]) -> FusedMaster:
    """Fold the facts of a master's listings (`(listing key, facts, normalized name)`, oldest
    first) into the master's facts; the name is the normalized name of the listing whose title
    the fusion kept, and each attribute names the listing it came from."""
    fused = listings[0][1]
    for _, facts, _ in listings[1:]:
        fused = fuse(fused, facts)
    name_key, name = next(
        ((key, name) for key, facts, name in listings if facts.title == fused.title and name),
        (listings[0][0], listings[0][2] or fused.title),
    )
    sources: dict[str, str] = {}
    for attribute, value in fused.attributes.items():
        for key, facts, _ in listings:
            if facts.attributes.get(attribute) == value:
                sources[attribute] = key
                break
    return FusedMaster(fused, name or fused.title, name_key, sources)


async def fuse_masters(conn: asyncpg.Connection, product_ids: Iterable[int]) -> None:
    """Recompute each master from its listings (those left without listings keep their last
    state: they are deactivated by `product_states`). The connection needs the JSON codec
    (`catalog.db.pool`)."""
    ids = sorted(set(product_ids))
    if not ids:
        return
    rows = await conn.fetch(
        """SELECT product_id, listing_key, facts, normalized_name FROM listings
           WHERE product_id = ANY($1) ORDER BY product_id, first_seen, listing_key""",
        ids,
    )
    groups: dict[int, list[tuple[str, Facts, str | None]]] = {}
    for r in rows:
        groups.setdefault(r["product_id"], []).append(
            (r["listing_key"], facts_from_json(r["facts"]), r["normalized_name"])
        )
    updates = []
    for product_id, listings in groups.items():
        master = fuse_listings(listings)
        facts = master.facts
        updates.append(
            (
                product_id,
                dict(facts.attributes),
                master.name[:500],
                facts.category[:50] if facts.category else None,
                facts.gtin,
                sorted(facts.codes),
                code_keys(facts.codes),
                facts.brand[:100] if facts.brand else None,
                category_group(facts.category),
                facts.title,
                master.attribute_sources,
                master.name_source,
            )
        )
    await conn.executemany(
        """UPDATE productos_maestros SET attributes = $2::jsonb, normalized_name = $3,
               category_id = coalesce($4, category_id), gtin = $5, model_codes = $6,
               code_keys = $7, match_brand = $8, category_group = $9, match_title = $10,
               attribute_sources = $11::jsonb, name_source = $12
           WHERE id = $1 AND (attributes, normalized_name, category_id, gtin, model_codes,
                              code_keys, match_brand, category_group, match_title,
                              attribute_sources, name_source)
               IS DISTINCT FROM ($2::jsonb, $3, coalesce($4, category_id), $5, $6, $7, $8, $9,
                                 $10, $11::jsonb, $12)""",
        updates,
    )


def _state_hash(state: Mapping[str, Any]) -> str:
    payload = json.dumps(state, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


async def product_states(
    conn: asyncpg.Connection, product_ids: Iterable[int]
) -> list[CatalogProduct]:
    """The published state of each master, after (de)activating it: a master is active while
    it has offers and is not merged. Its version grows only when the state changed since it was
    last published, so a redelivery re-publishes the same version and event id."""
    return [state for _, state, _ in await _product_states(conn, product_ids)]


async def changed_product_states(
    conn: asyncpg.Connection, product_ids: Iterable[int], republish: Iterable[int] = ()
) -> list[CatalogProduct]:
    """`product_states` of `product_ids` and `republish`, keeping the states whose version
    grew now and every state of `republish`: what a writer publishes when an unchanged state
    needs no event (its consumers hold that version already), except where the change that made
    it may not have been published yet (`republish`: masters of a redelivered write)."""
    again = set(republish)
    return [
        state
        for product_id, state, grew in await _product_states(conn, {*product_ids, *again})
        if grew or product_id in again
    ]


async def _product_states(
    conn: asyncpg.Connection, product_ids: Iterable[int]
) -> list[tuple[int, CatalogProduct, bool]]:
    """Each master's row id, state, and whether its version grew in this call."""
    ids = sorted(set(product_ids))
    if not ids:
        return []
    # Row locks in id order (the locking sub-select sorts, then locks): two writers touching
    # overlapping masters queue instead of deadlocking (FK checks of concurrent listing writes
    # are not blocked by this lock mode). Then each master's offers, in the same statement.
    rows = await conn.fetch(
        """SELECT p.id, p.fingerprint, p.brand, p.model, p.normalized_name, p.category_id,
                  p.attributes, p.ai_confidence, p.updated_at, p.version, p.state_hash,
                  p.merged_into, p.active, o.offers, o.min_price, o.max_price
           FROM (SELECT * FROM productos_maestros WHERE id = ANY($1)
                 ORDER BY id FOR NO KEY UPDATE) p
           CROSS JOIN LATERAL (
               SELECT count(*) AS offers, min(pa.price_current) AS min_price,
                      max(pa.price_current) AS max_price
               FROM precios_actuales pa WHERE pa.product_id = p.id) o
           ORDER BY p.id""",
        ids,
    )
    # Active while it has offers and is not merged; written only where that changed (rarely:
    # most batches add offers to masters that have some).
    flips = [
        (r["id"], want)
        for r in rows
        if r["active"] is not (want := r["merged_into"] is None and r["offers"] > 0)
    ]
    if flips:
        await conn.execute(
            """UPDATE productos_maestros p SET active = t.active
               FROM unnest($1::int[], $2::bool[]) AS t(id, active) WHERE p.id = t.id""",
            [i for i, _ in flips],
            [w for _, w in flips],
        )
    states: list[tuple[asyncpg.Record, dict[str, Any], str]] = []
    for r in rows:
        state: dict[str, Any] = {
            "product_fingerprint": r["fingerprint"],
            "merged_into": r["merged_into"],
            "brand": r["brand"],
            "model": r["model"],
            "normalized_name": r["normalized_name"],
            "category": r["category_id"],
            "attributes": _json(r["attributes"]),
            "confidence": float(r["ai_confidence"] or 0),
            "offer_count": r["offers"],
            "min_price": int(r["min_price"]) if r["min_price"] is not None else None,
            "max_price": int(r["max_price"]) if r["max_price"] is not None else None,
        }
        states.append((r, state, _state_hash(state)))
    changed = [(r["id"], digest) for r, _, digest in states if digest != r["state_hash"]]
    bumped: dict[int, tuple[int, Any]] = {}
    if changed:
        bumped = {
            b["id"]: (b["version"], b["updated_at"])
            for b in await conn.fetch(
                """UPDATE productos_maestros p SET version = p.version + 1,
                       state_hash = t.digest, updated_at = now()
                   FROM unnest($1::int[], $2::text[]) AS t(id, digest) WHERE p.id = t.id
                   RETURNING p.id, p.version, p.updated_at""",
                [i for i, _ in changed],
                [d for _, d in changed],
            )
        }
    out = []
    for r, state, _ in states:
        version, updated_at = bumped.get(r["id"], (r["version"], r["updated_at"]))
        # Built from the catalog's own typed columns, so not validated again (a batch builds
        # one state per master it touched); consumers validate what they read.
        product = CatalogProduct.model_construct(
            event_id=event_id("product", r["fingerprint"], version),
            version=version,
            updated_at=updated_at,
            **state,
        )
        out.append((int(r["id"]), product, r["id"] in bumped))
    return out


async def offer_events(conn: asyncpg.Connection, listing_keys: Iterable[str]) -> list[CatalogOffer]:
    """The current offer of each listing, as catalog.offers.v1 carries it."""
    keys = sorted(set(listing_keys))
    if not keys:
        return []
    rows = await conn.fetch(
        f"""SELECT {OFFER_COLUMNS}
            FROM listings l JOIN productos_maestros p ON p.id = l.product_id
            WHERE l.listing_key = ANY($1) ORDER BY l.listing_key""",
        keys,
    )
    return [offer_from_row(r) for r in rows]


# The columns `offer_from_row` reads: listings `l` joined with their master `p`.
OFFER_COLUMNS = (
    "l.listing_key, l.retailer, l.sku, l.price, l.price_original, l.currency, l.stock_status, "
    "l.url, l.last_seen, l.version, l.price_version, p.fingerprint"
)


def offer_from_row(r: Mapping[str, Any]) -> CatalogOffer:
    """A listing's offer event from its typed columns (`OFFER_COLUMNS`), not validated again:
    a batch builds one per listing it wrote."""
    return CatalogOffer.model_construct(
        event_id=event_id("offer", r["listing_key"], r["version"]),
        version=r["version"],
        product_fingerprint=r["fingerprint"],
        listing_key=r["listing_key"],
        retailer=r["retailer"],
        sku=r["sku"],
        price=r["price"],
        price_original=r["price_original"],
        currency=r["currency"],
        stock_status=r["stock_status"],
        url=r["url"],
        price_changed=r["price_version"] == r["version"],
        last_seen=r["last_seen"],
    )


@dataclass(frozen=True)
class Merged:
    duplicate: str
    into: str
    moved_listings: int
    already: bool
    """True when the duplicate was already merged into the master: nothing changed."""
    products: list[CatalogProduct]
    offers: list[CatalogOffer]


async def merge(conn: asyncpg.Connection, duplicate: str, into: str) -> Merged:
    """Fold master `duplicate` into master `into`, in the caller's transaction: its listings,
    offers and price history move, it is marked `merged_into` and deactivated (its row stays:
    old events and history point to it), masters merged into it earlier now point to `into`,
    and `into` is re-fused from all its listings. Versions grow as the states change; the
    returned events are what catalog.products.v1 and catalog.offers.v1 must carry.

    Idempotent: merging again what is already merged changes nothing and returns the current
    states (same versions, same event ids)."""
    if duplicate == into:
        raise MergeError("a master cannot be merged into itself")
    rows = await conn.fetch(
        # NO KEY UPDATE: listing writes' foreign-key checks on these rows do not wait for the
        # merge (no lock cycle with a persister holding listing rows); new attachments do, as
        # they share-lock the master.
        """SELECT id, fingerprint, merged_into FROM productos_maestros
           WHERE fingerprint = ANY($1) ORDER BY id FOR NO KEY UPDATE""",
        [duplicate, into],
    )
    found = {r["fingerprint"]: r for r in rows}
    for fingerprint in (duplicate, into):
        if fingerprint not in found:
            raise MergeError(f"no master product {fingerprint!r}")
    dup, target = found[duplicate], found[into]
    if target["merged_into"] is not None:
        raise MergeError(f"{into} was itself merged into {target['merged_into']}")
    if dup["merged_into"] is not None and dup["merged_into"] != into:
        raise MergeError(f"{duplicate} was already merged into {dup['merged_into']}")
    already = dup["merged_into"] == into
    moved: list[asyncpg.Record] = []
    repointed: list[int] = []
    if not already:
        moved = await conn.fetch(
            """UPDATE listings SET product_id = $2, version = version + 1
               WHERE product_id = $1 RETURNING listing_key, retailer""",
            dup["id"],
            target["id"],
        )
        await conn.execute(
            "UPDATE price_history SET product_id = $2 WHERE product_id = $1",
            dup["id"],
            target["id"],
        )
        await conn.execute("DELETE FROM precios_actuales WHERE product_id = $1", dup["id"])
        await refresh_best_prices(conn, [(target["id"], r["retailer"]) for r in moved])
        await conn.execute(
            "UPDATE productos_maestros SET merged_into = $2, active = FALSE WHERE id = $1",
            dup["id"],
            into,
        )
        repointed = [
            r["id"]
            for r in await conn.fetch(
                "UPDATE productos_maestros SET merged_into = $2 WHERE merged_into = $1 "
                "RETURNING id",
                duplicate,
                into,
            )
        ]
        await fuse_masters(conn, [target["id"]])
        metrics.MERGES.inc()
    products = await product_states(conn, [dup["id"], target["id"], *repointed])
    keys = [r["listing_key"] for r in moved]
    if already:
        keys = [
            r["listing_key"]
            for r in await conn.fetch(
                "SELECT listing_key FROM listings WHERE product_id = $1", target["id"]
            )
        ]
    return Merged(duplicate, into, len(moved), already, products, await offer_events(conn, keys))


@dataclass(frozen=True)
class Duplicate:
    """A pair the matcher now scores at or above the attach threshold: `duplicate` (the younger
    master) belongs in `into`."""

    duplicate: str
    into: str
    score: float
    merged: Merged | None = None


async def find_duplicates(
    conn: asyncpg.Connection, resolver: Resolver, *, apply: bool = True
) -> list[Duplicate]:
    """The re-resolution pass: every live master is resolved against the others with the
    current matcher; a best candidate at or above the attach threshold is a duplicate, and the
    younger of the two is merged into the older (one transaction per merge) when `apply`.
    Idempotent: merged masters are never candidates, so a second pass finds nothing new."""
    found: list[Duplicate] = []
    ids = [
        r["id"]
        for r in await conn.fetch(
            "SELECT id FROM productos_maestros WHERE merged_into IS NULL AND active ORDER BY id"
        )
    ]
    for product_id in ids:
        async with conn.transaction():
            row = await conn.fetchrow(
                f"""SELECT {MASTER_FACTS_COLUMNS} FROM productos_maestros p
                    WHERE p.id = $1 AND p.merged_into IS NULL""",
                product_id,
            )
            if row is None:
                continue
            # The master speaks through its latest offers, as a listing would.
            probes = (await recent_offers(conn, [product_id])).get(product_id) or [
                master_facts(row)
            ]
            source = PostgresCatalog(conn, exclude=[product_id])
            best_pair = None
            attach_at = resolver.bounds(master_facts(row))[0]
            for facts in probes:
                candidates = list(await source.candidates(facts, resolver.candidate_limit))
                ranked = resolver.rank(facts, candidates)
                if ranked and (best_pair is None or ranked[0][1] > best_pair[1]):
                    best_pair = ranked[0]
            if best_pair is None or best_pair[1] < attach_at:
                continue
            best, score = best_pair
            other_id = await conn.fetchval(
                "SELECT id FROM productos_maestros WHERE fingerprint = $1", best.master_id
            )
            pair = sorted([(product_id, row["fingerprint"]), (other_id, best.master_id)])
            into, duplicate = pair[0][1], pair[1][1]
            if any({d.duplicate, d.into} == {duplicate, into} for d in found):
                continue
            merged = await merge(conn, duplicate, into) if apply else None
            found.append(Duplicate(duplicate, into, score, merged))
    return found


async def publish_events(
    settings: Settings, products: Sequence[CatalogProduct], offers: Sequence[CatalogOffer]
) -> None:
    """Send catalog events (after the transaction that made them committed), each awaited."""
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka.bootstrap, acks="all")
    await producer.start()
    try:
        for product in products:
            await producer.send_and_wait(
                CATALOG_PRODUCTS.full_name(settings.kafka),
                key=product.product_fingerprint.encode(),
                value=encode(product),
            )
        for offer in offers:
            await producer.send_and_wait(
                CATALOG_OFFERS.full_name(settings.kafka),
                key=offer.product_fingerprint.encode(),
                value=encode(offer),
            )
    finally:
        await producer.stop()


async def connect(settings: Settings) -> asyncpg.Connection:
    """A connection with the JSON codec this module needs."""
    from catalog.db.pool import _init_connection

    conn = await asyncpg.connect(settings.postgres.dsn.get_secret_value())
    await _init_connection(conn)
    return conn


async def merge_and_publish(settings: Settings, duplicate: str, into: str) -> Merged:
    """The operator's merge: one transaction, then its events on the catalog topics."""
    conn = await connect(settings)
    try:
        async with conn.transaction():
            merged = await merge(conn, duplicate, into)
    finally:
        await conn.close()
    await publish_events(settings, merged.products, merged.offers)
    return merged


async def rerun_and_publish(
    settings: Settings, resolver: Resolver, *, apply: bool = True
) -> list[Duplicate]:
    """The re-resolution pass over the whole catalog, then the merges' events."""
    conn = await connect(settings)
    try:
        found = await find_duplicates(conn, resolver, apply=apply)
    finally:
        await conn.close()
    for duplicate in found:
        if duplicate.merged is not None:
            await publish_events(settings, duplicate.merged.products, duplicate.merged.offers)
    return found
