"""Hybrid search over the live catalog tables.

Three retrieval signals, each limited to `candidates` live masters (active, not merged) that pass
the category and brand filters:

- full text: the master's Spanish `search_tsv` (brand and model weighted above the name, accents
  removed) against the query's lexemes, any of them (`|`), rarest first within a budget of
  matched masters (`search_lexemes` counts them), ranked by `ts_rank`;
- typos: each query word the catalog does not know is replaced by its nearest catalog words
  (`pg_trgm` similarity over `search_vocabulary`, the words of the live masters' texts), and the
  corrected query is searched as full text: `samgsung galaxi` finds `samsung galaxy`;
- vectors: pgvector neighbours of the query's embedding among the listings' title embeddings
  (the L2 semantic cache's `ai_embeddings`, one per normalized title), mapped to their masters.

They are fused with reciprocal-rank fusion (score = sum of 1 / (k + rank)). The price range,
the facets, the sort and the page are then computed on the fused list, so facet counts always
add up to the total. Each master comes with its cheapest offer in stock and its offer count.

Everything reads the tables the persister writes (a trigger keeps the search columns and their
index in step with a master's text, migration 015), so merges and deactivations are visible to
the next query.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

import asyncpg
import numpy as np

from catalog import metrics
from catalog.cache.embeddings import EmbeddingProvider
from catalog.search.cache import QueryCache
from catalog.search.models import (
    UNAVAILABLE_STOCK,
    Facets,
    FacetValue,
    Hit,
    Offer,
    PricePoint,
    ProductPage,
    SearchPage,
    SearchRequest,
)
from catalog.settings import SearchSettings

# CLP price bands of the price facet: (value, label, low, high).
PRICE_BANDS: tuple[tuple[str, str, int, int | None], ...] = (
    ("0-9999", "Menos de $10.000", 0, 9_999),
    ("10000-49999", "$10.000 a $49.999", 10_000, 49_999),
    ("50000-199999", "$50.000 a $199.999", 50_000, 199_999),
    ("200000-999999", "$200.000 a $999.999", 200_000, 999_999),
    ("1000000-", "$1.000.000 o más", 1_000_000, None),
)

_LIVE = "p.active AND p.merged_into IS NULL"
VOCABULARY_LOOKBACK = timedelta(minutes=5)
PRICE_HISTORY_POINTS = 2000


def _filters(categories: str, brands: str) -> str:
    return (
        f"(cardinality({categories}::text[]) = 0 OR p.category_id = ANY({categories}::text[])) "
        f"AND (cardinality({brands}::text[]) = 0 OR p.brand = ANY({brands}::text[]))"
    )


_FILTERS = _filters("$3", "$4")
# The cheapest offer a shopper can buy now, and how many stores sell the master.
_OFFER_COLUMNS = """
    best.retailer AS best_retailer, best.price_current AS best_price,
    best.price_original AS best_price_original, best.currency AS best_currency,
    best.stock_status AS best_stock, best.url AS best_url, best.last_seen AS best_seen,
    (SELECT count(*) FROM precios_actuales pa2 WHERE pa2.product_id = p.id) AS offer_count"""


def _best_offer_join(unavailable: str) -> str:
    """`unavailable`: the parameter holding the stock states that are not for sale."""
    return f"""
    LEFT JOIN LATERAL (
        SELECT pa.retailer, pa.price_current, pa.price_original, pa.currency, pa.stock_status,
               pa.url, pa.last_seen
        FROM precios_actuales pa
        WHERE pa.product_id = p.id
          AND coalesce(pa.stock_status, 'unknown') <> ALL ({unavailable}::text[])
        ORDER BY pa.price_current, pa.retailer LIMIT 1) best ON TRUE
    LEFT JOIN categories c ON c.category_id = p.category_id"""


def _fused_sql(dim: int) -> str:
    """$1 full-text tsquery, $2 query vector, $3 categories, $4 brands, $5 candidates per
    signal, $6 embedding model, $7 max vector distance, $8 RRF k, $9 unavailable stock states,
    $10 typo-corrected tsquery."""
    vec = f"vector({dim})"
    return f"""
WITH fts AS (
    SELECT id, row_number() OVER (ORDER BY rank DESC, id) AS r FROM (
        SELECT p.id, ts_rank(p.search_tsv, $1::tsquery) AS rank FROM productos_maestros p
        WHERE {_LIVE} AND p.search_tsv @@ $1::tsquery AND {_FILTERS}
        ORDER BY rank DESC, p.id LIMIT $5) s),
trg AS (
    SELECT id, row_number() OVER (ORDER BY rank DESC, id) AS r FROM (
        SELECT p.id, ts_rank(p.search_tsv, $10::tsquery) AS rank FROM productos_maestros p
        WHERE {_LIVE} AND p.search_tsv @@ $10::tsquery AND {_FILTERS}
        ORDER BY rank DESC, p.id LIMIT $5) s),
sem AS (
    SELECT id, row_number() OVER (ORDER BY d, id) AS r FROM (
        SELECT l.product_id AS id, min(n.d) AS d FROM (
            SELECT e.fingerprint, e.embedding::{vec} <=> $2::{vec} AS d
            FROM ai_embeddings e
            WHERE $2::{vec} IS NOT NULL AND e.embedding_model = $6
              -- Under a category filter, neighbours in it (an iterative HNSW scan), not the
              -- catalog's nearest filtered down to nothing.
              AND (cardinality($3::text[]) = 0 OR e.category = ANY($3::text[]))
            ORDER BY e.embedding::{vec} <=> $2::{vec} LIMIT $5) n
        JOIN listings l ON l.input_fingerprint = n.fingerprint
        JOIN productos_maestros p ON p.id = l.product_id
        WHERE n.d <= $7 AND {_LIVE} AND {_FILTERS}
        GROUP BY l.product_id ORDER BY min(n.d) LIMIT $5) s),
fused AS (
    SELECT id, sum(1.0 / ($8 + r)) AS score, array_agg(src ORDER BY src) AS matched_by FROM (
        SELECT id, r, 'fts' AS src FROM fts
        UNION ALL SELECT id, r, 'trigram' FROM trg
        UNION ALL SELECT id, r, 'vector' FROM sem) u
    GROUP BY id)
SELECT p.fingerprint, p.normalized_name, p.brand, p.model, p.category_id,
       coalesce(c.name, p.category_id) AS category_name, f.score, f.matched_by, {_OFFER_COLUMNS}
FROM fused f JOIN productos_maestros p ON p.id = f.id {_best_offer_join("$9")}
ORDER BY f.score DESC, p.id"""


# Browsing without a query: the live masters that pass the filters, most recently changed first.
_BROWSE_SQL = f"""
SELECT p.fingerprint, p.normalized_name, p.brand, p.model, p.category_id,
       coalesce(c.name, p.category_id) AS category_name, 0.0::float8 AS score,
       ARRAY[]::text[] AS matched_by, {_OFFER_COLUMNS}
FROM (SELECT p.id FROM productos_maestros p
      WHERE {_LIVE} AND {_filters("$1", "$2")}
      ORDER BY p.updated_at DESC, p.id LIMIT $3) ids
JOIN productos_maestros p ON p.id = ids.id {_best_offer_join("$4")}
ORDER BY p.updated_at DESC, p.id"""


# The query's lexemes with how many live masters hold each, and for each query word the catalog
# does not know, its nearest catalog words' lexemes (trigram similarity over the vocabulary).
_PLAN_SQL = """
WITH words AS (
    SELECT DISTINCT w FROM regexp_split_to_table(lower(catalog_unaccent($1)), '[^[:alnum:]]+') w
    WHERE length(w) >= 3
      AND NOT EXISTS (SELECT 1 FROM search_vocabulary v WHERE v.word = w))
SELECT NULL::text AS word, l AS lexeme, coalesce(s.documents, 0) AS documents
FROM unnest(tsvector_to_array(to_tsvector('spanish', catalog_unaccent($1)))) AS l
LEFT JOIN search_lexemes s ON s.lexeme = l
UNION ALL
SELECT words.w, x.lexeme, coalesce(s.documents, 0)
FROM words CROSS JOIN LATERAL (
    SELECT v.word FROM search_vocabulary v WHERE v.word % words.w
    ORDER BY similarity(v.word, words.w) DESC, v.word LIMIT 3) c
CROSS JOIN LATERAL unnest(tsvector_to_array(to_tsvector('spanish', c.word))) AS x(lexeme)
LEFT JOIN search_lexemes s ON s.lexeme = x.lexeme"""


def _quote(lexeme: str) -> str:
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


@dataclass(frozen=True)
class QueryPlan:
    """The tsqueries a text query runs as: `full_text` ORs the query's rarest lexemes,
    `corrected` the nearest catalog words of the query words the catalog does not know, with
    the query's own rarest lexemes (see `plan_query`)."""

    full_text: str | None
    corrected: str | None


def plan_query(rows: Sequence[tuple[str | None, str, int]], budget: int) -> QueryPlan:
    """Rows are (word, lexeme, documents): word None for the query's own lexemes, else the
    unknown word a correction lexeme stands for.

    Full text keeps the query's lexemes rarest first while the masters they match add up to at
    most `budget` (always at least one): ranking every master that shares one common word with a
    long query (`1`, `l`, `negro`) costs more than it finds, and the rare words (model codes,
    brands, product names) are what identify a product."""
    own = sorted({(documents, lexeme) for word, lexeme, documents in rows if word is None})
    chosen: list[str] = []
    total = 0
    for documents, lexeme in own:
        if chosen and total + documents > budget:
            break
        chosen.append(lexeme)
        total += documents
    fixes = sorted({(documents, lexeme) for word, lexeme, documents in rows if word is not None})
    corrected: list[str] = []
    if fixes:
        # The corrections with the query's own lexemes, under the same budget; the rarest
        # correction always in.
        total = fixes[0][0]
        corrected = [fixes[0][1]]
        for documents, lexeme in sorted({*fixes[1:], *own}):
            if lexeme in corrected or total + documents > budget:
                continue
            corrected.append(lexeme)
            total += documents
    return QueryPlan(
        full_text=" | ".join(_quote(x) for x in chosen) or None,
        corrected=" | ".join(_quote(x) for x in sorted(corrected)) or None,
    )


def _offer(row: asyncpg.Record, prefix: str = "best_") -> Offer | None:
    # Rows come from our own tables: built without validation (hundreds per search).
    if row[f"{prefix}price"] is None:
        return None
    original = row[f"{prefix}price_original"]
    return Offer.model_construct(
        retailer=row[f"{prefix}retailer"],
        price=int(row[f"{prefix}price"]),
        price_original=int(original) if original is not None else None,
        currency=row[f"{prefix}currency"] or "CLP",
        stock_status=row[f"{prefix}stock"] or "unknown",
        url=row[f"{prefix}url"],
        last_seen=row[f"{prefix}seen"],
    )


def _hit(row: asyncpg.Record) -> Hit:
    return Hit.model_construct(
        id=row["fingerprint"],
        name=row["normalized_name"],
        brand=row["brand"],
        model=row["model"],
        category=row["category_id"],
        category_name=row["category_name"],
        offer_count=int(row["offer_count"]),
        best_offer=_offer(row),
        score=round(float(row["score"]), 6),
        matched_by=list(row["matched_by"] or []),
    )


def price_band(price: int) -> str:
    for value, _, low, high in PRICE_BANDS:
        if price >= low and (high is None or price <= high):
            return value
    return PRICE_BANDS[0][0]


def facets_of(hits: Sequence[Hit]) -> Facets:
    """Counts over exactly the hits given: each facet's counts add up to their number (the
    price facet counts the hits that have an offer in stock)."""
    categories: Counter[str] = Counter()
    labels: dict[str, str] = {}
    brands: Counter[str] = Counter()
    bands: Counter[str] = Counter()
    for hit in hits:
        categories[hit.category] += 1
        labels[hit.category] = hit.category_name
        brands[hit.brand] += 1
        if hit.best_offer is not None:
            bands[price_band(hit.best_offer.price)] += 1

    def ordered(counts: Counter[str], label: dict[str, str] | None = None) -> list[FacetValue]:
        return [
            FacetValue(value=v, label=(label or {}).get(v, v), count=n)
            for v, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        ]

    band_labels = {value: label for value, label, _, _ in PRICE_BANDS}
    return Facets(
        category=ordered(categories, labels),
        brand=ordered(brands),
        price=[
            FacetValue(value=v, label=band_labels[v], count=bands[v])
            for v, _, _, _ in PRICE_BANDS
            if bands[v]
        ],
    )


def in_price_range(hit: Hit, low: int | None, high: int | None) -> bool:
    if low is None and high is None:
        return True
    if hit.best_offer is None:
        return False
    price = hit.best_offer.price
    return (low is None or price >= low) and (high is None or price <= high)


def clean_query(text: str, max_chars: int) -> str:
    return " ".join(text.split())[:max_chars]


class CatalogSearch:
    def __init__(
        self,
        pool: asyncpg.Pool,
        embedder: EmbeddingProvider,
        settings: SearchSettings,
        cache: QueryCache | None = None,
    ) -> None:
        self.pool = pool
        self.embedder = embedder
        self.settings = settings
        self.cache = cache
        self._fused_sql = _fused_sql(embedder.dim)

    # -- helpers ------------------------------------------------------------------------------

    async def _configure(self, conn: asyncpg.Connection) -> None:
        """Per-transaction limits: a runaway query is cancelled, typo matching at our trigram
        threshold, filtered HNSW scans keep looking until they have enough rows."""
        await conn.execute(
            """SELECT set_config('statement_timeout', $1, true),
                      set_config('pg_trgm.similarity_threshold', $2, true),
                      set_config('hnsw.iterative_scan', 'relaxed_order', true),
                      set_config('hnsw.ef_search', '100', true)""",
            str(self.settings.statement_timeout_ms),
            str(self.settings.trigram_threshold),
        )

    def clamp(self, request: SearchRequest) -> SearchRequest:
        s = self.settings
        return request.model_copy(
            update={
                "q": clean_query(request.q, s.max_query_chars),
                "page": max(1, request.page),
                "page_size": min(max(1, request.page_size), s.max_page_size),
            }
        )

    async def _embed(self, text: str) -> np.ndarray:
        return (await self.embedder.embed([text]))[0]

    # -- typo vocabulary ----------------------------------------------------------------------

    async def refresh_vocabulary(self, since: datetime | None = None) -> datetime | None:
        """Add the words of the live masters changed since `since` (all when None) to
        `search_vocabulary`; returns the new watermark. Words are inserted in order, so two
        search processes refreshing at once never deadlock."""
        async with self.pool.acquire() as conn, conn.transaction():
            await self._configure(conn)
            await conn.execute("SET LOCAL statement_timeout = 0")
            watermark = await conn.fetchval(
                """WITH changed AS (
                       SELECT p.search_text, p.updated_at FROM productos_maestros p
                       WHERE p.active AND p.merged_into IS NULL
                         AND ($1::timestamptz IS NULL OR p.updated_at >= $1)),
                   added AS (
                       INSERT INTO search_vocabulary (word)
                       SELECT DISTINCT w FROM changed,
                           regexp_split_to_table(changed.search_text, '[^[:alnum:]]+') AS w
                       WHERE length(w) >= 3 ORDER BY w
                       ON CONFLICT DO NOTHING)
                   SELECT max(updated_at) FROM changed""",
                since,
            )
            if since is None:
                # A first pass fills the table: plan the trigram lookups with fresh statistics.
                await conn.execute("ANALYZE search_vocabulary")
        if watermark is None:
            return since
        # Writers commit out of timestamp order: look back a little on the next pass.
        return cast(datetime, watermark) - VOCABULARY_LOOKBACK

    async def refresh_lexemes(self) -> int:
        """Recount the live masters holding each lexeme; returns the number of lexemes."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("SET LOCAL statement_timeout = 0")
            await conn.execute(
                """CREATE TEMP TABLE lexeme_counts ON COMMIT DROP AS
                   SELECT word, ndoc FROM ts_stat(
                       'SELECT search_tsv FROM productos_maestros
                        WHERE active AND merged_into IS NULL')"""
            )
            await conn.execute(
                """INSERT INTO search_lexemes (lexeme, documents)
                   SELECT word, ndoc FROM lexeme_counts ORDER BY word
                   ON CONFLICT (lexeme) DO UPDATE SET documents = EXCLUDED.documents
                   WHERE search_lexemes.documents <> EXCLUDED.documents"""
            )
            # Lexemes no live master holds any more.
            await conn.execute(
                """UPDATE search_lexemes s SET documents = 0 WHERE documents > 0
                   AND NOT EXISTS (SELECT 1 FROM lexeme_counts c WHERE c.word = s.lexeme)"""
            )
            await conn.execute("ANALYZE search_lexemes")
            return int(await conn.fetchval("SELECT count(*) FROM search_lexemes"))

    # -- search -------------------------------------------------------------------------------

    async def search(self, request: SearchRequest) -> SearchPage:
        started = time.perf_counter()
        request = self.clamp(request)
        page: SearchPage | None = None
        if self.cache is not None:
            page = await self.cache.get(request)
        if page is None:
            page = await self._search(request)
            if self.cache is not None:
                await self.cache.put(request, page)
        metrics.SEARCH_SECONDS.labels("search").observe(time.perf_counter() - started)
        metrics.SEARCH_REQUESTS.labels("search", "results" if page.total else "empty").inc()
        return page

    async def candidates(self, request: SearchRequest) -> list[Hit]:
        """Every fused match of the query under the category and brand filters, best first."""
        s = self.settings
        browse = not request.q
        vector = None if browse else await self._embed(request.q)
        async with self.pool.acquire() as conn, conn.transaction():
            await self._configure(conn)
            if browse:
                rows = await conn.fetch(
                    _BROWSE_SQL,
                    request.categories,
                    request.brands,
                    s.candidates,
                    list(UNAVAILABLE_STOCK),
                )
                return [_hit(r) for r in rows]
            plan = plan_query(
                [tuple(r) for r in await conn.fetch(_PLAN_SQL, request.q)], s.full_text_budget
            )
            rows = await conn.fetch(
                self._fused_sql,
                plan.full_text,
                vector,
                request.categories,
                request.brands,
                s.candidates,
                self.embedder.model,
                s.max_vector_distance,
                s.rrf_k,
                list(UNAVAILABLE_STOCK),
                plan.corrected,
            )
        return [_hit(r) for r in rows]

    async def _search(self, request: SearchRequest) -> SearchPage:
        hits = [
            h
            for h in await self.candidates(request)
            if in_price_range(h, request.price_min, request.price_max)
        ]
        if request.sort == "price_asc":
            # Stable: equal prices keep their relevance order; masters with no offer in stock last.
            hits.sort(
                key=lambda h: (h.best_offer is None, h.best_offer.price if h.best_offer else 0)
            )
        start = (request.page - 1) * request.page_size
        return SearchPage(
            query=request.q,
            total=len(hits),
            page=request.page,
            page_size=request.page_size,
            sort=request.sort,
            results=hits[start : start + request.page_size],
            facets=facets_of(hits),
        )

    # -- product pages ------------------------------------------------------------------------

    async def _resolve(self, conn: asyncpg.Connection, product_id: str) -> asyncpg.Record | None:
        """The live master behind an id, following merges (a merged master's page is the page
        of the master that absorbed it)."""
        seen: set[str] = set()
        current = product_id
        while current not in seen:
            seen.add(current)
            row = await conn.fetchrow(
                """SELECT p.id, p.fingerprint, p.normalized_name, p.brand, p.model, p.category_id,
                          coalesce(c.name, p.category_id) AS category_name, p.attributes, p.gtin,
                          p.active, p.merged_into
                   FROM productos_maestros p LEFT JOIN categories c USING (category_id)
                   WHERE p.fingerprint = $1""",
                current,
            )
            if row is None:
                return None
            if row["merged_into"] is None:
                return row if row["active"] else None
            current = row["merged_into"]
        return None

    async def product(self, product_id: str) -> ProductPage | None:
        started = time.perf_counter()
        async with self.pool.acquire() as conn, conn.transaction():
            await self._configure(conn)
            master = await self._resolve(conn, product_id)
            if master is None:
                metrics.SEARCH_REQUESTS.labels("product", "empty").inc()
                return None
            offers = await conn.fetch(
                """SELECT retailer, price_current, price_original, currency, stock_status, url,
                          last_seen
                   FROM precios_actuales WHERE product_id = $1
                   ORDER BY price_current, retailer""",
                master["id"],
            )
            # The latest observations (a chart has no use for more), oldest first.
            history = await conn.fetch(
                """SELECT retailer, price, observed_at FROM (
                       SELECT id, retailer, price, observed_at FROM price_history
                       WHERE product_id = $1 ORDER BY observed_at DESC, id DESC LIMIT $2) h
                   ORDER BY observed_at, id""",
                master["id"],
                PRICE_HISTORY_POINTS,
            )
        page = ProductPage(
            id=master["fingerprint"],
            name=master["normalized_name"],
            brand=master["brand"],
            model=master["model"],
            category=master["category_id"],
            category_name=master["category_name"],
            attributes=dict(master["attributes"] or {}),
            gtin=master["gtin"],
            offers=[
                Offer(
                    retailer=o["retailer"],
                    price=int(o["price_current"]),
                    price_original=(
                        int(o["price_original"]) if o["price_original"] is not None else None
                    ),
                    currency=o["currency"] or "CLP",
                    stock_status=o["stock_status"] or "unknown",
                    url=o["url"],
                    last_seen=o["last_seen"],
                )
                for o in offers
            ],
            price_history=[
                PricePoint(
                    retailer=h["retailer"], price=int(h["price"]), observed_at=h["observed_at"]
                )
                for h in history
            ],
            merged_from=product_id if master["fingerprint"] != product_id else None,
        )
        metrics.SEARCH_SECONDS.labels("product").observe(time.perf_counter() - started)
        metrics.SEARCH_REQUESTS.labels("product", "results").inc()
        return page

    # -- similar products ---------------------------------------------------------------------

    async def _master_vector(self, conn: asyncpg.Connection, master: asyncpg.Record) -> np.ndarray:
        """The mean of the master's listing title embeddings; its name's embedding when none of
        its listings has one."""
        dim = self.embedder.dim
        rows = await conn.fetch(
            f"""SELECT e.embedding::vector({dim}) AS v FROM listings l
                JOIN ai_embeddings e
                  ON e.fingerprint = l.input_fingerprint AND e.embedding_model = $2
                WHERE l.product_id = $1""",
            master["id"],
            self.embedder.model,
        )
        if rows:
            mean = np.mean([np.asarray(r["v"], dtype=np.float32) for r in rows], axis=0)
            norm = float(np.linalg.norm(mean))
            return mean / norm if norm else mean
        text = f"{master['brand']} {master['normalized_name']}"
        return await self._embed(text)

    async def similar(self, product_id: str, k: int) -> list[Hit] | None:
        """Masters of the same category closest by content: vector neighbours of the master's
        listings fused (RRF) with trigram neighbours of its text. Never the master itself."""
        started = time.perf_counter()
        k = min(max(1, k), self.settings.max_top_k)
        dim = self.embedder.dim
        vec = f"vector({dim})"
        async with self.pool.acquire() as conn, conn.transaction():
            await self._configure(conn)
            master = await self._resolve(conn, product_id)
            if master is None:
                return None
            vector = await self._master_vector(conn, master)
            text = await conn.fetchval(
                "SELECT search_text FROM productos_maestros WHERE id = $1", master["id"]
            )
            rows = await conn.fetch(
                f"""
WITH sem AS (
    SELECT id, row_number() OVER (ORDER BY d, id) AS r FROM (
        SELECT l.product_id AS id, min(n.d) AS d FROM (
            SELECT e.fingerprint, e.embedding::{vec} <=> $2::{vec} AS d FROM ai_embeddings e
            WHERE e.embedding_model = $3 AND e.category = $4
            ORDER BY e.embedding::{vec} <=> $2::{vec} LIMIT $5) n
        JOIN listings l ON l.input_fingerprint = n.fingerprint
        JOIN productos_maestros p ON p.id = l.product_id
        WHERE {_LIVE} AND p.category_id = $4 AND p.id <> $1
        GROUP BY l.product_id ORDER BY min(n.d) LIMIT $5) s),
trg AS (
    SELECT id, row_number() OVER (ORDER BY sim DESC, id) AS r FROM (
        SELECT p.id, similarity(p.search_text, $6) AS sim FROM productos_maestros p
        WHERE {_LIVE} AND p.category_id = $4 AND p.id <> $1 AND p.search_text % $6
        ORDER BY sim DESC, p.id LIMIT $5) s),
fused AS (
    SELECT id, sum(1.0 / ($7 + r)) AS score,
           array_agg(src ORDER BY src) AS matched_by FROM (
        SELECT id, r, 'vector' AS src FROM sem UNION ALL SELECT id, r, 'trigram' FROM trg) u
    GROUP BY id ORDER BY score DESC, id LIMIT $8)
SELECT p.fingerprint, p.normalized_name, p.brand, p.model, p.category_id,
       coalesce(c.name, p.category_id) AS category_name, f.score, f.matched_by,
       {_OFFER_COLUMNS}
FROM fused f JOIN productos_maestros p ON p.id = f.id {_best_offer_join("$9")}
ORDER BY f.score DESC, p.id""",
                master["id"],
                vector,
                self.embedder.model,
                master["category_id"],
                max(4 * k, 50),
                text,
                self.settings.rrf_k,
                k,
                list(UNAVAILABLE_STOCK),
            )
        hits = [_hit(r) for r in rows]
        metrics.SEARCH_SECONDS.labels("similar").observe(time.perf_counter() - started)
        metrics.SEARCH_REQUESTS.labels("similar", "results" if hits else "empty").inc()
        return hits

    async def content_scores(self, product_ids: Sequence[str], k: int) -> dict[str, float]:
        """Content similarity to a set of masters (a user's history or one product): the
        fused similar-product scores, summed over the seeds."""
        scores: dict[str, float] = defaultdict(float)
        for product_id in list(dict.fromkeys(product_ids))[:10]:
            for hit in await self.similar(product_id, k) or []:
                scores[hit.id] += hit.score
        return dict(scores)

    async def summaries(self, product_ids: Sequence[str]) -> dict[str, Hit]:
        """Live masters by public id, with their cheapest offer (for recommendation lists)."""
        if not product_ids:
            return {}
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(
                f"""SELECT p.fingerprint, p.normalized_name, p.brand, p.model, p.category_id,
                           coalesce(c.name, p.category_id) AS category_name, 0.0::float8 AS score,
                           ARRAY[]::text[] AS matched_by, {_OFFER_COLUMNS}
                    FROM productos_maestros p {_best_offer_join("$2")}
                    WHERE p.fingerprint = ANY($1::text[]) AND {_LIVE}""",
                list(product_ids),
                list(UNAVAILABLE_STOCK),
            )
        return {r["fingerprint"]: _hit(r) for r in rows}
