"""The web page in a real browser: headless Chromium from Debian's `chromium` package, driven by
Playwright (never a downloaded browser; `.ci/run` installs the package).

A shopper searches, narrows the results with a facet, opens a product and sees every store's
offer and the price-history chart. Screenshots are saved under the test's output directory.
Without chromium the test is skipped on a developer's machine, but fails in CI (CI=true).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from catalog.devstack.stack import Stack
from catalog.kafka.topics import VALIDATED
from schemas.models import ValidatedProduct
from tests.integration.harness import Pipeline, start_pipeline, wait_until
from tests.integration.search_support import CATALOG, T0, client, get_json, load_catalog, validated

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium() -> str:
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        message = "chromium is not installed (Debian: apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}; .ci/run installs it, so CI must have it")
        pytest.skip(message)
    return CHROMIUM if os.path.exists(CHROMIUM) else str(shutil.which("chromium"))


@pytest.fixture(scope="module")
async def pipeline(stack: Stack) -> AsyncIterator[Pipeline]:
    p = await start_pipeline(
        stack, {"CATALOG_SEARCH__CACHE_TTL_S": "0"}, services=("persister", "search")
    )
    try:
        yield p
    finally:
        p.stop()


@pytest.fixture(scope="module")
async def catalog(pipeline: Pipeline) -> dict[str, ValidatedProduct]:
    messages = await load_catalog(pipeline)
    # One store lowers its price a day later: the chart has a step to draw.
    key, first = next((k, m) for k, m in messages.items() if m.listing.retailer == "paris")
    item = next(i for i in CATALOG if i.name == first.listing.name)
    await pipeline.produce(
        VALIDATED,
        [(key, validated(item, first.listing.sku, item.price - 50_000, T0 + timedelta(days=1)))],
    )

    async def changed() -> bool:
        conn = await pipeline.db()
        try:
            rows = await conn.fetchval(
                "SELECT count(*) FROM price_history WHERE listing_key = $1", key
            )
        finally:
            await conn.close()
        return bool(rows == 2)

    await wait_until(changed, 60)
    return messages


async def test_search_filter_and_product_page_in_chromium(
    pipeline: Pipeline, catalog: dict[str, ValidatedProduct], tmp_path: Path
) -> None:
    from playwright.async_api import async_playwright, expect

    base = f"http://127.0.0.1:{pipeline.web_port('search')}"
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1200, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))

            # Search.
            await page.goto(base + "/")
            await page.fill("#q", "negro")
            await page.click("#search-button")
            await page.wait_for_url("**/?q=negro")
            results = page.locator("#results li.result")
            await expect(results.first).to_be_visible()
            before = await results.count()
            assert before >= 3

            # Filter with the category facet: fewer results, all smartphones, and the facet's
            # count is the number shown.
            facet = page.locator('[data-facet="category"] a[data-value="smartphones"]')
            facet_count = int(await facet.locator(".count").inner_text())
            await facet.click()
            await page.wait_for_url("**category=smartphones**")
            await expect(page.locator('[data-facet="category"] a.selected')).to_have_count(1)
            await expect(results).to_have_count(facet_count)
            assert facet_count < before
            metas = await results.locator(".meta").all_inner_texts()
            assert all("Smartphones" in m for m in metas if "·" in m), metas
            await page.screenshot(path=str(tmp_path / "search.png"), full_page=True)

            # Open the product sold by two stores (one of which changed its price).
            first = results.filter(has_text="2 tiendas").first.locator("a.name")
            name = await first.inner_text()
            await first.click()
            await page.wait_for_url("**/producto/**")
            await expect(page.locator("#product-name")).to_have_text(name)
            product_id = page.url.rsplit("/", 1)[-1]
            async with client(pipeline) as http:
                api = await get_json(http, f"/products/{product_id}")

            # Every store's offer, cheapest first, as the API has them.
            rows = page.locator("#offers tbody tr")
            await expect(rows).to_have_count(len(api["offers"]))
            shown = [r.strip() for r in await rows.locator("td:first-child").all_inner_texts()]
            assert shown == [o["retailer"] for o in api["offers"]]

            # The chart: one line per store with history, and its points.
            chart = page.locator("#price-chart")
            await expect(chart).to_be_visible()
            stores = {p["retailer"] for p in api["price_history"]}
            await expect(chart.locator("path.series")).to_have_count(len(stores))
            await expect(chart.locator("circle")).to_have_count(len(api["price_history"]))
            box = await chart.bounding_box()
            assert box is not None and box["width"] > 300 and box["height"] > 100
            await page.wait_for_selector("body[data-loaded=true]")
            screenshot = tmp_path / "product.png"
            await page.screenshot(path=str(screenshot), full_page=True)
            assert screenshot.stat().st_size > 10_000
            assert not errors, errors
        finally:
            await browser.close()
