"""A small catalog for the search tests, loaded through the persister (products.validated.v1),
and an HTTP client for the search service of a pipeline."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from catalog.domain.identity import input_fingerprint, product_fingerprint
from catalog.kafka.topics import VALIDATED
from schemas.models import AttributeValue, RawListing, Usage, ValidatedProduct
from tests.integration.harness import Pipeline, wait_until

T0 = datetime(2025, 11, 18, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Item:
    retailer: str
    name: str
    price: int
    brand: str
    model: str
    category: str
    attributes: dict[str, AttributeValue]
    stock: str = "in_stock"


# Real-looking listings: the same phone at two stores, and products of other categories.
CATALOG: tuple[Item, ...] = (
    Item("paris", "Samsung Galaxy S24 Ultra 256GB Titanio Negro", 1_099_990, "Samsung",
         "Galaxy S24 Ultra", "smartphones", {"storage_gb": 256}),
    Item("falabella", "Smartphone Samsung Galaxy S24 Ultra 256 GB Negro", 1_049_990, "Samsung",
         "Galaxy S24 Ultra", "smartphones", {"storage_gb": 256}),
    Item("ripley", "Apple iPhone 15 128GB Azul", 799_990, "Apple", "iPhone 15", "smartphones",
         {"storage_gb": 128}),
    Item("lider", "Xiaomi Redmi Note 13 128GB Negro", 189_990, "Xiaomi", "Redmi Note 13",
         "smartphones", {"storage_gb": 128}),
    Item("jumbo", "Café Molido Juan Valdez Clásico 250 g", 5_990, "Juan Valdez",
         "Clásico Molido 250 g", "groceries", {}),
    Item("lider", "Leche Semidescremada Colún 1 L", 1_090, "Colún", "Semidescremada 1 L",
         "dairy", {}),
    Item("paris", "Audífonos Sony WH-1000XM5 Bluetooth Negro", 299_990, "Sony", "WH-1000XM5",
         "headphones", {}, "out_of_stock"),
    Item("falabella", "Audífonos Sony WH-1000XM5 Inalámbricos", 319_990, "Sony", "WH-1000XM5",
         "headphones", {}),
)  # fmt: skip


def validated(
    item: Item, sku: str, price: int | None = None, seen: datetime = T0
) -> ValidatedProduct:
    listing = RawListing(
        retailer=item.retailer,
        sku=sku,
        name=item.name,
        price=price if price is not None else item.price,
        category=item.category,
        scraped_at=seen,
        url=f"https://www.{item.retailer}.cl/p/{sku}",
        stock_status=item.stock,  # type: ignore[arg-type]
    )
    return ValidatedProduct(
        listing=listing,
        input_fingerprint=input_fingerprint(item.name, item.category, "test"),
        product_fingerprint=product_fingerprint(
            item.brand, item.model, item.category, item.attributes
        ),
        brand=item.brand,
        model=item.model,
        normalized_name=f"{item.brand} {item.model}",
        category=item.category,
        attributes=item.attributes,
        confidence=0.93,
        source="llm",
        tier="mini",
        model_used="gpt-5-mini",
        prompt_version="norm-ia-v2.0",
        usage=Usage(prompt_tokens=50, completion_tokens=20),
        cost_usd=0.00002,
        custom_id=f"{uuid.uuid4().hex[:16]}-a1",
        validated_at=seen,
    )


async def load_catalog(pipeline: Pipeline) -> dict[str, ValidatedProduct]:
    """Every item of CATALOG through the persister; returns the messages by listing key once
    each listing has its offer."""
    messages = {}
    for index, item in enumerate(CATALOG):
        message = validated(item, f"sku{index}-{uuid.uuid4().hex[:6]}")
        messages[message.listing.listing_key] = message
    await pipeline.produce(VALIDATED, list(messages.items()))

    async def all_placed() -> bool:
        conn = await pipeline.db()
        try:
            placed = await conn.fetchval(
                "SELECT count(*) FROM precios_actuales pa JOIN listings l "
                "ON l.product_id = pa.product_id AND l.retailer = pa.retailer "
                "WHERE l.listing_key = ANY($1)",
                list(messages),
            )
        finally:
            await conn.close()
        return bool(placed == len(messages))

    await wait_until(all_placed, 120)
    return messages


def client(pipeline: Pipeline) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{pipeline.web_port('search')}", timeout=10.0
    )


async def get_json(http: httpx.AsyncClient, path: str, **params: Any) -> Any:
    response = await http.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()
