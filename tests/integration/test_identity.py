"""Identity resolution in the live persister: `ValidatedProduct`s produced to
products.validated.v1, masters and offers read back from Postgres and the catalog topics.

The persister runs as configured by default (the uncertain band judged by the matcher), and,
for review, with no judge (`CATALOG_IDENTITY__JUDGE=none`): uncertain listings wait for a person.

Every pair of titles below is scored by the shipped matcher; each test first checks that the
matcher scores its pair on the intended side of the thresholds (a changed model that moves a
pair fails there, loudly, instead of silently testing something else).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import asyncpg
import pytest

from catalog.cache.l2 import SemanticCache
from catalog.cache.stores import make_embedder
from catalog.db.pool import _init_connection
from catalog.devstack.stack import Stack
from catalog.domain.taxonomy import load_taxonomy
from catalog.identity.catalog_pg import PostgresCatalog, VectorIndex
from catalog.identity.facts import facts_from_product
from catalog.identity.matcher import load_matcher
from catalog.identity.model import Candidate, Facts
from catalog.identity.resolver import Judge, Resolver, load_resolver, matcher_judge, new_master_id
from catalog.kafka.topics import CATALOG_OFFERS, CATALOG_PRODUCTS, REVIEW, VALIDATED
from catalog.service import Incoming
from catalog.settings import get_settings
from persister.logic import CatalogWriter
from schemas.models import (
    CatalogOffer,
    CatalogProduct,
    ReviewItem,
    ValidatedProduct,
)
from tests.integration.catalog_support import T0, cli, rows
from tests.integration.catalog_support import validated_product as validated
from tests.integration.harness import Pipeline, start_pipeline, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

RESOLVER = load_resolver()


def judge_at(listing: ValidatedProduct) -> float:
    """The judge threshold the listing's category group gets."""
    return RESOLVER.matcher.thresholds_for(listing.category).judge_at


def bounds(listing: ValidatedProduct) -> tuple[float, float]:
    """`(attach_at, new_below)` of the listing's category group."""
    return RESOLVER.bounds(facts_from_product(listing))


@pytest.fixture(scope="module")
async def pipeline(stack: Stack) -> AsyncIterator[Pipeline]:
    p = await start_pipeline(stack, services=("persister",))
    try:
        yield p
    finally:
        p.stop()


@pytest.fixture(scope="module")
async def reviewing(stack: Stack) -> AsyncIterator[Pipeline]:
    """A persister with no judge: the uncertain band goes to review."""
    p = await start_pipeline(stack, {"CATALOG_IDENTITY__JUDGE": "none"}, services=("persister",))
    try:
        yield p
    finally:
        p.stop()


def score(listing: ValidatedProduct, master: ValidatedProduct) -> float:
    """The matcher's score of `listing` against a master made of `master` alone."""
    return RESOLVER.score(facts_from_product(listing), Candidate("m", facts_from_product(master)))


async def offers_of(p: Pipeline, key: str) -> list[CatalogOffer]:
    return [o for o in await p.read_models(CATALOG_OFFERS) if o.listing_key == key]


async def states_of(p: Pipeline, master: str) -> list[CatalogProduct]:
    return [m for m in await p.read_models(CATALOG_PRODUCTS) if m.product_fingerprint == master]


async def publish_and_wait(p: Pipeline, *products: ValidatedProduct) -> list[CatalogOffer]:
    """Publish, then wait for each listing's latest offer event."""
    seen = {x.listing.listing_key: len(await offers_of(p, x.listing.listing_key)) for x in products}
    await p.produce(VALIDATED, [(x.listing.listing_key, x) for x in products])

    async def all_out() -> list[CatalogOffer] | None:
        out = []
        for x in products:
            offers = await offers_of(p, x.listing.listing_key)
            if len(offers) <= seen[x.listing.listing_key]:
                return None
            out.append(offers[-1])
        return out

    return await wait_until(all_out, 90)


async def writer(
    p: Pipeline, resolver: Resolver, judge: Judge | None = None
) -> tuple[CatalogWriter, asyncpg.Pool]:
    """The persister's logic on its own pool against the pipeline's database."""
    pool = await asyncpg.create_pool(p.dsn, min_size=1, max_size=2, init=_init_connection)
    assert pool is not None
    taxonomy = load_taxonomy()
    return CatalogWriter(pool, taxonomy, None, None, None, "test", 3600, resolver, judge), pool


def incoming(product: ValidatedProduct) -> Incoming[ValidatedProduct]:
    return Incoming(product, product.listing.listing_key.encode(), {}, "validated", 0, 0)


# A resolver that attaches nothing: the catalog as a stricter, older matcher left it, with one
# master per listing. Only used to lay out duplicates that merges then fold together.
def strict_resolver() -> Resolver:
    return Resolver(load_matcher(), attach_at=1.0, new_below=1.0)


# -------------------------------------------------------------------------------- matching


async def test_two_stores_titles_of_one_product_make_one_master_with_two_offers(
    pipeline: Pipeline,
) -> None:
    common: dict[str, Any] = {"brand": "LENOVO", "category": "notebooks"}
    first = validated(
        "falabella",
        "Notebook Lenovo IdeaPad 3 15IAU7 Core i5 8GB 512GB SSD 82RK00XYCL",
        549_990,
        model="IdeaPad 3 15IAU7",
        attributes={"ram_gb": 8, "storage_gb": 512},
        **common,
    )
    second = validated(
        "paris",
        "Lenovo IdeaPad 3 82RK00XYCL i5-1235U 8GB RAM 512GB",
        529_990,
        model="IdeaPad 3",
        attributes={"ram_gb": 8, "storage_gb": 512, "processor": "Intel Core i5-1235U"},
        **common,
    )
    assert score(second, first) >= judge_at(second)
    (a,) = await publish_and_wait(pipeline, first)
    (b,) = await publish_and_wait(pipeline, second)
    assert (
        a.product_fingerprint == b.product_fingerprint == new_master_id(first.listing.listing_key)
    )
    master = a.product_fingerprint
    offers = await rows(
        pipeline,
        """SELECT pa.retailer, pa.price_current FROM precios_actuales pa
           JOIN productos_maestros p ON p.id = pa.product_id
           WHERE p.fingerprint = $1 ORDER BY pa.retailer""",
        master,
    )
    assert [(o["retailer"], int(o["price_current"])) for o in offers] == [
        ("falabella", 549_990),
        ("paris", 529_990),
    ]
    resolutions = await rows(
        pipeline,
        "SELECT listing_key, resolution, match_score FROM listings WHERE listing_key = ANY($1)",
        [first.listing.listing_key, second.listing.listing_key],
    )
    by_key = {r["listing_key"]: r for r in resolutions}
    assert by_key[first.listing.listing_key]["resolution"] == "new"
    assert by_key[second.listing.listing_key]["resolution"] in ("attached", "judged")
    # The master learned from its second offer: the processor only the second title states,
    # with the listing it came from.
    (row,) = await rows(
        pipeline,
        "SELECT attributes, attribute_sources, model_codes FROM productos_maestros "
        "WHERE fingerprint = $1",
        master,
    )
    assert row["attributes"]["processor"] == "Intel Core i5-1235U"
    assert row["attribute_sources"]["processor"] == second.listing.listing_key
    assert "82rk00xycl" in row["model_codes"]
    state = (await states_of(pipeline, master))[-1]
    assert (state.offer_count, state.min_price, state.max_price) == (2, 529_990, 549_990)


async def test_a_part_number_only_title_resolves_to_its_master(pipeline: Pipeline) -> None:
    full = validated(
        "pc_factory",
        'HP Chromebook 11A-NA0035NR 11.6" MediaTek 4GB 32GB eMMC [18J38UA]',
        199_990,
        brand="HP",
        model="Chromebook 11A",
        category="notebooks",
        attributes={"ram_gb": 4, "storage_gb": 32},
    )
    part_number = validated(
        "ripley", "HP 18J38UA", 189_990, brand="HP", model="18J38UA", category="notebooks"
    )
    assert score(part_number, full) >= judge_at(part_number)
    (a,) = await publish_and_wait(pipeline, full)
    (b,) = await publish_and_wait(pipeline, part_number)
    assert b.product_fingerprint == a.product_fingerprint


async def test_256gb_and_512gb_never_merge(pipeline: Pipeline) -> None:
    common: dict[str, Any] = {
        "brand": "SAMSUNG",
        "model": "Galaxy S24 Ultra",
        "category": "smartphones",
    }
    small = validated(
        "lider",
        "Samsung Galaxy S24 Ultra 256GB Titanium Gray",
        1_099_990,
        attributes={"storage_gb": 256},
        **common,
    )
    large = validated(
        "hites",
        "Samsung Galaxy S24 Ultra 512GB Titanium Gray",
        1_299_990,
        attributes={"storage_gb": 512},
        **common,
    )
    # The same phone but for its capacity: the judge says they differ.
    assert score(large, small) < judge_at(large)
    (a,) = await publish_and_wait(pipeline, small)
    (b,) = await publish_and_wait(pipeline, large)
    assert a.product_fingerprint != b.product_fingerprint
    assert b.product_fingerprint == new_master_id(large.listing.listing_key)
    pending = await rows(
        pipeline,
        "SELECT listing_key FROM review_items WHERE listing_key = ANY($1)",
        [small.listing.listing_key, large.listing.listing_key],
    )
    assert pending == []


# ---------------------------------------------------------------------------- concurrency


async def test_two_listings_of_a_new_product_published_at_once_make_one_master(
    pipeline: Pipeline,
) -> None:
    common: dict[str, Any] = {
        "brand": "ASUS",
        "category": "notebooks",
        "attributes": {"ram_gb": 8, "storage_gb": 512},
    }
    one = validated(
        "falabella",
        "Notebook ASUS Vivobook 15 X1504ZA-NJ1024W Core i3 8GB 512GB",
        449_990,
        model="Vivobook 15 X1504ZA",
        **common,
    )
    other = validated(
        "paris",
        "ASUS X1504ZA-NJ1024W Vivobook 15 i3-1215U 8GB 512GB SSD",
        439_990,
        model="Vivobook 15",
        **common,
    )
    assert score(other, one) >= judge_at(other)
    a, b = await publish_and_wait(pipeline, one, other)
    assert a.product_fingerprint == b.product_fingerprint
    masters = await rows(
        pipeline,
        "SELECT fingerprint FROM productos_maestros WHERE 'x1504zanj1024w' = ANY(model_codes)",
    )
    assert [m["fingerprint"] for m in masters] == [a.product_fingerprint]


async def test_two_persisters_creating_one_new_product_in_parallel_leave_one_master(
    pipeline: Pipeline,
) -> None:
    """Two writers (two replicas) each get one listing of a product the catalog does not have
    yet, in concurrent transactions: the advisory lock on the blocking keys serialises them and
    the second sees the first's master."""
    common: dict[str, Any] = {
        "brand": "APPLE",
        "category": "notebooks",
        "attributes": {"ram_gb": 8, "storage_gb": 256},
    }
    one = validated(
        "falabella",
        "Apple MacBook Air 13 M2 8GB 256GB MLY33LL/A",
        999_990,
        model="MacBook Air 13 M2",
        **common,
    )
    other = validated(
        "ripley",
        "MacBook Air M2 13.6 MLY33LL/A 8GB 256GB Midnight",
        979_990,
        model="MacBook Air M2",
        **common,
    )
    assert score(other, one) >= judge_at(other)
    resolver = load_resolver()
    first, first_pool = await writer(pipeline, resolver, matcher_judge(resolver.matcher))
    second, second_pool = await writer(pipeline, resolver, matcher_judge(resolver.matcher))
    try:
        await asyncio.gather(
            first.handle_validated([incoming(one)]), second.handle_validated([incoming(other)])
        )
    finally:
        await first_pool.close()
        await second_pool.close()
    placed = await rows(
        pipeline,
        """SELECT l.listing_key, p.fingerprint, l.resolution FROM listings l
           JOIN productos_maestros p ON p.id = l.product_id
           WHERE l.listing_key = ANY($1) ORDER BY l.resolution""",
        [one.listing.listing_key, other.listing.listing_key],
    )
    assert len(placed) == 2
    assert placed[0]["fingerprint"] == placed[1]["fingerprint"]
    outcomes = sorted(p["resolution"] for p in placed)
    assert outcomes[1] == "new" and outcomes[0] in ("attached", "judged")
    masters = await rows(
        pipeline,
        "SELECT fingerprint FROM productos_maestros WHERE 'mly33lla' = ANY(model_codes)",
    )
    assert len(masters) == 1


async def test_one_store_selling_a_product_under_two_skus_keeps_each_price(
    pipeline: Pipeline,
) -> None:
    common: dict[str, Any] = {
        "brand": "LG",
        "model": "55UR8750PSA",
        "category": "smart_tv",
        "attributes": {"screen_in": 55},
    }
    title = "Smart TV LG 55 pulgadas 4K UHD 55UR8750PSA"
    dear = validated("sodimac", title, 459_990, **common)
    cheap = validated("sodimac", title, 429_990, **common)
    # The matcher rarely puts two listings of one store on one master; an operator does, by
    # merging the two masters the listings made.
    strict, pool = await writer(pipeline, strict_resolver())
    try:
        await strict.handle_validated([incoming(dear), incoming(cheap)])
    finally:
        await pool.close()
    master = new_master_id(dear.listing.listing_key)
    done = await cli(pipeline, "merge", new_master_id(cheap.listing.listing_key), master)
    assert done.exit_code == 0, done.output

    async def best_offer() -> list[tuple[str, int]]:
        found = await rows(
            pipeline,
            """SELECT pa.listing_key, pa.price_current FROM precios_actuales pa
               JOIN productos_maestros p ON p.id = pa.product_id
               WHERE p.fingerprint = $1 AND pa.retailer = 'sodimac'""",
            master,
        )
        return [(r["listing_key"], int(r["price_current"])) for r in found]

    # Each listing keeps its own price; the store's row in precios_actuales is its best price.
    listings = await rows(
        pipeline,
        "SELECT listing_key, price FROM listings WHERE listing_key = ANY($1)",
        [dear.listing.listing_key, cheap.listing.listing_key],
    )
    assert {r["listing_key"]: r["price"] for r in listings} == {
        dear.listing.listing_key: 459_990,
        cheap.listing.listing_key: 429_990,
    }
    assert await best_offer() == [(cheap.listing.listing_key, 429_990)]
    # A re-scrape raises the cheaper listing's price: the best price follows the other listing.
    dearer = cheap.model_copy(
        update={
            "listing": cheap.listing.model_copy(
                update={"price": 479_990, "scraped_at": T0 + timedelta(hours=1)}
            )
        }
    )
    (offer,) = await publish_and_wait(pipeline, dearer)
    assert (offer.product_fingerprint, offer.price, offer.price_changed) == (master, 479_990, True)
    assert await best_offer() == [(dear.listing.listing_key, 459_990)]
    history = await rows(
        pipeline,
        "SELECT price FROM price_history WHERE listing_key = $1 ORDER BY id",
        cheap.listing.listing_key,
    )
    assert [h["price"] for h in history] == [429_990, 479_990]
    state = (await states_of(pipeline, master))[-1]
    assert (state.offer_count, state.min_price) == (1, 459_990)


async def test_two_skus_of_one_store_with_one_ean_are_one_product(pipeline: Pipeline) -> None:
    common: dict[str, Any] = {"brand": "COLUN", "category": "leche", "model": ""}
    # A checksum-valid EAN-13 on both skus.
    ean = "7802920000008"
    first = validated("lider", "Leche Entera Colun 1 L", 1_190, ean=ean, **common)
    second = validated("lider", "LECHE COLUN ENTERA CAJA 1LT SIN LACTOSA", 1_290, ean=ean, **common)
    # Without the GTIN the matcher would not put two skus of one store on one master.
    no_gtin = [
        x.model_copy(update={"listing": x.listing.model_copy(update={"ean": None})})
        for x in (first, second)
    ]
    assert score(no_gtin[1], no_gtin[0]) < judge_at(no_gtin[1])
    assert score(second, first) == 1.0
    (one,) = await publish_and_wait(pipeline, first)
    (two,) = await publish_and_wait(pipeline, second)
    assert one.product_fingerprint == two.product_fingerprint
    found = await rows(
        pipeline,
        "SELECT DISTINCT product_id FROM listings WHERE listing_key = ANY($1)",
        [first.listing.listing_key, second.listing.listing_key],
    )
    assert len(found) == 1


async def test_a_title_embedding_finds_its_neighbours_masters(pipeline: Pipeline) -> None:
    """The pgvector path alone: facts with nothing to block on (no title, brand, code or GTIN)
    still reach the master of the listing whose title embedding is nearest."""
    embedder = make_embedder(get_settings())
    near = validated(
        "falabella",
        "Audífonos Bose QuietComfort 45 Bluetooth Negro",
        299_990,
        brand="BOSE",
        model="QuietComfort 45",
        category="headphones",
    )
    probe = validated(
        "paris",
        "Audifonos Bluetooth Bose QuietComfort 45 Negros",
        289_990,
        brand="BOSE",
        model="QuietComfort 45",
        category="headphones",
    )
    pool = await asyncpg.create_pool(pipeline.dsn, min_size=1, max_size=2, init=_init_connection)
    assert pool is not None
    semantic = SemanticCache(pool, embedder.model, embedder.dim)
    strict = CatalogWriter(
        pool, load_taxonomy(), None, semantic, embedder, "test", 3600, strict_resolver()
    )
    try:
        for product in (near, probe):
            await strict.handle_validated([incoming(product)])
        nothing = Facts(title="", category="headphones")
        async with pool.acquire() as conn, conn.transaction():
            index = VectorIndex(embedder.model, embedder.dim)
            found = await PostgresCatalog(conn, vectors=index).candidates(
                nothing, 20, probe.input_fingerprint
            )
            without = await PostgresCatalog(conn).candidates(nothing, 20, probe.input_fingerprint)
    finally:
        await pool.close()
    assert new_master_id(near.listing.listing_key) in {c.master_id for c in found}
    assert without == []


# ---------------------------------------------------------------------------------- review


async def review_item(p: Pipeline, key: str) -> ReviewItem:
    async def found() -> ReviewItem | None:
        items = [r for r in await p.read_models(REVIEW) if r.listing.listing_key == key]
        return items[-1] if items else None

    item: ReviewItem = await wait_until(found, 90)
    return item


async def test_an_uncertain_pair_reaches_review_with_candidates_and_review_resolves_it(
    reviewing: Pipeline,
) -> None:
    headphones: dict[str, Any] = {"brand": "SONY", "category": "headphones"}
    known = validated(
        "falabella",
        "Sony WH-1000XM5 Audifonos Bluetooth Noise Cancelling Negro",
        349_990,
        model="WH-1000XM5",
        **headphones,
    )
    # One product, but the matcher is not sure enough to attach it unasked (no colour stated on
    # this side to agree with).
    same = validated(
        "paris",
        "Audífonos Sony WH1000XM5 Inalámbricos Over Ear",
        329_990,
        model="WH1000XM5",
        **headphones,
    )
    speakers: dict[str, Any] = {"brand": "JBL", "category": "speakers"}
    flip6 = validated(
        "falabella", "Parlante Bluetooth JBL Flip 6 Negro", 99_990, model="Flip 6", **speakers
    )
    # Another product of the line (a Flip 5 would be refused outright: the same model words
    # with another number).
    essential = validated(
        "paris",
        "Parlante Bluetooth JBL Flip Essential 2 Negro",
        79_990,
        model="Flip Essential 2",
        **speakers,
    )
    for listing, master in ((same, known), (essential, flip6)):
        attach_at, new_below = bounds(listing)
        assert new_below <= score(listing, master) < attach_at
    (sony,) = await publish_and_wait(reviewing, known)
    (jbl,) = await publish_and_wait(reviewing, flip6)

    # Both uncertain listings go to review with their candidates, and no master is created.
    await reviewing.produce(VALIDATED, [(x.listing.listing_key, x) for x in (same, essential)])
    same_item = await review_item(reviewing, same.listing.listing_key)
    essential_item = await review_item(reviewing, essential.listing.listing_key)
    assert same_item.candidates[0].master_id == sony.product_fingerprint
    assert essential_item.candidates[0].master_id == jbl.product_fingerprint
    attach_at, new_below = bounds(essential)
    assert new_below <= essential_item.candidates[0].score < attach_at
    assert essential_item.reasons[0].startswith("identity_uncertain")
    assert (
        await rows(
            reviewing,
            "SELECT listing_key FROM listings WHERE listing_key = ANY($1)",
            [same.listing.listing_key, essential.listing.listing_key],
        )
        == []
    )

    listed = await cli(reviewing, "review", "list", "--json")
    assert listed.exit_code == 0, listed.output
    queued = {i["listing_key"]: i for i in json.loads(listed.output)}
    assert (
        queued[essential.listing.listing_key]["candidates"][0]["master_id"]
        == jbl.product_fingerprint
    )
    shown = await cli(reviewing, "review", "show", same.listing.listing_key)
    assert shown.exit_code == 0, shown.output
    assert sony.product_fingerprint in shown.output
    # An identity review is not answered with a normalization correction.
    refused = await cli(reviewing, "review", "accept", same.listing.listing_key, "--from-best")
    assert refused.exit_code == 1

    # A person says the headphones are the same product...
    accepted = await cli(
        reviewing,
        "review",
        "accept",
        same.listing.listing_key,
        "--candidate",
        sony.product_fingerprint,
    )
    assert accepted.exit_code == 0, accepted.output
    (offer,) = await wait_until(lambda: offers_of(reviewing, same.listing.listing_key), 90)
    assert offer.product_fingerprint == sony.product_fingerprint
    # ...and the speaker a new product.
    declared = await cli(
        reviewing, "review", "accept", essential.listing.listing_key, "--new-product"
    )
    assert declared.exit_code == 0, declared.output
    (offer,) = await wait_until(lambda: offers_of(reviewing, essential.listing.listing_key), 90)
    assert offer.product_fingerprint == new_master_id(essential.listing.listing_key)
    assert offer.product_fingerprint != jbl.product_fingerprint

    items = await rows(
        reviewing,
        "SELECT listing_key, status, decided_master FROM review_items WHERE listing_key = ANY($1)",
        [same.listing.listing_key, essential.listing.listing_key],
    )
    assert {(i["listing_key"], i["status"], i["decided_master"]) for i in items} == {
        (same.listing.listing_key, "accepted", sony.product_fingerprint),
        (essential.listing.listing_key, "accepted", offer.product_fingerprint),
    }
    state = (await states_of(reviewing, sony.product_fingerprint))[-1]
    assert state.offer_count == 2


# ---------------------------------------------------------------------------------- merges


async def test_a_merge_moves_offers_and_history_and_emits_its_event(pipeline: Pipeline) -> None:
    mouse: dict[str, Any] = {"brand": "LOGITECH", "model": "G203", "category": "peripherals"}
    older = validated("falabella", "Mouse Logitech G203 Lightsync Negro", 24_990, **mouse)
    younger = validated("paris", "Mouse Gamer Logitech G203 Lightsync Negro", 22_990, **mouse)
    cheaper = younger.model_copy(
        update={
            "listing": younger.listing.model_copy(
                update={"price": 19_990, "scraped_at": T0 + timedelta(days=1)}
            )
        }
    )
    assert score(younger, older) >= judge_at(younger)
    # Two masters of one product, as a stricter matcher left them; one has price history.
    strict, pool = await writer(pipeline, strict_resolver())
    try:
        for product in (older, younger, cheaper):
            await strict.handle_validated([incoming(product)])
    finally:
        await pool.close()
    into = new_master_id(older.listing.listing_key)
    duplicate = new_master_id(younger.listing.listing_key)
    before = await rows(
        pipeline, "SELECT fingerprint, version FROM productos_maestros WHERE fingerprint = ANY($1)",
        [into, duplicate],
    )  # fmt: skip
    versions = {r["fingerprint"]: r["version"] for r in before}

    done = await cli(pipeline, "merge", duplicate, into)
    assert done.exit_code == 0, done.output
    assert "1 listing(s) moved" in done.output

    masters = {
        r["fingerprint"]: r
        for r in await rows(
            pipeline,
            "SELECT id, fingerprint, merged_into, active, version FROM productos_maestros "
            "WHERE fingerprint = ANY($1)",
            [into, duplicate],
        )
    }
    assert masters[duplicate]["merged_into"] == into
    assert masters[duplicate]["active"] is False
    assert masters[duplicate]["version"] == versions[duplicate] + 1
    assert masters[into]["version"] == versions[into] + 1
    history = await rows(
        pipeline,
        "SELECT product_id, price FROM price_history WHERE listing_key = $1 ORDER BY id",
        younger.listing.listing_key,
    )
    assert [(h["product_id"], h["price"]) for h in history] == [
        (masters[into]["id"], 22_990),
        (masters[into]["id"], 19_990),
    ]
    offers = await rows(
        pipeline,
        "SELECT product_id, retailer FROM precios_actuales WHERE product_id = ANY($1)",
        [masters[into]["id"], masters[duplicate]["id"]],
    )
    assert sorted((o["product_id"], o["retailer"]) for o in offers) == [
        (masters[into]["id"], "falabella"),
        (masters[into]["id"], "paris"),
    ]

    # The events: the duplicate says where it went, the master has both offers, the moved
    # offer names its new master.
    gone = (await states_of(pipeline, duplicate))[-1]
    assert (gone.merged_into, gone.offer_count, gone.version) == (
        into,
        0,
        masters[duplicate]["version"],
    )
    kept = (await states_of(pipeline, into))[-1]
    assert (kept.merged_into, kept.offer_count, kept.min_price) == (None, 2, 19_990)
    (moved,) = await offers_of(pipeline, younger.listing.listing_key)
    assert (moved.product_fingerprint, moved.version, moved.price_changed) == (into, 3, False)

    # Again: nothing changes, the same events go out again.
    again = await cli(pipeline, "merge", duplicate, into)
    assert again.exit_code == 0, again.output
    assert "already merged" in again.output
    replayed = (await states_of(pipeline, duplicate))[-1]
    assert replayed.event_id == gone.event_id
    # Merging into a merged master is refused.
    refused = await cli(pipeline, "merge", into, duplicate)
    assert refused.exit_code == 1

    # The moved listing's next re-scrape takes the fast path to the surviving master.
    rescrape = cheaper.model_copy(
        update={
            "listing": cheaper.listing.model_copy(update={"scraped_at": T0 + timedelta(days=2)})
        }
    )
    (offer,) = await publish_and_wait(pipeline, rescrape)
    assert offer.product_fingerprint == into


async def test_the_rerun_pass_merges_masters_the_matcher_now_scores_as_one(
    pipeline: Pipeline,
) -> None:
    tv: dict[str, Any] = {
        "brand": "SAMSUNG",
        "model": "QN65Q80CAGXZS",
        "category": "smart_tv",
        "attributes": {"screen_in": 65},
    }
    older = validated("falabella", 'Samsung QLED 65" Q80C 4K QN65Q80CAGXZS', 1_199_990, **tv)
    younger = validated("lider", "Smart TV Samsung 65 QN65Q80CAGXZS QLED 4K", 1_149_990, **tv)
    assert score(younger, older) >= bounds(younger)[0]
    strict, pool = await writer(pipeline, strict_resolver())
    try:
        for product in (older, younger):
            await strict.handle_validated([incoming(product)])
    finally:
        await pool.close()
    into = new_master_id(older.listing.listing_key)
    duplicate = new_master_id(younger.listing.listing_key)

    dry = await cli(pipeline, "resolve", "--rerun", "--dry-run", "--json")
    assert dry.exit_code == 0, dry.output
    proposed = json.loads(dry.output)
    assert {"duplicate": duplicate, "into": into, "merged": False} in [
        {k: v for k, v in d.items() if k != "score"} for d in proposed
    ]
    assert (
        await rows(
            pipeline, "SELECT 1 FROM productos_maestros WHERE merged_into IS NOT NULL AND "
            "fingerprint = $1", duplicate,
        )
        == []
    )  # fmt: skip

    done = await cli(pipeline, "resolve", "--rerun", "--json")
    assert done.exit_code == 0, done.output
    merged = [d for d in json.loads(done.output) if d["duplicate"] == duplicate]
    assert merged and merged[0]["into"] == into and merged[0]["merged"]
    gone = (await states_of(pipeline, duplicate))[-1]
    assert gone.merged_into == into
    # A second pass finds nothing more.
    again = await cli(pipeline, "resolve", "--rerun", "--json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.output) == []
