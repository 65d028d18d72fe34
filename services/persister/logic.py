"""Writing validated listings to the plan's tables, idempotently.

Redelivery of the same message changes nothing: products are upserted by fingerprint and only
updated when the answer differs and is at least as confident; timestamps come from the message
(`scraped_at`, else `validated_at`), not from the clock; a price-history row is written only when
the price differs from the last one seen for the listing. When a listing's normalization changes,
its offer moves to the new master product and the old product is re-summarised (and deactivated
when it has no offers left), so no offer is orphaned.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from catalog import metrics
from catalog.cache.embeddings import EmbeddingProvider
from catalog.cache.l1 import L1Cache
from catalog.cache.l2 import SemanticCache
from catalog.domain.taxonomy import Taxonomy
from catalog.kafka.topics import CATALOG_OFFERS, CATALOG_PRODUCTS
from catalog.products import to_entry
from catalog.service import Incoming, Outgoing, Result
from schemas.models import (
    CatalogOffer,
    CatalogProduct,
    DeadLetter,
    ReviewItem,
    ValidatedProduct,
)

CACHEABLE_SOURCES = ("rules", "llm")


@dataclass(frozen=True)
class Written:
    product_id: int
    offer: CatalogOffer


def _seen_at(product: ValidatedProduct) -> datetime:
    return product.listing.scraped_at or product.validated_at


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
    ) -> None:
        self.pool = pool
        self.taxonomy = taxonomy
        self.l1 = l1
        self.semantic = semantic
        self.embedder = embedder
        self.namespace = namespace
        self.default_ttl_s = default_ttl_s

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
            ids = await self._upsert_products(conn, products) if products else {}
            written, touched, moved_from = await self._write_offers(conn, products, ids, previous)
            if moved_from:
                await self._restore_offers(conn, moved_from)
            await self._write_cache(conn, cacheable)
            if self.semantic is not None and vectors:
                await self.semantic.store(
                    conn,
                    [
                        (p.input_fingerprint, p.category, v)
                        for p, v in zip(cacheable, vectors, strict=True)
                    ],
                )
            states = await self._product_states(conn, touched) if touched else []
        if self.l1 is not None:
            await self.l1.set_many(
                [(p.input_fingerprint, to_entry(p), self._ttl(p.category)) for p in cacheable]
            )
        out: list[Outgoing] = [Outgoing(CATALOG_PRODUCTS, s.product_fingerprint, s) for s in states]
        out.extend(Outgoing(CATALOG_OFFERS, w.offer.product_fingerprint, w.offer) for w in written)
        # Every output goes with the first message of the batch; the rest carry none. Offsets of
        # the whole batch are committed together after the producer flush, so this is safe.
        results: list[Result] = [[] for _ in batch]
        results[0] = out
        return results

    @staticmethod
    async def _previous(conn: asyncpg.Connection, keys: list[str]) -> dict[str, asyncpg.Record]:
        """The current row of each listing, locked until the transaction ends."""
        rows = await conn.fetch(
            "SELECT listing_key, product_id, price, price_original, last_seen FROM listings "
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

    async def _upsert_products(
        self, conn: asyncpg.Connection, products: Sequence[ValidatedProduct]
    ) -> dict[str, int]:
        best: dict[str, ValidatedProduct] = {}
        for p in products:
            seen = best.get(p.product_fingerprint)
            if seen is None or p.confidence >= seen.confidence:
                best[p.product_fingerprint] = p
        rows = await conn.fetch(
            """INSERT INTO productos_maestros AS pm (fingerprint, brand, model, normalized_name,
                   category_id, attributes, ai_confidence, ai_enhanced, processing_version)
               SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                                    $6::jsonb[], $7::numeric[], $8::bool[], $9::text[])
               ON CONFLICT (fingerprint) DO UPDATE SET
                   brand = EXCLUDED.brand, model = EXCLUDED.model,
                   normalized_name = EXCLUDED.normalized_name, category_id = EXCLUDED.category_id,
                   attributes = EXCLUDED.attributes, ai_confidence = EXCLUDED.ai_confidence,
                   ai_enhanced = EXCLUDED.ai_enhanced, active = TRUE, updated_at = now()
               WHERE EXCLUDED.ai_confidence >= pm.ai_confidence
                 AND (pm.brand, pm.model, pm.normalized_name, pm.attributes, pm.ai_confidence,
                      pm.active)
                     IS DISTINCT FROM (EXCLUDED.brand, EXCLUDED.model, EXCLUDED.normalized_name,
                      EXCLUDED.attributes, EXCLUDED.ai_confidence, TRUE)
               RETURNING (xmax = 0) AS inserted""",
            list(best),
            [p.brand for p in best.values()],
            [p.model[:200] for p in best.values()],
            [p.normalized_name[:500] for p in best.values()],
            [p.category for p in best.values()],
            [p.attributes for p in best.values()],
            [round(p.confidence, 2) for p in best.values()],
            [p.source != "rules" for p in best.values()],
            [p.prompt_version[:20] for p in best.values()],
        )
        for row in rows:
            metrics.PERSISTED.labels(
                "product_created" if row["inserted"] else "product_updated"
            ).inc()
        id_rows = await conn.fetch(
            "SELECT id, fingerprint FROM productos_maestros WHERE fingerprint = ANY($1)", list(best)
        )
        return {r["fingerprint"]: r["id"] for r in id_rows}

    async def _write_offers(
        self,
        conn: asyncpg.Connection,
        products: Sequence[ValidatedProduct],
        ids: dict[str, int],
        previous: dict[str, asyncpg.Record],
    ) -> tuple[list[Written], set[int], set[int]]:
        written: list[Written] = []
        touched: set[int] = set()
        moved_from: set[int] = set()
        for p in products:
            listing = p.listing
            key = listing.listing_key
            product_id = ids[p.product_fingerprint]
            seen_at = _seen_at(p)
            before = previous.get(key)
            touched.add(product_id)
            if before is not None and before["product_id"] != product_id:
                await conn.execute(
                    "DELETE FROM precios_actuales WHERE product_id = $1 AND listing_key = $2",
                    before["product_id"],
                    key,
                )
                touched.add(before["product_id"])
                moved_from.add(before["product_id"])
                metrics.PERSISTED.labels("offer_moved").inc()
            price_changed = (
                before is None
                or before["price"] != listing.price
                or before["price_original"] != listing.price_original
            )
            await conn.execute(
                """INSERT INTO listings (listing_key, retailer, sku, product_id, input_fingerprint,
                       title, price, price_original, source, first_seen, last_seen)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)
                   ON CONFLICT (listing_key) DO UPDATE SET product_id = EXCLUDED.product_id,
                       input_fingerprint = EXCLUDED.input_fingerprint, title = EXCLUDED.title,
                       price = EXCLUDED.price, price_original = EXCLUDED.price_original,
                       source = EXCLUDED.source, persisted_at = now(),
                       last_seen = greatest(listings.last_seen, EXCLUDED.last_seen)""",
                key,
                listing.retailer,
                listing.sku,
                product_id,
                p.input_fingerprint,
                listing.name,
                listing.price,
                listing.price_original,
                p.source,
                seen_at,
            )
            if price_changed:
                await conn.execute(
                    """INSERT INTO price_history (listing_key, product_id, retailer, price,
                           price_original, observed_at) VALUES ($1, $2, $3, $4, $5, $6)""",
                    key,
                    product_id,
                    listing.retailer,
                    listing.price,
                    listing.price_original,
                    seen_at,
                )
                metrics.PERSISTED.labels("price_change").inc()
            await conn.execute(
                """INSERT INTO precios_actuales (product_id, retailer, sku, listing_key,
                       price_current, price_original, currency, stock_status, url, last_seen)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                   ON CONFLICT (product_id, retailer) DO UPDATE SET sku = EXCLUDED.sku,
                       listing_key = EXCLUDED.listing_key,
                       price_current = EXCLUDED.price_current,
                       price_original = EXCLUDED.price_original, currency = EXCLUDED.currency,
                       stock_status = EXCLUDED.stock_status, url = EXCLUDED.url,
                       last_seen = greatest(precios_actuales.last_seen, EXCLUDED.last_seen)""",
                product_id,
                listing.retailer,
                listing.sku,
                key,
                listing.price,
                listing.price_original,
                listing.currency,
                listing.stock_status,
                listing.url,
                seen_at,
            )
            metrics.PERSISTED.labels("offer").inc()
            written.append(
                Written(
                    product_id,
                    CatalogOffer(
                        product_fingerprint=p.product_fingerprint,
                        listing_key=key,
                        retailer=listing.retailer,
                        sku=listing.sku,
                        price=listing.price,
                        price_original=listing.price_original,
                        currency=listing.currency,
                        stock_status=listing.stock_status,
                        url=listing.url,
                        price_changed=price_changed,
                        last_seen=seen_at,
                    ),
                )
            )
        return written, touched, moved_from

    @staticmethod
    async def _restore_offers(conn: asyncpg.Connection, product_ids: set[int]) -> None:
        """After offers moved away, a product keeps one offer per retailer that still has a
        listing on it (two SKUs of one store can share a product and its offer row)."""
        await conn.execute(
            """INSERT INTO precios_actuales (product_id, retailer, sku, listing_key,
                   price_current, price_original, last_seen)
               SELECT DISTINCT ON (l.retailer) l.product_id, l.retailer, l.sku, l.listing_key,
                      l.price, l.price_original, l.last_seen
               FROM listings l WHERE l.product_id = ANY($1)
               ORDER BY l.retailer, l.last_seen DESC, l.listing_key
               ON CONFLICT (product_id, retailer) DO NOTHING""",
            list(product_ids),
        )

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
                    json.loads(p.listing.model_dump_json()),
                    json.loads(to_entry(p).model_dump_json()),
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

    async def _product_states(
        self, conn: asyncpg.Connection, product_ids: set[int]
    ) -> list[CatalogProduct]:
        ids = sorted(product_ids)
        # A product is active while it has offers: one left without any is deactivated (not
        # deleted: its price history and cache entries still point to it), one that gains an
        # offer again is reactivated.
        await conn.execute(
            """UPDATE productos_maestros p SET active = want.active, updated_at = now()
               FROM (SELECT p2.id, EXISTS (SELECT 1 FROM precios_actuales pa
                                           WHERE pa.product_id = p2.id) AS active
                     FROM productos_maestros p2 WHERE p2.id = ANY($1)) AS want
               WHERE p.id = want.id AND p.active IS DISTINCT FROM want.active""",
            ids,
        )
        rows = await conn.fetch(
            """SELECT p.id, p.fingerprint, p.brand, p.model, p.normalized_name, p.category_id,
                      p.attributes, p.ai_confidence, p.updated_at,
                      count(pa.id) AS offers, min(pa.price_current) AS min_price,
                      max(pa.price_current) AS max_price
               FROM productos_maestros p LEFT JOIN precios_actuales pa ON pa.product_id = p.id
               WHERE p.id = ANY($1) GROUP BY p.id ORDER BY p.id""",
            ids,
        )
        return [
            CatalogProduct(
                product_fingerprint=r["fingerprint"],
                brand=r["brand"],
                model=r["model"],
                normalized_name=r["normalized_name"],
                category=r["category_id"],
                attributes=r["attributes"],
                confidence=float(r["ai_confidence"] or 0),
                offer_count=r["offers"],
                min_price=int(r["min_price"]) if r["min_price"] is not None else None,
                max_price=int(r["max_price"]) if r["max_price"] is not None else None,
                updated_at=r["updated_at"],
            )
            for r in rows
        ]

    async def handle_review(self, batch: Sequence[Incoming[ReviewItem]]) -> list[Result]:
        await self.pool.executemany(
            """INSERT INTO review_items (listing_key, input_fingerprint, listing, reasons,
                   best_answer, attempts, status, queued_at)
               VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7)
               ON CONFLICT (listing_key) DO UPDATE SET
                   input_fingerprint = EXCLUDED.input_fingerprint,
                   listing = EXCLUDED.listing, reasons = EXCLUDED.reasons,
                   best_answer = EXCLUDED.best_answer, attempts = EXCLUDED.attempts,
                   status = 'pending', queued_at = EXCLUDED.queued_at, resolved_at = NULL
               WHERE review_items.queued_at <> EXCLUDED.queued_at""",
            [
                (
                    r.value.listing.listing_key,
                    r.value.input_fingerprint,
                    json.loads(r.value.listing.model_dump_json()),
                    r.value.reasons,
                    json.loads(r.value.best_answer.model_dump_json())
                    if r.value.best_answer
                    else None,
                    r.value.attempts,
                    r.value.queued_at,
                )
                for r in batch
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
