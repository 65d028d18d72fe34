"""The search service against the live stack: listings go through the persister into Postgres,
and the search service (its own process, as `make up` runs it) answers over HTTP.

Typos and missing accents still find the product; filters and facets agree with the results;
a price change shows on the product page; merged and deactivated masters leave search at once;
shoppers' events land in the interactions table once, however often they are delivered.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
import redis.asyncio as redis
from pydantic import SecretStr

from catalog.cache.embeddings import HashingEmbedder
from catalog.db.pool import create_pool
from catalog.devstack.stack import Stack
from catalog.kafka.topics import INTERACTIONS, VALIDATED
from catalog.masters import merge
from catalog.search.cache import QueryCache
from catalog.search.engine import CatalogSearch
from catalog.search.models import SearchRequest
from catalog.settings import PostgresSettings, SearchSettings
from schemas.models import Interaction, ValidatedProduct
from tests.integration.harness import Pipeline, start_pipeline, wait_until
from tests.integration.search_support import (
    CATALOG,
    T0,
    client,
    get_json,
    load_catalog,
    validated,
)

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

# No hot-query cache between the steps of a test: each search must see the tables as they are.
ENV = {
    "CATALOG_SEARCH__CACHE_TTL_S": "0",
    "CATALOG_SEARCH__REFIT_INTERVAL_S": "1",
    "CATALOG_SEARCH__VOCABULARY_REFRESH_S": "0.5",
}


@pytest.fixture(scope="module")
async def pipeline(stack: Stack) -> AsyncIterator[Pipeline]:
    p = await start_pipeline(stack, ENV, services=("persister", "search"))
    try:
        yield p
    finally:
        p.stop()


@pytest.fixture(scope="module")
async def catalog(pipeline: Pipeline) -> dict[str, ValidatedProduct]:
    return await load_catalog(pipeline)


def names(page: dict[str, Any]) -> list[str]:
    return [hit["name"] for hit in page["results"]]


async def test_a_misspelled_query_finds_the_product(
    pipeline: Pipeline, catalog: dict[str, ValidatedProduct]
) -> None:
    async with client(pipeline) as http:
        # The typo vocabulary learns the new masters' words within a refresh interval.
        async def corrected() -> dict[str, Any] | None:
            page = await get_json(http, "/search", q="samgsung galaxi")
            return page if page["total"] and "trigram" in page["results"][0]["matched_by"] else None

        page = await wait_until(corrected, 30)
        assert page["results"][0]["brand"] == "Samsung", names(page)
        assert "trigram" in page["results"][0]["matched_by"]
        typo = await get_json(http, "/search", q="iphne 15")
        assert typo["results"][0]["brand"] == "Apple", names(typo)


async def test_an_accentless_query_finds_the_accented_product(
    pipeline: Pipeline, catalog: dict[str, ValidatedProduct]
) -> None:
    async with client(pipeline) as http:
        coffee = await get_json(http, "/search", q="cafe molido")
        assert coffee["results"][0]["brand"] == "Juan Valdez", names(coffee)
        assert "fts" in coffee["results"][0]["matched_by"]
        milk = await get_json(http, "/search", q="leche colun")
        assert milk["results"][0]["brand"] == "Colún", names(milk)
        # And the other way round: accents in the query, none needed in the text.
        phones = await get_json(http, "/search", q="audífonos sony")
        assert phones["results"][0]["brand"] == "Sony", names(phones)


async def test_filters_and_facets_agree_with_the_results(
    pipeline: Pipeline, catalog: dict[str, ValidatedProduct]
) -> None:
    async with client(pipeline) as http:
        everything = await get_json(http, "/search", q="negro", page_size=50)
        assert everything["total"] == len(everything["results"]) >= 3
        for facet in ("category", "brand"):
            counts = {f["value"]: f["count"] for f in everything["facets"][facet]}
            seen = Counter(hit[facet] for hit in everything["results"])
            assert counts == dict(seen), facet
        # Filter on the category facet: every result in it, total = the facet's count.
        smartphones = next(
            f for f in everything["facets"]["category"] if f["value"] == "smartphones"
        )
        only = await get_json(http, "/search", q="negro", category="smartphones", page_size=50)
        assert only["total"] == smartphones["count"]
        assert {hit["category"] for hit in only["results"]} == {"smartphones"}
        assert sum(f["count"] for f in only["facets"]["brand"]) == only["total"]
        # Brand and price range together.
        brand = await get_json(
            http, "/search", q="negro", brand="Samsung", price_min=1_000_000, page_size=50
        )
        assert brand["total"] >= 1
        for hit in brand["results"]:
            assert hit["brand"] == "Samsung"
            assert hit["best_offer"]["price"] >= 1_000_000
        # Lowest price first.
        by_price = await get_json(http, "/search", q="negro", sort="price_asc", page_size=50)
        prices = [h["best_offer"]["price"] for h in by_price["results"] if h["best_offer"]]
        assert prices == sorted(prices) and len(prices) >= 3
        # Pages split the same list.
        first = await get_json(http, "/search", q="negro", page_size=2, page=1)
        second = await get_json(http, "/search", q="negro", page_size=2, page=2)
        assert names(first) + names(second) == names(everything)[:4]
        # Limits are enforced, not trusted.
        too_big = await http.get("/search", params={"q": "negro", "page_size": 10_000})
        assert too_big.status_code == 422


async def test_each_hit_carries_its_cheapest_offer_in_stock(
    pipeline: Pipeline, catalog: dict[str, ValidatedProduct]
) -> None:
    async with client(pipeline) as http:
        page = await get_json(http, "/search", q="sony wh-1000xm5")
        hit = page["results"][0]
        product = await get_json(http, f"/products/{hit['id']}")
        assert hit["offer_count"] == len(product["offers"])
        in_stock = [o for o in product["offers"] if o["stock_status"] != "out_of_stock"]
        assert hit["best_offer"]["price"] == min(o["price"] for o in in_stock)
        # The out-of-stock Paris offer is on the product page, never the cheapest hit's price.
        assert hit["best_offer"]["price"] != 299_990
        assert [o["price"] for o in product["offers"]] == sorted(
            o["price"] for o in product["offers"]
        )
        for offer in product["offers"]:
            assert offer["url"].startswith("https://www.")


async def test_a_price_change_shows_on_the_product_page(
    pipeline: Pipeline, catalog: dict[str, ValidatedProduct]
) -> None:
    key, message = next(
        (k, m) for k, m in catalog.items() if m.listing.name.startswith("Apple iPhone 15")
    )
    async with client(pipeline) as http:
        hit = (await get_json(http, "/search", q="iphone 15"))["results"][0]
        before = await get_json(http, f"/products/{hit['id']}")
        assert [o["price"] for o in before["offers"]] == [799_990]
        item = next(i for i in CATALOG if i.name == message.listing.name)
        cheaper = validated(item, message.listing.sku, 749_990, seen=T0 + timedelta(days=1))
        await pipeline.produce(VALIDATED, [(key, cheaper)])

        async def new_price() -> dict[str, Any] | None:
            page = await get_json(http, f"/products/{hit['id']}")
            return page if [o["price"] for o in page["offers"]] == [749_990] else None

        after = await wait_until(new_price, 60)
        history = [(p["retailer"], p["price"]) for p in after["price_history"]]
        assert history == [("ripley", 799_990), ("ripley", 749_990)]
        # Search shows the new price too.
        again = (await get_json(http, "/search", q="iphone 15"))["results"][0]
        assert again["best_offer"]["price"] == 749_990


async def test_merged_and_deactivated_masters_leave_search(
    pipeline: Pipeline, catalog: dict[str, ValidatedProduct]
) -> None:
    async with client(pipeline) as http:
        page = await get_json(http, "/search", q="xiaomi redmi note 13")
        redmi = page["results"][0]
        assert redmi["brand"] == "Xiaomi"
        coffee = (await get_json(http, "/search", q="cafe juan valdez"))["results"][0]
        conn = await pipeline.db()
        try:
            async with conn.transaction():
                await merge(conn, redmi["id"], coffee["id"])
        finally:
            await conn.close()
        after = await get_json(http, "/search", q="xiaomi redmi note 13")
        assert redmi["id"] not in [h["id"] for h in after["results"]]
        # The old id's page is the page of the master that absorbed it.
        moved = await get_json(http, f"/products/{redmi['id']}")
        assert moved["id"] == coffee["id"] and moved["merged_from"] == redmi["id"]
        similar = await get_json(http, f"/products/{coffee['id']}/similar")
        assert coffee["id"] not in [h["id"] for h in similar["results"]]
        # A master without offers is deactivated and gone from search and product pages.
        conn = await pipeline.db()
        try:
            milk = (await get_json(http, "/search", q="leche colun"))["results"][0]
            await conn.execute(
                "UPDATE productos_maestros SET active = FALSE WHERE fingerprint = $1", milk["id"]
            )
        finally:
            await conn.close()
        gone = await get_json(http, "/search", q="leche colun")
        assert milk["id"] not in [h["id"] for h in gone["results"]]
        assert (await http.get(f"/products/{milk['id']}")).status_code == 404


async def test_similar_products_share_the_category_and_never_the_master(
    pipeline: Pipeline, catalog: dict[str, ValidatedProduct]
) -> None:
    async with client(pipeline) as http:
        samsung = (await get_json(http, "/search", q="samsung galaxy s24"))["results"][0]
        similar = await get_json(http, f"/products/{samsung['id']}/similar", k=5)
        assert similar["results"], similar
        assert all(h["category"] == "smartphones" for h in similar["results"])
        assert samsung["id"] not in [h["id"] for h in similar["results"]]
        assert (await http.get("/products/nope/similar")).status_code == 404


async def test_events_land_in_the_interactions_table_once(
    pipeline: Pipeline, catalog: dict[str, ValidatedProduct]
) -> None:
    async with client(pipeline) as http:
        phone = (await get_json(http, "/search", q="samsung galaxy s24"))["results"][0]
        sony = (await get_json(http, "/search", q="sony audifonos"))["results"][0]
        user = f"u-{uuid.uuid4().hex[:8]}"
        events = [
            Interaction(event_id=uuid.uuid4().hex, user_id=user, product_id=pid, kind=kind)
            for pid, kind in (
                (phone["id"], "view"),
                (sony["id"], "click"),
                (sony["id"], "purchase"),
            )
        ]
        for event in events:
            response = await http.post("/events", json=event.model_dump(mode="json"))
            assert response.status_code == 202, response.text
        # The same event posted again, and redelivered straight on the topic.
        assert (
            await http.post("/events", json=events[0].model_dump(mode="json"))
        ).status_code == 202
        await pipeline.produce(INTERACTIONS, [(user, events[0]), (user, events[1])])
        bad = await http.post("/events", json={"user_id": user, "kind": "like"})
        assert bad.status_code == 422

        async def recorded() -> list[Any] | None:
            conn = await pipeline.db()
            try:
                rows = await conn.fetch(
                    "SELECT event_id, product_id, kind FROM interactions WHERE user_id = $1 "
                    "ORDER BY id",
                    user,
                )
            finally:
                await conn.close()
            return rows if len(rows) >= 3 else None

        rows = await wait_until(recorded, 60)
        # Give a late duplicate the chance to arrive before counting.
        on_topic = [e for _, e in await pipeline.read(INTERACTIONS)]
        assert len(on_topic) >= 6
        rows = await recorded()
        assert rows is not None
        assert sorted(r["event_id"] for r in rows) == sorted(e.event_id for e in events)

        # Recommendations for the product the user viewed: the other one they touched.
        async def recommended() -> dict[str, Any] | None:
            answer = await get_json(http, "/recommendations", product=phone["id"], k=5)
            ids = [r["id"] for r in answer["results"]]
            return answer if sony["id"] in ids else None

        answer = await wait_until(recommended, 30)
        assert answer["strategy"].startswith("hybrid")
        assert phone["id"] not in [r["id"] for r in answer["results"]]
        for_user = await get_json(http, "/recommendations", user=user, k=5)
        assert {phone["id"], sony["id"]}.isdisjoint(r["id"] for r in for_user["results"])
        assert (await http.get("/recommendations")).status_code == 422


async def test_health_and_metrics(pipeline: Pipeline, catalog: dict[str, ValidatedProduct]) -> None:
    async with client(pipeline) as http:
        await get_json(http, "/search", q="zzqx plorf")
        live = await get_json(http, "/health/live")
        assert live["status"] == "alive"
        ready = await get_json(http, "/health/ready")
        assert ready["ready"] and ready["dependencies"]["postgres"] == "up"
        text = (await http.get("/metrics")).text
        assert re.search(
            r'^catalog_search_requests_total\{endpoint="search",result="empty"\} [1-9]', text, re.M
        )
        assert "catalog_search_seconds_bucket" in text
        page = await http.get("/")
        assert page.status_code == 200 and "Buscar" in page.text


async def test_hot_queries_are_cached_and_runaway_queries_cancelled(
    stack: Stack, pipeline: Pipeline, catalog: dict[str, ValidatedProduct]
) -> None:
    settings = PostgresSettings(dsn=SecretStr(pipeline.dsn))
    pool = await create_pool(settings, min_size=1, max_size=2)
    client_redis = redis.Redis.from_url(stack.redis_url)
    try:
        cache = QueryCache(client_redis, f"ns-{pipeline.prefix}", ttl_s=30)
        search = CatalogSearch(pool, HashingEmbedder(), SearchSettings(), cache)
        first = await search.search(SearchRequest(q="samsung galaxy"))
        again = await search.search(SearchRequest(q="samsung galaxy"))
        assert not first.cached and again.cached
        assert again.model_copy(update={"cached": False}) == first
        # Every filter is part of the key.
        other = await search.search(SearchRequest(q="samsung galaxy", categories=["dairy"]))
        assert not other.cached and other.total == 0
        # A statement over its timeout is cancelled by Postgres, not waited for: another
        # session holds the catalog table locked, so the search cannot finish in time.
        hasty = CatalogSearch(pool, HashingEmbedder(), SearchSettings(statement_timeout_ms=300))
        blocker = await asyncpg.connect(pipeline.dsn)
        try:
            async with blocker.transaction():
                await blocker.execute("LOCK TABLE productos_maestros IN ACCESS EXCLUSIVE MODE")
                with pytest.raises(asyncpg.QueryCanceledError):
                    query = SearchRequest(q="negro samsung apple sony xiaomi")
                    await asyncio.wait_for(hasty.search(query), timeout=10)
        finally:
            await blocker.close()
    finally:
        await client_redis.aclose()
        await pool.close()
