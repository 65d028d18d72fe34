"""Getting listings in and seeing what came out: publish, wait, summary."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from catalog.cli.common import EXIT_PROBLEM, EXIT_UNREACHABLE, console, err, fail, load_settings
from catalog.cli.listing_files import RETAILER_HELP, read_listings, report_ignored
from catalog.cli.status import service_url
from catalog.kafka.codec import encode
from catalog.kafka.topics import RAW
from catalog.settings import Settings
from schemas.models import RawListing


async def _publish(settings: Settings, listings: list[RawListing]) -> None:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka.bootstrap, linger_ms=5, acks="all")
    await producer.start()
    try:
        with Progress(
            TextColumn("publishing"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
            disable=not console.is_terminal,
        ) as progress:
            task = progress.add_task("publish", total=len(listings))
            pending = []
            for listing in listings:
                pending.append(
                    await producer.send(
                        RAW.full_name(settings.kafka),
                        key=listing.listing_key.encode(),
                        value=encode(listing),
                    )
                )
                if len(pending) >= 500:
                    await asyncio.gather(*pending)
                    progress.advance(task, len(pending))
                    pending.clear()
            await asyncio.gather(*pending)
            progress.advance(task, len(pending))
    finally:
        await producer.stop()


def publish(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="JSONL, JSON, CSV or .xlsx")
    ],
    wait: Annotated[bool, typer.Option(help="wait until every listing is accounted for")] = False,
    timeout: Annotated[float, typer.Option(help="seconds to wait with --wait")] = 300.0,
    retailer: Annotated[str | None, typer.Option(help=RETAILER_HELP)] = None,
) -> None:
    """Validate and publish raw listings to products.raw.v1 (JSONL, JSON, CSV or .xlsx; a store's
    own column names are mapped to the contract's)."""
    settings = load_settings()
    started = datetime.now(UTC)
    read = read_listings(file, retailer)
    report_ignored(file, read.ignored)
    for number, problem in read.errors[:50]:
        err.print(f"{file}:{number}: {problem}")
    if read.errors:
        err.print(f"[yellow]{len(read.errors)} invalid line(s) not published[/yellow]")
    try:
        asyncio.run(_publish(settings, read.listings))
    except Exception as exc:
        raise fail(
            f"could not publish to {settings.kafka.bootstrap}: {exc}", EXIT_UNREACHABLE
        ) from exc
    console.print(f"published {len(read.listings)} listing(s) from {file}")
    if wait:
        keys = [listing.listing_key for listing in read.listings]
        done = asyncio.run(wait_accounted(settings, keys, started, timeout))
        console.print(
            f"{done} of {len(set(keys))} listings accounted for "
            "(persisted, in review or dead-lettered)"
        )
        if done < len(set(keys)):
            raise fail(f"only {done} of {len(set(keys))} listings accounted for after {timeout}s")
    if read.errors:
        raise typer.Exit(EXIT_PROBLEM)


async def accounted(settings: Settings, keys: list[str], since: datetime) -> int:
    """How many of `keys` were persisted, queued for review or dead-lettered since `since`."""
    import asyncpg

    conn = await asyncpg.connect(settings.postgres.dsn.get_secret_value())
    try:
        value = await conn.fetchval(
            """WITH wanted AS (SELECT unnest($1::text[]) AS k)
               SELECT count(*) FROM wanted w WHERE
                   EXISTS (SELECT 1 FROM listings l WHERE l.listing_key = w.k
                           AND l.persisted_at >= $2)
                OR EXISTS (SELECT 1 FROM review_items r WHERE r.listing_key = w.k
                           AND r.queued_at >= $2)
                OR EXISTS (SELECT 1 FROM dead_letters d
                           WHERE d.key_b64 = encode(convert_to(w.k, 'UTF8'), 'base64')
                           AND d.failed_at >= $2)""",
            keys,
            since,
        )
        return int(value)
    finally:
        await conn.close()


async def wait_accounted(
    settings: Settings, keys: list[str], since: datetime, timeout_s: float
) -> int:
    unique = sorted(set(keys))
    deadline = time.monotonic() + timeout_s
    done = 0
    with Progress(
        TextColumn("normalizing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not console.is_terminal,
    ) as progress:
        task = progress.add_task("wait", total=len(unique))
        while time.monotonic() < deadline:
            done = await accounted(settings, unique, since)
            progress.update(task, completed=done)
            if done >= len(unique):
                break
            await asyncio.sleep(1.0)
    return done


async def collect_summary(settings: Settings) -> dict[str, Any]:
    import asyncpg

    conn = await asyncpg.connect(settings.postgres.dsn.get_secret_value())
    try:
        listings = await conn.fetchval("SELECT count(*) FROM listings")
        products = await conn.fetchval("SELECT count(*) FROM productos_maestros WHERE active")
        offers = await conn.fetchval("SELECT count(*) FROM precios_actuales")
        multi = await conn.fetchval(
            "SELECT count(*) FROM (SELECT product_id FROM precios_actuales GROUP BY product_id "
            "HAVING count(*) > 1) t"
        )
        by_source = {
            r["source"]: r["n"]
            for r in await conn.fetch("SELECT source, count(*) AS n FROM listings GROUP BY 1")
        }
        calls = [
            dict(r)
            for r in await conn.fetch(
                """SELECT model, CASE WHEN batch_id IS NULL THEN 'sync' ELSE 'batch' END AS mode,
                          count(*) AS requests, coalesce(sum(cost_usd), 0)::float AS cost_usd
                   FROM llm_batch_items WHERE status = 'done' GROUP BY 1, 2 ORDER BY 1, 2"""
            )
        ]
        batches = await conn.fetchval("SELECT count(*) FROM llm_batches")
        spent = await conn.fetchval("SELECT coalesce(sum(cost_usd), 0)::float FROM llm_spend")
        review = await conn.fetchval("SELECT count(*) FROM review_items WHERE status = 'pending'")
        dlq = await conn.fetchval("SELECT count(*) FROM dead_letters")
        dlq_raw = await conn.fetchval("SELECT count(*) FROM dead_letters WHERE service = 'router'")
    finally:
        await conn.close()
    return {
        # Every raw listing ends persisted, in review or dead-lettered by the router.
        "listings_in": listings + review + dlq_raw,
        "listings": listings,
        "master_products": products,
        "offers": offers,
        "offers_per_product": round(offers / products, 2) if products else 0.0,
        "products_with_2plus_offers": multi,
        "answered_by": by_source,
        "llm_calls": calls,
        "batches": batches,
        "llm_cost_usd": round(spent, 6),
        "review_pending": review,
        "dead_letters": dlq,
        # Where shoppers search the catalog (the search service's web page).
        "search_page": f"{service_url(settings, 'search')}/",
    }


def summary(
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """What the platform holds now: products, offers, cache levels, LLM calls, cost, DLQ, review."""
    settings = load_settings()
    try:
        data = asyncio.run(collect_summary(settings))
    except OSError as exc:
        raise fail(f"Postgres unreachable ({exc})", EXIT_UNREACHABLE) from exc
    if as_json:
        console.print_json(json.dumps(data))
        return
    table = Table(title="Catalog summary", show_header=False)
    table.add_row("listings in", str(data["listings_in"]))
    table.add_row("listings persisted", str(data["listings"]))
    table.add_row("master products", str(data["master_products"]))
    table.add_row("offers", str(data["offers"]))
    table.add_row("offers per product", f"{data['offers_per_product']:.2f}")
    table.add_row("products with 2+ offers", str(data["products_with_2plus_offers"]))
    labels = {
        "rules": "rules tier (no LLM)",
        "l1": "cache L1 (Redis)",
        "l2": "cache L2 (pgvector)",
        "l3": "cache L3 (Postgres)",
        "llm": "LLM",
    }
    for source, label in labels.items():
        table.add_row(f"answered by {label}", str(data["answered_by"].get(source, 0)))
    for call in data["llm_calls"]:
        table.add_row(
            f"LLM {call['model']} ({call['mode']})",
            f"{call['requests']} requests, {call['cost_usd']:.6f} USD",
        )
    table.add_row("provider batches", str(data["batches"]))
    table.add_row("LLM cost (USD)", f"{data['llm_cost_usd']:.6f}")
    table.add_row("review queue", str(data["review_pending"]))
    table.add_row("dead letters", str(data["dead_letters"]))
    table.add_row("search page", data["search_page"])
    console.print(table)
