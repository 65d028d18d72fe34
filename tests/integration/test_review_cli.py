"""The fallback chain through the real services, the review queue and dead-letter replay.

One pipeline (router, cache-lookup, batch-builder on the synchronous path, validator,
persister) talks to its own LLM emulator, whose faults each test sets. The operator's side is
the `catalog` CLI driven with typer's runner, pointed at the pipeline by environment variables.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from catalog.devstack.stack import Stack
from catalog.kafka.topics import RAW, REVIEW
from openai_emulator import EmulatorConfig, Faults, run_in_background
from openai_emulator.server import EmulatorHandle
from schemas.models import RawListing, ReviewItem
from tests.integration.catalog_support import cli, rows
from tests.integration.harness import Pipeline, start_pipeline, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

SERVICES = ("router", "cache_lookup", "batch_builder", "validator", "persister")
MINI_LOW = Faults.model_validate({"per_model": {"gpt-5-mini": {"low_confidence_rate": 1.0}}})
ALL_LOW = Faults(low_confidence_rate=1.0)


@pytest.fixture(scope="module")
async def emulator() -> AsyncIterator[EmulatorHandle]:
    handle = await run_in_background(EmulatorConfig(faults=MINI_LOW), port=0)
    try:
        yield handle
    finally:
        await handle.stop()


@pytest.fixture(scope="module")
async def pipeline(stack: Stack, emulator: EmulatorHandle) -> AsyncIterator[Pipeline]:
    p = await start_pipeline(
        stack,
        {
            "CATALOG_LLM__BASE_URL": emulator.base_url,
            # Small backlogs: every request goes through chat completions.
            "CATALOG_LLM__SYNC_THRESHOLD": "1000",
            "CATALOG_LLM__BATCH_MAX_AGE_S": "0.3",
        },
        services=SERVICES,
    )
    try:
        yield p
    finally:
        p.stop()


def set_faults(emulator: EmulatorHandle, faults: Faults) -> None:
    emulator.emulator.injector.replace(faults)


def listing(retailer: str, sku: str, name: str, price: int, **extra: object) -> RawListing:
    return RawListing.model_validate(
        {"retailer": retailer, "sku": sku, "name": name, "price": price, **extra}
    )


async def persisted(p: Pipeline, key: str) -> dict[str, Any] | None:
    found = await rows(
        p,
        """SELECT l.source, l.product_id, p.brand, p.model, p.category_id, p.attributes,
                  p.normalized_name
           FROM listings l JOIN productos_maestros p ON p.id = l.product_id
           WHERE l.listing_key = $1""",
        key,
    )
    return found[0] if found else None


async def items_for(p: Pipeline, sku: str) -> list[dict[str, Any]]:
    return await rows(
        p,
        "SELECT model, status, (request->>'attempt')::int AS attempt FROM llm_batch_items "
        "WHERE request->'routed'->'listing'->>'sku' = $1 ORDER BY 3",
        sku,
    )


# ------------------------------------------------------------------ the fallback chain


async def test_low_confidence_mini_answer_is_redone_by_the_full_model(
    pipeline: Pipeline, emulator: EmulatorHandle
) -> None:
    set_faults(emulator, MINI_LOW)
    sku = f"F-{uuid.uuid4().hex[:8]}"
    # A brand the rules only know from the retailer's field: routed to the mini model.
    item = listing(
        "falabella",
        sku,
        "Harina Sin Polvos Selecta 1 Kg",
        1990,
        category="Despensa",
        brand="Selecta",
    )
    await pipeline.produce(RAW, [(item.listing_key, item)])
    found = await wait_until(lambda: persisted(pipeline, item.listing_key), 120)
    assert found["source"] == "llm"
    assert (found["brand"], found["category_id"]) == ("SELECTA", "groceries")
    assert found["attributes"]["weight_g"] == 1000
    # Two calls: the mini model (answered with low confidence), then the full model.
    calls = await items_for(pipeline, sku)
    assert [(c["model"], c["attempt"]) for c in calls] == [("gpt-5-mini", 1), ("gpt-5", 2)]
    cached = await rows(
        pipeline,
        "SELECT model_used, source, confidence FROM ai_metadata_cache "
        "WHERE product_raw->>'sku' = $1",
        sku,
    )
    assert [(c["model_used"], c["source"]) for c in cached] == [("gpt-5", "llm")]
    assert float(cached[0]["confidence"]) >= 0.75
    assert "low_confidence" in pipeline.metrics("validator")


async def test_every_tier_failing_sends_the_listing_to_review(
    pipeline: Pipeline, emulator: EmulatorHandle
) -> None:
    set_faults(emulator, ALL_LOW)
    run = uuid.uuid4().hex[:8]
    headphones = listing(
        "paris",
        f"P-{run}",
        "Audifonos Bluetooth Inalambricos Deportivos",
        19990,
        category="Audífonos",
    )
    tools = listing("ripley", f"R-{run}", "Kit Herramientas Varias 40 piezas", 19990)
    await pipeline.produce(RAW, [(x.listing_key, x) for x in (headphones, tools)])

    async def queued() -> list[dict[str, Any]] | None:
        found = await rows(
            pipeline,
            "SELECT * FROM review_items WHERE listing_key = ANY($1) ORDER BY listing_key",
            [headphones.listing_key, tools.listing_key],
        )
        return found if len(found) == 2 else None

    review_rows = await wait_until(queued, 120)
    by_key = {r["listing_key"]: r for r in review_rows}
    row = by_key[headphones.listing_key]
    assert row["status"] == "pending" and row["attempts"] == 2
    reasons: list[str] = row["reasons"]
    # Every reason on the way: the mini model's, the full model's, then the rules'.
    sources = [r.split(": ")[0] for r in reasons]
    assert list(dict.fromkeys(sources)) == ["gpt-5-mini", "gpt-5", "rules"]
    assert sources == sorted(sources, key=["gpt-5-mini", "gpt-5", "rules"].index)
    assert reasons[0].startswith("gpt-5-mini: missing_brand")
    assert "gpt-5-mini: low_confidence: 0.30 < 0.75" in reasons
    assert "gpt-5: low_confidence: 0.30 < 0.75" in reasons
    assert {r for r in reasons if r.startswith("rules: ")} == {
        "rules: missing_brand: no brand",
        "rules: low_confidence: 0.68 < 0.75",
    }
    assert row["best_answer"]["category"] == "headphones"
    assert await persisted(pipeline, headphones.listing_key) is None
    # The same item is on products.review.v1.
    items = [
        m
        for m in await pipeline.read_models(REVIEW)
        if isinstance(m, ReviewItem) and m.listing.listing_key == headphones.listing_key
    ]
    assert len(items) == 1 and items[0].reasons == reasons
    calls = await items_for(pipeline, headphones.sku)
    assert [c["model"] for c in calls] == ["gpt-5-mini", "gpt-5"]


# ------------------------------------------------------------------ the review workflow


async def test_review_list_show_reject_and_accept_a_correction(
    pipeline: Pipeline, emulator: EmulatorHandle
) -> None:
    set_faults(emulator, ALL_LOW)
    pending = await rows(
        pipeline, "SELECT listing_key FROM review_items WHERE status = 'pending' ORDER BY 1"
    )
    keys = [r["listing_key"] for r in pending]
    headphones = next(k for k in keys if k.startswith("paris:"))
    tools = next(k for k in keys if k.startswith("ripley:"))

    listed = await cli(pipeline, "review", "list")
    assert listed.exit_code == 0, listed.output
    assert headphones in listed.output and tools in listed.output
    assert "Audifonos Bluetooth Inalambricos Deportivos" in listed.output
    assert "gpt-5-mini: missing_brand" in listed.output

    shown = await cli(pipeline, "review", "show", headphones)
    assert shown.exit_code == 0, shown.output
    assert "rules: low_confidence: 0.68 < 0.75" in shown.output
    assert '"category": "headphones"' in shown.output

    missing = await cli(pipeline, "review", "show", "nowhere:1")
    assert missing.exit_code == 1 and "no review item" in missing.output

    rejected = await cli(pipeline, "review", "reject", tools, "--note", "not a catalog product")
    assert rejected.exit_code == 0, rejected.output
    (tools_row,) = await rows(
        pipeline, "SELECT status, note, resolved_at FROM review_items WHERE listing_key = $1", tools
    )
    assert tools_row["status"] == "rejected" and tools_row["note"] == "not a catalog product"
    assert tools_row["resolved_at"] is not None

    # A correction that does not pass the bar is refused and changes nothing.
    bad = await cli(
        pipeline,
        "review",
        "accept",
        headphones,
        "--brand",
        "JBL",
        "--model",
        "Endurance Run 2",
        "--attr",
        "headphone_type=plasma",
    )
    assert bad.exit_code == 1
    assert "invalid_attribute: headphone_type='plasma'" in bad.output
    assert not await rows(pipeline, "SELECT 1 FROM ai_metadata_cache WHERE source = 'review'")

    calls_before = len(await items_for(pipeline, headphones.split(":", 1)[1]))
    good = await cli(
        pipeline,
        "review",
        "accept",
        headphones,
        "--brand",
        "jbl",
        "--model",
        "Endurance Run 2",
        "--attr",
        "headphone_type=In Ear",
        "--note",
        "brand from the product page",
    )
    assert good.exit_code == 0, good.output
    assert "re-emitted" in good.output

    (cached,) = await rows(
        pipeline,
        "SELECT source, model_used, confidence, ai_response FROM ai_metadata_cache "
        "WHERE source = 'review'",
    )
    assert float(cached["confidence"]) == 1.0 and cached["model_used"] == "human"
    response = cached["ai_response"]
    assert (response["brand"], response["model"], response["category"]) == (
        "JBL",
        "Endurance Run 2",
        "headphones",
    )
    assert response["attributes"] == {"connectivity": "bluetooth", "headphone_type": "in_ear"}

    # The re-emitted listing flows again and is answered by the cache, with no new LLM call.
    found = await wait_until(lambda: persisted(pipeline, headphones), 120)
    assert found["source"] in ("l1", "l3")
    assert (found["brand"], found["model"], found["category_id"]) == (
        "JBL",
        "Endurance Run 2",
        "headphones",
    )
    assert len(await items_for(pipeline, headphones.split(":", 1)[1])) == calls_before
    (row,) = await rows(
        pipeline,
        "SELECT status, note, correction FROM review_items WHERE listing_key = $1",
        headphones,
    )
    assert row["status"] == "accepted" and row["note"] == "brand from the product page"
    assert row["correction"]["confidence"] == 1.0

    again = await cli(pipeline, "review", "accept", headphones, "--from-best")
    assert again.exit_code == 1 and "already accepted" in again.output
    history = await cli(pipeline, "review", "list", "--status", "all")
    assert "accepted" in history.output and "rejected" in history.output


# ------------------------------------------------------------------ dead letters


async def test_a_dead_letter_is_replayed_after_a_fix(pipeline: Pipeline, tmp_path: Path) -> None:
    sku = f"J-{uuid.uuid4().hex[:8]}"
    key = f"jumbo:{sku}"
    # No price: the router cannot accept it and dead-letters the original bytes.
    broken = json.dumps(
        {"retailer": "jumbo", "sku": sku, "name": "Coca Cola Original 2L", "category": "Bebidas"}
    ).encode()
    await pipeline.produce(RAW, [(key, broken)])

    async def letters() -> list[dict[str, Any]] | None:
        found = await rows(
            pipeline,
            "SELECT id, service, error_type, replayed_at FROM dead_letters "
            "WHERE convert_from(decode(key_b64, 'base64'), 'UTF8') = $1 ORDER BY id",
            key,
        )
        return found or None

    (letter,) = await wait_until(letters, 120)
    assert letter["service"] == "router" and letter["replayed_at"] is None

    listed = await cli(pipeline, "dlq", "list", "--service", "router")
    assert listed.exit_code == 0, listed.output
    assert key in listed.output
    shown = await cli(pipeline, "dlq", "show", str(letter["id"]))
    assert shown.exit_code == 0, shown.output
    assert "price" in shown.output and "Coca Cola Original 2L" in shown.output

    # Replaying the same bytes fails the same way: a new dead letter, the old one is stamped.
    same = await cli(pipeline, "dlq", "replay", "--all-from", "router")
    assert same.exit_code == 0, same.output
    first, second = await wait_until(lambda: _at_least(letters, 2), 120)
    assert first["replayed_at"] is not None and second["replayed_at"] is None

    fixed = tmp_path / "fixed.json"
    fixed.write_text(
        json.dumps(
            {
                "retailer": "jumbo",
                "sku": sku,
                "name": "Coca Cola Original 2L",
                "category": "Bebidas",
                "price": 2490,
            }
        )
    )
    replayed = await cli(pipeline, "dlq", "replay", str(second["id"]), "--value-file", str(fixed))
    assert replayed.exit_code == 0, replayed.output
    assert f"replayed {second['id']}" in replayed.output
    found = await wait_until(lambda: persisted(pipeline, key), 120)
    assert (found["brand"], found["category_id"]) == ("COCA-COLA", "beverages")
    assert found["attributes"]["volume_ml"] == 2000
    stamped = await rows(
        pipeline, "SELECT replayed_at, replay_count FROM dead_letters WHERE id = $1", second["id"]
    )
    assert stamped[0]["replayed_at"] is not None and stamped[0]["replay_count"] == 1
    assert len(await letters() or []) == 2

    twice = await cli(pipeline, "dlq", "replay", str(second["id"]))
    assert twice.exit_code == 1 and "already replayed" in twice.output
    usage = await cli(pipeline, "dlq", "replay")
    assert usage.exit_code == 2


async def _at_least(check: Any, count: int) -> Any:
    found = await check()
    return found if found and len(found) >= count else None
