"""Batched identity resolution in the persister: a batch resolved together ends exactly as the
same listings resolved one by one in order.

Two fresh databases get the same catalog; then one persister writes a feed as ONE batch and the
other writes it one listing per batch. The feed has what makes the order matter: two listings
of a new product in one batch (three stores selling one title, two titles of one notebook),
siblings that must not merge (256 GB / 512 GB), two skus sharing a GTIN, listings of masters
the catalog already holds, and title embeddings (the pgvector neighbours). Every listing must
end on the same master with the same outcome and score, and every master with the same facts.
The prefetch's answers are also compared with `PostgresCatalog`'s, listing by listing.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import asyncpg
import pytest

from catalog import metrics
from catalog.cache.l2 import SemanticCache
from catalog.cache.stores import make_embedder
from catalog.db.pool import _init_connection
from catalog.db.statistics import analyze_stale
from catalog.devstack.stack import Stack
from catalog.domain.taxonomy import load_taxonomy
from catalog.identity.batch import BatchListing, Round, _similar, _trigrams, prefetch
from catalog.identity.catalog_pg import PostgresCatalog, VectorIndex, master_seed
from catalog.identity.facts import facts_from_product
from catalog.identity.resolver import load_resolver, matcher_judge, new_master_id
from catalog.service import Incoming
from catalog.settings import get_settings
from persister.logic import CatalogWriter
from schemas.models import ValidatedProduct
from tests.integration.catalog_support import T0, validated_product
from tests.integration.harness import create_database, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

# Checksum-valid EAN-13s.
EAN_MILK = "7802920000008"
EAN_TV = "8806094000009"


def validated(
    retailer: str, name: str, price: int, *, minutes: int = 0, **fields: Any
) -> ValidatedProduct:
    """A listing seen `minutes` after T0 (`validated_product`'s other fields as given)."""
    return validated_product(retailer, name, price, seen=T0 + timedelta(minutes=minutes), **fields)


def catalog_feed() -> list[ValidatedProduct]:
    """What the catalog holds before the batch."""
    lenovo: dict[str, Any] = {"brand": "LENOVO", "category": "notebooks"}
    s24: dict[str, Any] = {
        "brand": "SAMSUNG",
        "model": "Galaxy S24 Ultra",
        "category": "smartphones",
    }
    return [
        validated(
            "falabella",
            "Notebook Lenovo IdeaPad 3 15IAU7 Core i5 8GB 512GB SSD 82RK00XYCL",
            549_990,
            model="IdeaPad 3 15IAU7",
            attributes={"ram_gb": 8, "storage_gb": 512},
            **lenovo,
        ),
        validated(
            "lider",
            "Samsung Galaxy S24 Ultra 256GB Titanium Gray",
            1_099_990,
            attributes={"storage_gb": 256},
            **s24,
        ),
        validated(
            "lider",
            "Leche Entera Colun 1 L",
            1_190,
            brand="COLUN",
            model="",
            category="leche",
            ean=EAN_MILK,
        ),
        validated(
            "falabella",
            "Audífonos Bose QuietComfort 45 Bluetooth Negro",
            299_990,
            brand="BOSE",
            model="QuietComfort 45",
            category="headphones",
        ),
    ]


def batch_feed() -> list[ValidatedProduct]:
    """One batch whose order matters."""
    asus: dict[str, Any] = {
        "brand": "ASUS",
        "category": "notebooks",
        "attributes": {"ram_gb": 8, "storage_gb": 512},
    }
    apple: dict[str, Any] = {
        "brand": "APPLE",
        "category": "notebooks",
        "attributes": {"ram_gb": 8, "storage_gb": 256},
    }
    s24: dict[str, Any] = {
        "brand": "SAMSUNG",
        "model": "Galaxy S24 Ultra",
        "category": "smartphones",
    }
    lg: dict[str, Any] = {"brand": "LG", "model": "55UR8750PSA", "category": "smart_tv"}
    iphone = "Apple iPhone 15 Pro 256GB Titanio Natural"
    iphone_common: dict[str, Any] = {
        "brand": "APPLE",
        "model": "iPhone 15 Pro",
        "category": "smartphones",
        "attributes": {"storage_gb": 256},
    }
    return [
        # Two titles of one new notebook, then a third store with the first title.
        validated(
            "falabella",
            "Notebook ASUS Vivobook 15 X1504ZA-NJ1024W Core i3 8GB 512GB",
            449_990,
            model="Vivobook 15 X1504ZA",
            **asus,
        ),
        validated(
            "paris",
            "ASUS X1504ZA-NJ1024W Vivobook 15 i3-1215U 8GB 512GB SSD",
            439_990,
            model="Vivobook 15",
            **asus,
        ),
        # A listing of a master the catalog holds.
        validated(
            "paris",
            "Lenovo IdeaPad 3 82RK00XYCL i5-1235U 8GB RAM 512GB",
            529_990,
            brand="LENOVO",
            model="IdeaPad 3",
            category="notebooks",
            attributes={"ram_gb": 8, "storage_gb": 512, "processor": "Intel Core i5-1235U"},
        ),
        # The sibling of a held master: never the same product.
        validated(
            "hites",
            "Samsung Galaxy S24 Ultra 512GB Titanium Gray",
            1_299_990,
            attributes={"storage_gb": 512},
            **s24,
        ),
        # One new title at three stores.
        validated("falabella", iphone, 1_199_990, **iphone_common),
        validated("ripley", iphone, 1_189_990, minutes=1, **iphone_common),
        # Another store's 256 GB sibling, with its 128 GB sibling in between.
        validated(
            "paris",
            "Apple iPhone 15 Pro 128GB Titanio Natural",
            1_049_990,
            brand="APPLE",
            model="iPhone 15 Pro",
            category="smartphones",
            attributes={"storage_gb": 128},
        ),
        validated("lider", iphone, 1_179_990, minutes=2, **iphone_common),
        # A sku sharing the held milk's GTIN under another title, and two skus of a new TV
        # sharing one GTIN.
        validated(
            "jumbo",
            "LECHE COLUN ENTERA CAJA 1LT",
            1_290,
            brand="COLUN",
            model="",
            category="leche",
            ean=EAN_MILK,
        ),
        validated(
            "ripley", 'Smart TV LG 55" 4K UHD 55UR8750PSA ThinQ AI', 399_990, ean=EAN_TV, **lg
        ),
        validated("paris", "LG 55UR8750PSA Televisor 55 pulgadas UHD", 389_990, ean=EAN_TV, **lg),
        # Two titles of another new notebook, apart in the batch.
        validated(
            "falabella",
            "Apple MacBook Air 13 M2 8GB 256GB MLY33LL/A",
            999_990,
            model="MacBook Air 13 M2",
            **apple,
        ),
        validated(
            "lider",
            "Notebook ASUS Vivobook 15 X1504ZA-NJ1024W Core i3 8GB 512GB",
            459_990,
            minutes=3,
            model="Vivobook 15 X1504ZA",
            **asus,
        ),
        validated(
            "ripley",
            "MacBook Air M2 13.6 MLY33LL/A 8GB 256GB Midnight",
            979_990,
            model="MacBook Air M2",
            **apple,
        ),
        # Found through its title embedding too.
        validated(
            "paris",
            "Audifonos Bluetooth Bose QuietComfort 45 Negros",
            289_990,
            brand="BOSE",
            model="QuietComfort 45",
            category="headphones",
        ),
    ]


@dataclass
class Catalog:
    """One database and a persister writing to it (title embeddings on)."""

    pool: asyncpg.Pool
    writer: CatalogWriter
    index: VectorIndex

    async def write(self, products: Sequence[ValidatedProduct]) -> None:
        await self.writer.handle_validated(
            [
                Incoming(p, p.listing.listing_key.encode(), {}, "validated", 0, n)
                for n, p in enumerate(products)
            ]
        )

    async def placements(self, keys: list[str]) -> dict[str, tuple[str, str, float | None]]:
        rows = await self.pool.fetch(
            """SELECT l.listing_key, p.fingerprint, l.resolution, l.match_score FROM listings l
               JOIN productos_maestros p ON p.id = l.product_id WHERE l.listing_key = ANY($1)""",
            keys,
        )
        return {
            r["listing_key"]: (r["fingerprint"], r["resolution"], r["match_score"]) for r in rows
        }

    async def masters(self) -> list[dict[str, Any]]:
        rows = await self.pool.fetch(
            """SELECT p.fingerprint, p.match_title, p.gtin, p.model_codes, p.match_brand,
                      p.category_id, p.attributes, p.active,
                      array_agg(l.listing_key ORDER BY l.listing_key) AS listings
               FROM productos_maestros p LEFT JOIN listings l ON l.product_id = p.id
               GROUP BY p.id ORDER BY p.fingerprint"""
        )
        return [dict(r) for r in rows]


@pytest.fixture(scope="module")
async def catalogs(stack: Stack) -> AsyncIterator[tuple[Catalog, Catalog]]:
    embedder = make_embedder(get_settings())
    resolver = load_resolver()
    out: list[Catalog] = []
    try:
        for _ in range(2):
            dsn = await create_database(stack, f"batchres_{uuid.uuid4().hex[:8]}")
            pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2, init=_init_connection)
            assert pool is not None
            semantic = SemanticCache(pool, embedder.model, embedder.dim)
            await semantic.ensure_index()
            writer = CatalogWriter(
                pool,
                load_taxonomy(),
                None,
                semantic,
                embedder,
                "test",
                3600,
                resolver,
                matcher_judge(resolver.matcher),
            )
            out.append(Catalog(pool, writer, VectorIndex(embedder.model, embedder.dim)))
        yield out[0], out[1]
    finally:
        for c in out:
            await c.pool.close()


def _rounds() -> float:
    return sum(
        s.value
        for m in metrics.RESOLUTION_ROUNDS.collect()
        for s in m.samples
        if s.name.endswith("_sum")
    )


async def test_a_batch_resolved_together_ends_as_resolved_one_by_one(
    catalogs: tuple[Catalog, Catalog],
) -> None:
    together, one_by_one = catalogs
    held, feed = catalog_feed(), batch_feed()
    for c in catalogs:
        for product in held:
            await c.write([product])
    keys = [p.listing.listing_key for p in feed]

    for product in feed:
        # Before each write, the prefetch answers what `PostgresCatalog` answers.
        await assert_prefetch_answers_as_postgres(one_by_one, [product])
        await one_by_one.write([product])
    rounds_before = _rounds()
    await together.write(feed)
    rounds = _rounds() - rounds_before

    sequential = await one_by_one.placements(keys)
    batched = await together.placements(keys)
    assert len(sequential) == len(feed)
    assert batched == sequential
    assert await together.masters() == await one_by_one.masters()
    # The cases the order matters for came out as they should.
    by_title: dict[str, set[str]] = {}
    for p in feed:
        by_title.setdefault(p.listing.name, set()).add(batched[p.listing.listing_key][0])
    assert all(len(masters) == 1 for masters in by_title.values())
    assert batched[feed[0].listing.listing_key][0] == batched[feed[1].listing.listing_key][0]
    assert batched[feed[11].listing.listing_key][0] == batched[feed[13].listing.listing_key][0]
    assert batched[feed[9].listing.listing_key][0] == batched[feed[10].listing.listing_key][0]
    assert batched[feed[10].listing.listing_key][1:] == ("attached", 1.0)
    assert batched[feed[3].listing.listing_key][1] == "new"
    assert batched[feed[4].listing.listing_key][0] != batched[feed[6].listing.listing_key][0]
    # Batched for real: fewer prefetch rounds than listings resolved in full.
    assert 1 < rounds < len(feed)
    # The whole feed, now held, is answered by one prefetch as by `PostgresCatalog`.
    await assert_prefetch_answers_as_postgres(together, feed)


async def assert_prefetch_answers_as_postgres(
    c: Catalog, products: Sequence[ValidatedProduct]
) -> None:
    resolver = c.writer.resolver
    listings = [
        BatchListing(p.listing.listing_key, facts_from_product(p), p.input_fingerprint)
        for p in products
    ]
    async with c.pool.acquire() as conn, conn.transaction():
        found = await prefetch(conn, listings, resolver.candidate_limit, c.index)
        catalog = PostgresCatalog(conn, vectors=c.index)
        for x in listings:
            source = found.source(x.listing_key)
            assert found.seeds[x.listing_key] == await master_seed(conn, x.listing_key)
            assert await source.known("", x.facts.title, x.facts.gtin) == await catalog.known(
                x.listing_key, x.facts.title, x.facts.gtin
            )
            expected = await catalog.candidates(
                x.facts, resolver.candidate_limit, x.input_fingerprint
            )
            assert list(await source.candidates(x.facts, resolver.candidate_limit)) == list(
                expected
            )


async def test_a_round_ends_at_the_first_listing_an_earlier_decision_can_change(
    catalogs: tuple[Catalog, Catalog],
) -> None:
    """The listings of a new product after its first listing, and its sibling, wait for the
    next round; an unrelated product does not."""
    c = catalogs[0]
    tv: dict[str, Any] = {"brand": "SONY", "model": "KD-65X80L", "category": "smart_tv"}
    first = validated("falabella", "Sony Bravia KD-65X80L 65 4K Google TV", 899_990, **tv)
    again = validated("paris", "Sony Bravia KD-65X80L 65 4K Google TV", 889_990, **tv)
    other = validated(
        "lider",
        "Aceite de Oliva Extra Virgen Chef 1 L",
        8_990,
        brand="CHEF",
        model="",
        category="aceites",
    )
    listings = [
        BatchListing(p.listing.listing_key, facts_from_product(p), p.input_fingerprint)
        for p in (first, again, other)
    ]
    async with c.pool.acquire() as conn, conn.transaction():
        found = await prefetch(conn, listings, 20, c.index)
    round_ = Round(found)
    assert round_.independent(listings[0])
    round_.record(listings[0], "0" * 32)  # a master neither held nor created here
    assert round_.closed and not round_.independent(listings[2])
    round_ = Round(found)
    round_.record(listings[0], new_master_id(found.seeds[listings[0].listing_key]))
    assert not round_.independent(listings[1])
    assert round_.independent(listings[2])


async def test_title_trigrams_reproduce_pg_trgm(catalogs: tuple[Catalog, Catalog]) -> None:
    """The round's trigram reach is a superset of pg_trgm's `%` on normalized titles."""
    titles = [facts_from_product(p).title for p in catalog_feed() + batch_feed()]
    rows = await catalogs[0].pool.fetch(
        """SELECT a, b, similarity(a, b) AS sim, a % b AS similar,
                  show_limit()::float AS threshold
           FROM unnest($1::text[]) AS a, unnest($1::text[]) AS b""",
        titles,
    )
    assert rows
    for r in rows:
        ga, gb = _trigrams(r["a"]), _trigrams(r["b"])
        assert ga is not None and gb is not None
        common = len(ga & gb)
        assert common / (len(ga) + len(gb) - common) == pytest.approx(r["sim"], abs=1e-6)
        if r["similar"]:
            assert _similar(ga, gb, r["threshold"])


async def test_stale_planner_statistics_are_refreshed(catalogs: tuple[Catalog, Catalog]) -> None:
    """Tables that changed more than the bound since their last analysis are analysed, and
    then are not again until they change."""
    pool = catalogs[1].pool
    await catalogs[1].write([p.model_copy() for p in batch_feed()[:3]])

    async def analysed_listings() -> list[str] | None:
        done = await analyze_stale(pool, threshold=0, share=0.0)
        return done if "listings" in done else None

    await wait_until(analysed_listings, 30)
    assert await pool.fetchval(
        "SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE relname = 'listings'"
    )

    async def quiet() -> bool:
        return "listings" not in await analyze_stale(pool, threshold=10_000, share=0.0)

    assert await wait_until(quiet, 30)
