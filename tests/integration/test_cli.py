"""The operator CLI against a live pipeline: publish, summary, status, batches."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from catalog import cli
from catalog.cli.listing_files import derived_sku
from catalog.devstack.stack import Stack
from catalog.kafka.topics import RAW
from catalog.settings import get_settings
from schemas.models import RawListing
from tests.integration.harness import BATCH_PATH_ENV, Pipeline, start_pipeline, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]


@pytest.fixture(scope="module")
async def pipeline(stack: Stack) -> AsyncIterator[Pipeline]:
    p = await start_pipeline(stack, BATCH_PATH_ENV)
    try:
        yield p
    finally:
        p.stop()


async def catalog(p: Pipeline, *args: str) -> Result:
    env = {**p.stack.env(p.prefix), **p.env(), "COLUMNS": "200"}
    get_settings.cache_clear()
    try:
        # The CLI runs its own event loop: give it a thread of its own.
        return await asyncio.to_thread(CliRunner().invoke, cli.app, list(args), env=env)
    finally:
        get_settings.cache_clear()


async def test_publish_reports_bad_lines_and_waits_for_the_rest(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    run = uuid.uuid4().hex[:6]
    feed = tmp_path / "feed.jsonl"
    good = [
        {"retailer": "lider", "sku": f"L-{run}", "name": "Leche Entera Colun 1 L", "price": 1090,
         "category": "Lácteos"},
        {"retailer": "jumbo", "sku": f"J-{run}", "name": "Harina Selecta Sin Polvos 1 kg",
         "price": "$1.290", "category": "Despensa", "brand": "Selecta"},
    ]  # fmt: skip
    bad_price = {"retailer": "paris", "sku": "y", "name": "TV", "price": "gratis"}
    lines = [json.dumps(good[0]), '{"retailer": "lider", "sku": "x"', json.dumps(good[1]),
             json.dumps(bad_price)]  # fmt: skip
    feed.write_text("\n".join(lines) + "\n")

    result = await catalog(pipeline, "publish", str(feed), "--wait", "--timeout", "120")
    assert result.exit_code == 1, result.output  # bad lines make it a partial success
    assert f"{feed}:2: not JSON" in result.output
    assert f"{feed}:4: price" in result.output
    assert "published 2 listing(s)" in result.output
    assert "2 of 2 listings accounted for" in result.output

    summary = await catalog(pipeline, "summary", "--json")
    assert summary.exit_code == 0, summary.output
    data = json.loads(summary.output)
    assert data["listings"] >= 2 and data["listings_in"] >= 2

    status = await catalog(pipeline, "status", "--json")
    assert status.exit_code == 0, status.output
    report = json.loads(status.output)
    assert all(s["ready"] for s in report["services"].values())
    assert report["consumer_lag"]["router:products.raw.v1"] == 0
    assert report["budget_usd"] == 100.0

    batches = await catalog(pipeline, "batches", "list")
    assert batches.exit_code == 0, batches.output
    conn = await pipeline.db()
    try:
        batch_id = await conn.fetchval("SELECT batch_id FROM llm_batches LIMIT 1")
    finally:
        await conn.close()
    assert batch_id is not None and batch_id in batches.output
    shown = await catalog(pipeline, "batches", "show", batch_id)
    assert shown.exit_code == 0 and "status" in shown.output
    retried = await catalog(pipeline, "batches", "retry", batch_id)
    assert retried.exit_code == 1 and "0 item(s)" in retried.output
    missing = await catalog(pipeline, "batches", "show", "no-such-batch")
    assert missing.exit_code == 1 and "catalog batches list" in missing.output


async def test_publish_takes_a_store_s_spreadsheet_export(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    run = uuid.uuid4().hex[:6]
    store = f"tottus-{run}"
    feed = tmp_path / "tottus.csv"
    # Semicolons, a byte-order mark, Spanish headers, no sku, a column the contract lacks.
    feed.write_text(
        f"Tienda;Título;Precio;Disponible\n{store};Leche Colun Entera 1 L;$2.490;sí\n",
        encoding="utf-8-sig",
    )
    result = await catalog(pipeline, "publish", str(feed), "--wait", "--timeout", "120")
    assert result.exit_code == 0, result.output
    assert "ignored (no such field): Disponible" in result.output
    assert "1 of 1 listings accounted for" in result.output
    conn = await pipeline.db()
    try:
        row = await conn.fetchrow(
            "SELECT listing_key, price FROM listings WHERE listing_key LIKE $1", f"{store}:%"
        )
    finally:
        await conn.close()
    assert row is not None and row["price"] == 2490
    assert row["listing_key"] == f"{store}:{derived_sku({'name': 'Leche Colun Entera 1 L'})}"


async def test_normalize_with_cache_answers_from_what_the_pipeline_stored(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    run = uuid.uuid4().hex[:6]
    stored = RawListing(retailer="unimarc", sku=f"U-{run}", name="Leche Descremada Soprole 1 L",
                        price=1190, category="Lácteos")  # fmt: skip
    await pipeline.produce(RAW, [(stored.listing_key, stored)])

    async def persisted() -> bool:
        conn = await pipeline.db()
        try:
            sql = "SELECT count(*) FROM listings WHERE listing_key = $1"
            return bool(await conn.fetchval(sql, stored.listing_key))
        finally:
            await conn.close()

    await wait_until(persisted, 90)
    feed = tmp_path / "in.jsonl"
    other = stored.model_copy(update={"retailer": "lider", "sku": f"L2-{run}"})
    feed.write_text(other.model_dump_json() + "\n")
    out = tmp_path / "out.jsonl"
    # --no-resolve: the cached answer's own fingerprint, not a master of the in-memory catalog
    # (which holds only this file's listings).
    result = await catalog(pipeline, "normalize", str(feed), "-o", str(out), "--cache",
                           "--llm", "none", "--no-resolve")  # fmt: skip
    assert result.exit_code == 0, result.output
    [line] = [json.loads(x) for x in out.read_text().splitlines()]
    assert line["source"] in ("l1", "l2", "l3"), line
    conn = await pipeline.db()
    try:
        master = await conn.fetchrow(
            "SELECT p.brand, p.category_id FROM listings l "
            "JOIN productos_maestros p ON p.id = l.product_id WHERE l.listing_key = $1",
            stored.listing_key,
        )
    finally:
        await conn.close()
    # The cached normalization is the one the pipeline's master was made from (master ids
    # themselves are assigned by resolution, against each catalog).
    assert (line["brand"], line["category"]) == (master["brand"], master["category_id"])


async def test_migrate_and_topics_create_are_idempotent(pipeline: Pipeline) -> None:
    migrated = await catalog(pipeline, "migrate")
    assert migrated.exit_code == 0, migrated.output
    assert "applied 0 migration(s): none pending" in migrated.output
    created = await catalog(pipeline, "topics", "create")
    assert created.exit_code == 0, created.output
    assert "created 0 topic(s): all existed" in created.output


async def test_unreachable_postgres_is_one_line_and_exit_code_3(pipeline: Pipeline) -> None:
    env = {**pipeline.stack.env(pipeline.prefix), **pipeline.env(), "COLUMNS": "200",
           "CATALOG_POSTGRES__DSN": "postgresql://postgres@127.0.0.1:1/none"}  # fmt: skip
    get_settings.cache_clear()
    try:
        result = await asyncio.to_thread(CliRunner().invoke, cli.app, ["summary"], env=env)
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 3
    assert result.output.startswith("error: Postgres unreachable")
