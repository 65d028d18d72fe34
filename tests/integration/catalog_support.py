"""What the catalog's integration tests share: validated products built by hand, rows read
from the pipeline's database, and the `catalog` CLI run against the pipeline."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

from typer.testing import CliRunner, Result

from catalog.cli import app
from catalog.domain.identity import input_fingerprint, product_fingerprint
from catalog.settings import get_settings
from schemas.models import AttributeValue, RawListing, ValidatedProduct
from tests.integration.harness import Pipeline

# When the hand-built listings were seen, unless a test says otherwise.
T0 = datetime(2025, 11, 20, 10, 0, tzinfo=UTC)


def validated_product(
    retailer: str,
    name: str,
    price: int,
    *,
    brand: str,
    model: str,
    category: str,
    seen: datetime = T0,
    attributes: dict[str, AttributeValue] | None = None,
    sku: str | None = None,
    ean: str | None = None,
) -> ValidatedProduct:
    """A rules-tier `ValidatedProduct` of a listing seen at `seen` (a random sku unless given)."""
    attributes = attributes or {}
    listing = RawListing(
        retailer=retailer,
        sku=sku or uuid.uuid4().hex[:10],
        name=name,
        price=price,
        scraped_at=seen,
        ean=ean,
    )
    return ValidatedProduct(
        listing=listing,
        input_fingerprint=input_fingerprint(name, category, "test"),
        product_fingerprint=product_fingerprint(brand, model, category, attributes),
        brand=brand,
        model=model,
        normalized_name=f"{brand.title()} {model}",
        category=category,
        attributes=attributes,
        confidence=0.9,
        source="rules",
        tier="rules",
        prompt_version="norm-ia-v2.0",
        validated_at=seen,
    )


async def rows(p: Pipeline, sql: str, *args: object) -> list[dict[str, Any]]:
    """The rows of `sql` in the pipeline's database, as dicts."""
    conn = await p.db()
    try:
        return [dict(r) for r in await conn.fetch(sql, *args)]
    finally:
        await conn.close()


async def cli(p: Pipeline, *args: str) -> Result:
    """Run `catalog ARGS` against the pipeline (in a thread: the CLI runs its own event loop)."""
    env = {**p.stack.env(p.prefix), **p.env(), "COLUMNS": "250"}

    def invoke() -> Result:
        get_settings.cache_clear()
        try:
            return CliRunner().invoke(app, list(args), env=env)
        finally:
            get_settings.cache_clear()

    return await asyncio.to_thread(invoke)
