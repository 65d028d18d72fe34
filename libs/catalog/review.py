"""Operator workflows for what left the happy path: the review queue and dead letters.

Review: a listing no tier could normalize to the bar waits in `review_items`. A person accepts a
correction (or the best answer as it is), which is validated with the same rules as a model's
answer (schema coercion, brand aliases, strict taxonomy, quality gate; a person's answer has
confidence 1.0), written as a cache entry (`ai_metadata_cache` with source 'review', and L1), and
the listing is re-emitted on products.raw.v1: it flows through the pipeline again, now answered
by the cache. Or the item is rejected with a note.

Identity review: a normalized listing whose master is uncertain (the matcher scored its best
candidate between the new-master and attach thresholds) waits with its scored candidates and the
validated product. A person picks a candidate or declares a new product; the decision is stored
on the item and the validated product is re-published on products.validated.v1, where the
persister resolves the listing to the chosen master (a new one takes the id resolution would
have given it).

Dead letters: `dead_letters` keeps the original bytes of every message a service gave up on.
Replaying republishes them (or fixed bytes) to the original topic and stamps `replayed_at`.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg

from catalog.cache.entry import CacheEntry
from catalog.cache.l1 import L1Cache, connect
from catalog.domain.brands import BrandAliases, load_brands
from catalog.domain.identity import product_fingerprint
from catalog.domain.taxonomy import Taxonomy, load_taxonomy
from catalog.identity.catalog_pg import fresh_master_id
from catalog.kafka.codec import encode
from catalog.kafka.topics import RAW, VALIDATED
from catalog.settings import Settings
from catalog.validation import Verdict, review_correction
from schemas.models import Extraction, RawListing, ReviewCandidate, ValidatedProduct

REVIEW_SOURCE = "review"
REVIEW_MODEL = "human"
STATUSES = ("pending", "accepted", "rejected")


class ReviewError(ValueError):
    """The operation cannot be done (unknown item, wrong status, bad correction)."""


class CorrectionRejected(ReviewError):
    """The correction does not pass the quality bar; `verdict.reasons` says why."""

    def __init__(self, verdict: Verdict) -> None:
        super().__init__("; ".join(verdict.reasons))
        self.verdict = verdict


# ---------------------------------------------------------------------------- review queue


@dataclass(frozen=True)
class ReviewRow:
    listing_key: str
    listing: RawListing
    input_fingerprint: str
    reasons: list[str]
    best_answer: Extraction | None
    attempts: int
    status: str
    queued_at: datetime
    resolved_at: datetime | None
    note: str | None
    resolved_by: str | None
    correction: Extraction | None
    candidates: list[ReviewCandidate] = field(default_factory=list)
    """Scored candidate masters of an identity review, best first."""
    identity: bool = False
    """An identity review: decided with a candidate or a new product, not a correction."""
    decided_master: str | None = None

    @classmethod
    def from_record(cls, r: asyncpg.Record) -> ReviewRow:
        return cls(
            listing_key=r["listing_key"],
            listing=RawListing.model_validate(_json(r["listing"])),
            input_fingerprint=r["input_fingerprint"],
            reasons=list(r["reasons"]),
            best_answer=Extraction.model_validate(_json(r["best_answer"]))
            if r["best_answer"] is not None
            else None,
            attempts=r["attempts"],
            status=r["status"],
            queued_at=r["queued_at"],
            resolved_at=r["resolved_at"],
            note=r["note"],
            resolved_by=r["resolved_by"],
            correction=Extraction.model_validate(_json(r["correction"]))
            if r["correction"] is not None
            else None,
            candidates=[ReviewCandidate.model_validate(c) for c in _json(r["candidates"]) or []],
            identity=r["identity"],
            decided_master=r["decided_master"],
        )


def _json(value: Any) -> Any:
    # Connections without the JSON codec return text.
    return json.loads(value) if isinstance(value, str) else value


_REVIEW_COLUMNS = """listing_key, listing, input_fingerprint, reasons, best_answer, attempts,
    status, queued_at, resolved_at, note, resolved_by, correction, candidates,
    validated IS NOT NULL AS identity, decided_master"""


async def list_reviews(
    conn: asyncpg.Connection, status: str | None = "pending", limit: int = 50
) -> list[ReviewRow]:
    """Review items, oldest first; `status=None` lists every status."""
    rows = await conn.fetch(
        f"""SELECT {_REVIEW_COLUMNS} FROM review_items
            WHERE ($1::text IS NULL OR status = $1) ORDER BY queued_at, listing_key LIMIT $2""",
        status,
        limit,
    )
    return [ReviewRow.from_record(r) for r in rows]


async def get_review(conn: asyncpg.Connection, listing_key: str) -> ReviewRow:
    row = await conn.fetchrow(
        f"SELECT {_REVIEW_COLUMNS} FROM review_items WHERE listing_key = $1", listing_key
    )
    if row is None:
        raise ReviewError(f"no review item for {listing_key!r}")
    return ReviewRow.from_record(row)


def parse_attribute_options(options: Sequence[str]) -> dict[str, str | None]:
    """`["storage_gb=256", "color=Negro", "panel="]` -> values; an empty value removes."""
    out: dict[str, str | None] = {}
    for option in options:
        name, sep, value = option.partition("=")
        if not sep or not name.strip():
            raise ReviewError(f"attribute {option!r} is not NAME=VALUE")
        out[name.strip()] = value.strip() or None
    return out


@dataclass(frozen=True)
class Correction:
    """What a person changes on a reviewed listing; fields left None keep the best answer's.
    An attribute given as None is removed."""

    brand: str | None = None
    model: str | None = None
    category: str | None = None
    name: str | None = None
    attributes: Mapping[str, str | None] = field(default_factory=dict)
    from_best: bool = False


def build_correction(
    row: ReviewRow,
    correction: Correction,
    *,
    taxonomy: Taxonomy | None = None,
    brands: BrandAliases | None = None,
    min_confidence: float = 0.75,
    min_coverage: float = 0.70,
) -> Verdict:
    """The corrected answer and its verdict. Fields not given come from the best answer.

    `from_best` with no other field takes the best answer as it is; otherwise at least one field
    must be given. Attributes given here must belong to the category's schema; attributes of the
    best answer that the (possibly new) category does not have are left out.
    """
    taxonomy = taxonomy or load_taxonomy()
    brands = brands or load_brands()
    brand, model, category, name = (
        correction.brand, correction.model, correction.category, correction.name,
    )  # fmt: skip
    from_best = correction.from_best
    given = correction.attributes
    changed = any(v is not None for v in (brand, model, category, name)) or bool(given)
    if not changed and not from_best:
        raise ReviewError("give a correction (--brand, --model, --category, --attr) or --from-best")
    best = row.best_answer or Extraction()
    if from_best and row.best_answer is None and not changed:
        raise ReviewError(f"{row.listing_key} has no best answer to accept")
    category_id = category or best.category
    found = taxonomy.get(category_id)
    merged: dict[str, object] = {}
    if found is not None:
        for key, value in best.attributes.items():
            canonical = found.attribute_for(key, value)
            if canonical is not None:
                merged[canonical] = value
    for key, raw in given.items():
        # The attribute the given value names ("capacity: 250g" replaces the weight), as
        # validation maps it.
        canonical = (found.attribute_for(key, raw) if found else None) or key
        merged.pop(canonical, None)
        if raw is not None:
            merged[key] = raw
    keep_name = not changed or (name is not None)
    return review_correction(
        brand=brand if brand is not None else best.brand,
        model=model if model is not None else best.model,
        category=category_id,
        attributes=merged,
        normalized=name if name is not None else (best.normalized_name if keep_name else None),
        taxonomy=taxonomy,
        brands=brands,
        min_confidence=min_confidence,
        min_coverage=min_coverage,
    )


def cache_entry(extraction: Extraction, prompt_version: str) -> CacheEntry:
    assert extraction.brand and extraction.model and extraction.category
    return CacheEntry(
        brand=extraction.brand,
        model=extraction.model,
        normalized_name=extraction.normalized_name or f"{extraction.brand} {extraction.model}",
        category=extraction.category,
        attributes=extraction.attributes,
        confidence=extraction.confidence,
        product_fingerprint=product_fingerprint(
            extraction.brand, extraction.model, extraction.category, extraction.attributes
        ),
        model_used=REVIEW_MODEL,
        prompt_version=prompt_version,
    )


async def _publish(
    settings: Settings, topic: str, items: Sequence[tuple[bytes | None, bytes]]
) -> None:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka.bootstrap, acks="all")
    await producer.start()
    try:
        for key, value in items:
            await producer.send_and_wait(topic, key=key, value=value)
    finally:
        await producer.stop()


@dataclass(frozen=True)
class Accepted:
    row: ReviewRow
    verdict: Verdict
    entry: CacheEntry


async def accept(
    settings: Settings,
    listing_key: str,
    correction: Correction,
    *,
    note: str | None = None,
    resolved_by: str | None = None,
) -> Accepted:
    """Validate the correction, store it as a cache entry (L3 and L1), re-emit the listing on
    products.raw.v1 and mark the item accepted. Safe to retry: every step is an upsert."""
    taxonomy = load_taxonomy()
    conn = await asyncpg.connect(settings.postgres.dsn.get_secret_value())
    try:
        row = await get_review(conn, listing_key)
        if row.status == "accepted":
            raise ReviewError(f"{listing_key} was already accepted at {row.resolved_at}")
        if row.identity:
            raise ReviewError(
                f"{listing_key} waits for an identity decision: accept a candidate "
                "(--candidate MASTER_ID) or declare a new product (--new-product)"
            )
        verdict = build_correction(
            row,
            correction,
            taxonomy=taxonomy,
            min_confidence=settings.validation.min_confidence,
            min_coverage=settings.validation.min_attr_coverage,
        )
        if not verdict.passed:
            raise CorrectionRejected(verdict)
        entry = cache_entry(verdict.extraction, settings.llm.prompt_version)
        await conn.execute(
            """INSERT INTO ai_metadata_cache (fingerprint, custom_id, namespace, category,
                   product_fingerprint, product_raw, ai_response, source, model_used,
                   prompt_version, tokens_used, prompt_tokens, completion_tokens,
                   reasoning_tokens, cost_usd, confidence)
               VALUES ($1, NULL, $2, $3, $4, $5::jsonb, $6::jsonb, $7, $8, $9, 0, 0, 0, 0, 0, 1.0)
               ON CONFLICT (fingerprint) DO UPDATE SET custom_id = NULL,
                   category = EXCLUDED.category, product_fingerprint = EXCLUDED.product_fingerprint,
                   product_raw = EXCLUDED.product_raw, ai_response = EXCLUDED.ai_response,
                   source = EXCLUDED.source, model_used = EXCLUDED.model_used,
                   prompt_version = EXCLUDED.prompt_version, tokens_used = 0,
                   prompt_tokens = 0, completion_tokens = 0, reasoning_tokens = 0,
                   cost_usd = 0, confidence = 1.0, updated_at = now()""",
            row.input_fingerprint,
            settings.cache.namespace,
            entry.category,
            entry.product_fingerprint,
            row.listing.model_dump_json(),
            entry.model_dump_json(),
            REVIEW_SOURCE,
            REVIEW_MODEL,
            settings.llm.prompt_version[:20],
        )
        l1 = L1Cache(
            connect(settings.redis), settings.cache.namespace, settings.redis.retry_after_s
        )
        try:
            found = taxonomy.get(entry.category)
            ttl = found.l1_ttl_s if found else settings.cache.l1_default_ttl_s
            await l1.set_many([(row.input_fingerprint, entry, ttl)])
        finally:
            await l1.client.aclose()
        await _publish(
            settings,
            RAW.full_name(settings.kafka),
            [(row.listing_key.encode(), encode(row.listing))],
        )
        await conn.execute(
            """UPDATE review_items SET status = 'accepted', resolved_at = now(), note = $2,
                   resolved_by = $3, correction = $4::jsonb WHERE listing_key = $1""",
            listing_key,
            note,
            resolved_by,
            verdict.extraction.model_dump_json(),
        )
        return Accepted(await get_review(conn, listing_key), verdict, entry)
    finally:
        await conn.close()


@dataclass(frozen=True)
class IdentityDecided:
    row: ReviewRow
    master_id: str
    new_product: bool


async def decide_identity(
    settings: Settings,
    listing_key: str,
    master_id: str | None,
    *,
    note: str | None = None,
    resolved_by: str | None = None,
) -> IdentityDecided:
    """Resolve an identity review: `master_id` (a candidate, or any live master) or, when None,
    a new product. The decision is stored on the item, then the validated product is
    re-published on products.validated.v1 for the persister to apply. Safe to retry with the
    same decision (the persister applies it once)."""
    from catalog.db.pool import _init_connection

    conn = await asyncpg.connect(settings.postgres.dsn.get_secret_value())
    try:
        await _init_connection(conn)
        row = await get_review(conn, listing_key)
        if not row.identity:
            raise ReviewError(
                f"{listing_key} is not an identity review: accept it with a correction"
            )
        if row.status == "rejected":
            raise ReviewError(f"{listing_key} was rejected at {row.resolved_at}")
        if row.status == "accepted" and row.decided_master is not None:
            chosen = master_id or row.decided_master
        else:
            chosen = master_id or await fresh_master_id(conn, listing_key)
        if row.status == "accepted" and row.decided_master != chosen:
            raise ReviewError(
                f"{listing_key} was already resolved to {row.decided_master} at {row.resolved_at}"
            )
        if master_id is not None:
            merged = await conn.fetchrow(
                "SELECT merged_into FROM productos_maestros WHERE fingerprint = $1", master_id
            )
            if merged is None:
                raise ReviewError(f"no master product {master_id!r}")
            if merged["merged_into"] is not None:
                raise ReviewError(f"{master_id} was merged into {merged['merged_into']}")
        await conn.execute(
            """UPDATE review_items SET status = 'accepted', decided_master = $2,
                   resolved_at = coalesce(resolved_at, now()), note = coalesce($3, note),
                   resolved_by = coalesce($4, resolved_by) WHERE listing_key = $1""",
            listing_key,
            chosen,
            note,
            resolved_by,
        )
        validated = ValidatedProduct.model_validate(
            _json(
                await conn.fetchval(
                    "SELECT validated FROM review_items WHERE listing_key = $1", listing_key
                )
            )
        )
        await _publish(
            settings,
            VALIDATED.full_name(settings.kafka),
            [(listing_key.encode(), encode(validated))],
        )
        return IdentityDecided(await get_review(conn, listing_key), chosen, master_id is None)
    finally:
        await conn.close()


async def reject(
    conn: asyncpg.Connection, listing_key: str, note: str, resolved_by: str | None = None
) -> ReviewRow:
    row = await get_review(conn, listing_key)
    if row.status != "pending":
        raise ReviewError(f"{listing_key} is {row.status}, not pending")
    await conn.execute(
        """UPDATE review_items SET status = 'rejected', resolved_at = now(), note = $2,
               resolved_by = $3 WHERE listing_key = $1""",
        listing_key,
        note,
        resolved_by,
    )
    return await get_review(conn, listing_key)


# ---------------------------------------------------------------------------- dead letters


@dataclass(frozen=True)
class DeadLetterRow:
    id: int
    service: str
    topic: str
    partition: int
    offset: int
    error_type: str
    error: str
    key: bytes | None
    value: bytes
    failed_at: datetime
    replayed_at: datetime | None
    replay_count: int

    @classmethod
    def from_record(cls, r: asyncpg.Record) -> DeadLetterRow:
        return cls(
            id=r["id"],
            service=r["service"],
            topic=r["topic"],
            partition=r["partition"],
            offset=r["offset"],
            error_type=r["error_type"],
            error=r["error"],
            key=base64.b64decode(r["key_b64"]) if r["key_b64"] else None,
            value=base64.b64decode(r["value_b64"]),
            failed_at=r["failed_at"],
            replayed_at=r["replayed_at"],
            replay_count=r["replay_count"],
        )

    @property
    def key_text(self) -> str:
        return self.key.decode("utf-8", "replace") if self.key is not None else ""


_DLQ_COLUMNS = """id, service, topic, partition, "offset", error_type, error, key_b64, value_b64,
    failed_at, replayed_at, replay_count"""


async def list_dead_letters(
    conn: asyncpg.Connection,
    *,
    service: str | None = None,
    include_replayed: bool = True,
    limit: int = 50,
) -> list[DeadLetterRow]:
    """Dead letters, newest first."""
    rows = await conn.fetch(
        f"""SELECT {_DLQ_COLUMNS} FROM dead_letters
            WHERE ($1::text IS NULL OR service = $1) AND ($2 OR replayed_at IS NULL)
            ORDER BY failed_at DESC, id DESC LIMIT $3""",
        service,
        include_replayed,
        limit,
    )
    return [DeadLetterRow.from_record(r) for r in rows]


async def get_dead_letter(conn: asyncpg.Connection, letter_id: int) -> DeadLetterRow:
    row = await conn.fetchrow(f"SELECT {_DLQ_COLUMNS} FROM dead_letters WHERE id = $1", letter_id)
    if row is None:
        raise ReviewError(f"no dead letter with id {letter_id}")
    return DeadLetterRow.from_record(row)


async def replay(
    settings: Settings,
    *,
    ids: Sequence[int] = (),
    all_from: str | None = None,
    value: bytes | None = None,
    again: bool = False,
) -> list[DeadLetterRow]:
    """Republish dead letters to their original topic and stamp `replayed_at`.

    `ids` picks entries; `all_from` takes every not-yet-replayed entry of a service (`again`
    includes replayed ones). `value` replaces the original bytes (one entry only): the way to
    replay a message that was invalid as sent, once fixed.
    """
    if bool(ids) == bool(all_from):
        raise ReviewError("give dead-letter ids or --all-from SERVICE (not both)")
    if value is not None and len(ids) != 1:
        raise ReviewError("a replacement value replays exactly one dead letter")
    conn = await asyncpg.connect(settings.postgres.dsn.get_secret_value())
    try:
        if ids:
            rows = [await get_dead_letter(conn, i) for i in ids]
            if not again:
                done = [r.id for r in rows if r.replayed_at is not None]
                if done:
                    raise ReviewError(f"already replayed: {done} (use --again)")
        else:
            rows = [
                DeadLetterRow.from_record(r)
                for r in await conn.fetch(
                    f"""SELECT {_DLQ_COLUMNS} FROM dead_letters
                        WHERE service = $1 AND ($2 OR replayed_at IS NULL) ORDER BY id""",
                    all_from,
                    again,
                )
            ]
        by_topic: dict[str, list[tuple[bytes | None, bytes]]] = {}
        for row in rows:
            by_topic.setdefault(row.topic, []).append(
                (row.key, value if value is not None else row.value)
            )
        for topic, items in by_topic.items():
            await _publish(settings, topic, items)
        if rows:
            await conn.execute(
                """UPDATE dead_letters SET replayed_at = now(), replay_count = replay_count + 1
                   WHERE id = ANY($1)""",
                [r.id for r in rows],
            )
        return [await get_dead_letter(conn, r.id) for r in rows]
    finally:
        await conn.close()
