"""Wire contracts: one pydantic model per topic.

These models are the only thing services share at run time. Every model forbids unknown fields and
carries `schema_version`, so a producer that drifts is rejected (and dead-lettered) instead of
silently misread. `python -m schemas` regenerates the JSON Schema files under `schemas/json/`
for producers that are not written in Python.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

AttributeValue = str | int | float | bool
Tier = Literal["rules", "mini", "full", "fallback"]
ResultSource = Literal["rules", "l1", "l2", "l3", "llm", "review"]

ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]

_PRICE_NOISE = re.compile(r"[\s$]|CLP", re.IGNORECASE)
_PRICE_CENTS = re.compile(r",\d{1,2}$")
_SPACES = re.compile(r"\s+")


def parse_clp(value: Any) -> int:
    """Parse a CLP amount the way Chilean sites print it: `$1.299.990`, `1299990`, `12.990,00`.

    CLP has no minor unit, so dots are thousands separators and a trailing `,dd` is dropped.
    """
    if isinstance(value, bool):
        raise ValueError("price must be a number, not a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("price must be finite")
        return round(value)
    if isinstance(value, str):
        text = _PRICE_NOISE.sub("", value)
        text = _PRICE_CENTS.sub("", text)
        text = text.replace(".", "").replace(",", "")
        if not text.isdigit() or len(text) > 15:
            raise ValueError(f"not a CLP amount: {value[:40]!r}")
        return int(text)
    raise ValueError(f"price must be a number or a string, got {type(value).__name__}")


def utcnow() -> datetime:
    return datetime.now(UTC)


class _Contract(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RawListing(_Contract):
    """What a retailer scraper publishes to `products.raw.v1`; field names follow the plan."""

    schema_version: Literal[1] = 1
    retailer: ShortText
    sku: ShortText
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=500)]
    category: Annotated[str, StringConstraints(max_length=200)] | None = None
    price: int | None = Field(
        default=None,
        description="Current price in CLP (integer pesos); absent when the page states none "
        "(the router refuses such a listing unless `routing.require_price` is off).",
    )
    price_original: int | None = Field(default=None, description="List price before discount.")
    currency: Literal["CLP"] = "CLP"
    ean: Annotated[str, StringConstraints(pattern=r"^\d{8,14}$")] | None = None
    brand: Annotated[str, StringConstraints(max_length=100)] | None = None
    url: Annotated[str, StringConstraints(max_length=2000)] | None = None
    stock_status: Literal["in_stock", "out_of_stock", "low_stock", "preorder", "unknown"] = (
        "unknown"
    )
    scraped_at: datetime | None = None
    attributes: dict[Annotated[str, StringConstraints(max_length=100)], AttributeValue] = Field(
        default_factory=dict, max_length=100
    )

    @field_validator("price", "price_original", mode="before")
    @classmethod
    def _parse_price(cls, value: Any) -> Any:
        return None if value is None else parse_clp(value)

    @field_validator("retailer")
    @classmethod
    def _retailer_slug(cls, value: str) -> str:
        # Retailers are identified by a lowercase slug so "Falabella" and "falabella" are one store.
        return _SPACES.sub("_", value.strip().lower())

    @property
    def listing_key(self) -> str:
        return f"{self.retailer}:{self.sku}"


class Extraction(_Contract):
    """A normalization answer, from the rules, a cache level or a model."""

    brand: str | None = None
    model: str | None = None
    normalized_name: str | None = None
    category: str | None = None
    attributes: dict[str, AttributeValue] = Field(default_factory=dict)
    confidence: float = Field(default=0.0, ge=0.0, le=1.0)
    missing_required: list[str] = Field(default_factory=list)


class RoutedListing(_Contract):
    """`products.raw.v1` after the router: validated, pre-extracted and assigned a tier."""

    schema_version: Literal[1] = 1
    listing: RawListing
    input_fingerprint: str
    category: str | None = Field(description="Taxonomy category id, if one could be resolved.")
    complexity: float = Field(ge=0.0, le=1.0)
    tier: Tier
    rules: Extraction
    routed_at: datetime = Field(default_factory=utcnow)


class PriceObservation(_Contract):
    """A re-scraped listing the router recognised as already persisted with the same identity
    inputs (`products.prices.v1`): only its price, stock and seen-at can have moved, so it skips
    normalization and goes straight to the persister. The raw listing travels whole, so a
    listing the persister finds changed after all goes back through the full path intact."""

    schema_version: Literal[1] = 1
    listing: RawListing
    identity_digest: str = Field(
        description="Digest of the listing's identity inputs (title, GTIN, brand, retailer "
        "category, attributes) under the cache namespace; the persister applies the price only "
        "when the listing's stored digest is the same."
    )
    routed_at: datetime = Field(default_factory=utcnow)


PromptKind = Literal["minimal", "batch", "standard", "detailed", "fallback"]


class LLMRequest(_Contract):
    """One listing that needs a model's answer; keyed by `custom_id` on `llm.requests.v1`."""

    schema_version: Literal[1] = 1
    custom_id: str
    routed: RoutedListing
    model: str
    prompt_kind: PromptKind
    prompt_version: str
    attempt: int = Field(default=1, ge=1)
    previous_reasons: list[str] = Field(default_factory=list)


class BatchSubmitted(_Contract):
    """An OpenAI batch the builder created; `llm.batches.v1` wakes the poller."""

    schema_version: Literal[1] = 1
    batch_id: str
    provider_batch_id: str
    model: str
    item_count: int
    submitted_at: datetime = Field(default_factory=utcnow)


class Usage(_Contract):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    reasoning_tokens: int = 0


class LLMResult(_Contract):
    """A model's answer (or failure) for one request; keyed by `custom_id`."""

    schema_version: Literal[1] = 1
    custom_id: str
    request: LLMRequest
    mode: Literal["batch", "sync"]
    ok: bool
    content: str | None = None
    error: str | None = None
    usage: Usage = Usage()
    cost_usd: float = 0.0
    latency_ms: int = 0


class ValidatedProduct(_Contract):
    """A listing with a normalization that passed the quality gate; ready to persist."""

    schema_version: Literal[1] = 1
    listing: RawListing
    input_fingerprint: str
    product_fingerprint: str
    brand: str
    model: str
    normalized_name: str
    category: str
    attributes: dict[str, AttributeValue]
    confidence: float = Field(ge=0.0, le=1.0)
    source: ResultSource
    tier: Tier
    model_used: str | None = None
    prompt_version: str
    usage: Usage = Usage()
    cost_usd: float = 0.0
    custom_id: str | None = None
    validated_at: datetime = Field(default_factory=utcnow)


class ReviewCandidate(_Contract):
    """A master product an uncertain listing may be, as the matcher scored it."""

    master_id: str = Field(description="The master's product fingerprint.")
    score: float = Field(ge=0.0, le=1.0, description="The matcher's probability of a match.")
    name: str


class ReviewItem(_Contract):
    """A listing no tier could normalize to the quality bar, with every reason; or a normalized
    listing whose identity is uncertain, with the candidate masters (best first)."""

    schema_version: Literal[1] = 1
    listing: RawListing
    input_fingerprint: str
    reasons: list[str]
    best_answer: Extraction | None = None
    attempts: int = 0
    queued_at: datetime = Field(default_factory=utcnow)
    candidates: list[ReviewCandidate] = Field(default_factory=list)


class DeadLetter(_Contract):
    """A message a service could not process, with the original bytes (base64).

    A record always fits the producer's request limit: an original too large for that is kept
    whole in Postgres (`dead_letters`, written before the source offset is committed), and the
    record carries only its first bytes (`truncated`), its size and SHA-256, and `original_ref`
    naming the row. Version 1 records (whole originals, no size or hash) still decode.
    """

    schema_version: Literal[1, 2] = 2
    service: str
    topic: str
    partition: int
    offset: int
    key_b64: str | None
    value_b64: str
    error_type: str
    error: str
    failed_at: datetime = Field(default_factory=utcnow)
    value_size: int | None = Field(default=None, description="Bytes of the whole original value.")
    value_sha256: str | None = Field(default=None, description="SHA-256 (hex) of the original.")
    truncated: bool = Field(
        default=False, description="key_b64/value_b64 hold only a prefix of the original."
    )
    original_ref: str | None = Field(
        default=None, description="Where the whole original is kept, e.g. postgres:dead_letters/42."
    )


class CatalogProduct(_Contract):
    """Latest state of a master product (`catalog.products.v1`, compacted, keyed by fingerprint).

    `version` grows with every change of the product; `event_id` is derived from the product and
    its version, so a redelivered state carries the same id. A consumer keeps the highest version
    per product and drops an event id it has already applied."""

    schema_version: Literal[1] = 1
    event_id: str = Field(description="uuid5 of the product fingerprint and version.")
    version: int = Field(ge=1, description="Per-product version, bumped on every change.")
    product_fingerprint: str = Field(description="The master id, stable once assigned.")
    merged_into: str | None = Field(
        default=None, description="Set when this master was merged into another one."
    )
    brand: str
    model: str
    normalized_name: str
    category: str
    attributes: dict[str, AttributeValue]
    confidence: float
    offer_count: int
    min_price: int | None
    max_price: int | None
    updated_at: datetime


class CatalogOffer(_Contract):
    """A listing's current price and the master product it belongs to (`catalog.offers.v1`).

    `version` is per listing, bumped on every change of the offer (price, stock, master);
    `event_id` is derived from the listing and its version."""

    schema_version: Literal[1] = 1
    event_id: str = Field(description="uuid5 of the listing key and version.")
    version: int = Field(ge=1, description="Per-listing version, bumped on every change.")
    product_fingerprint: str
    listing_key: str
    retailer: str
    sku: str
    price: int
    price_original: int | None
    currency: str
    stock_status: str
    url: str | None
    price_changed: bool
    last_seen: datetime


InteractionKind = Literal["view", "click", "purchase"]


class Interaction(_Contract):
    """A shopper's view, click or purchase of a master product (`catalog.interactions.v1`),
    posted to the search service's `POST /events`. `event_id` is the producer's id: a redelivered
    or re-posted event is recorded once."""

    schema_version: Literal[1] = 1
    event_id: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=8, max_length=64)
    ] = Field(description="Unique per event (a uuid); the idempotency key.")
    user_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
    product_id: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)
    ] = Field(description="The master product's public id (its fingerprint).")
    kind: InteractionKind
    occurred_at: datetime = Field(default_factory=utcnow)

    @field_validator("occurred_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
