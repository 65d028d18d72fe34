"""What search answers: requests, hits, facets, product pages. Plain pydantic models, so the
HTTP layer serialises them as they are and the hot-query cache stores them as JSON."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

Sort = Literal["relevance", "price_asc"]

# Offers a shopper can buy now: an unknown stock state counts (most stores do not publish one).
UNAVAILABLE_STOCK = ("out_of_stock", "preorder")


class SearchRequest(BaseModel):
    q: str = ""
    categories: list[str] = Field(default_factory=list)
    brands: list[str] = Field(default_factory=list)
    price_min: int | None = None
    price_max: int | None = None
    sort: Sort = "relevance"
    page: int = 1
    page_size: int = 20

    def cache_key(self) -> str:
        data = self.model_dump()
        data["categories"] = sorted(self.categories)
        data["brands"] = sorted(self.brands)
        return str(sorted(data.items()))


class Offer(BaseModel):
    retailer: str
    price: int
    price_original: int | None = None
    currency: str = "CLP"
    stock_status: str = "unknown"
    url: str | None = None
    last_seen: datetime | None = None


class Hit(BaseModel):
    id: str
    name: str
    brand: str
    model: str
    category: str
    category_name: str
    offer_count: int
    best_offer: Offer | None
    score: float
    # Which signals found it (fts, trigram, vector): for debugging and the evaluation.
    matched_by: list[str] = Field(default_factory=list)


class FacetValue(BaseModel):
    value: str
    label: str
    count: int


class Facets(BaseModel):
    category: list[FacetValue] = Field(default_factory=list)
    brand: list[FacetValue] = Field(default_factory=list)
    price: list[FacetValue] = Field(default_factory=list)


class SearchPage(BaseModel):
    query: str
    total: int
    page: int
    page_size: int
    sort: Sort
    results: list[Hit]
    facets: Facets
    cached: bool = False


class PricePoint(BaseModel):
    retailer: str
    price: int
    observed_at: datetime


class ProductPage(BaseModel):
    id: str
    name: str
    brand: str
    model: str
    category: str
    category_name: str
    attributes: dict[str, Any]
    gtin: str | None
    offers: list[Offer]
    price_history: list[PricePoint]
    # The id asked for, when it was a master merged into this one.
    merged_from: str | None = None


class Recommendation(BaseModel):
    id: str
    name: str
    brand: str
    category: str
    best_offer: Offer | None
    score: float


class Recommendations(BaseModel):
    user: str | None
    product: str | None
    strategy: str
    results: list[Recommendation]
