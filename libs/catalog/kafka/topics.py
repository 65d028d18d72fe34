"""The topic registry: every topic's name, value model, key and partition count in one place."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from catalog.kafka.codec import MAX_MESSAGE_BYTES
from catalog.settings import KafkaSettings
from schemas.models import (
    BatchSubmitted,
    CatalogOffer,
    CatalogProduct,
    DeadLetter,
    Interaction,
    LLMRequest,
    LLMResult,
    PriceObservation,
    RawListing,
    ReviewItem,
    RoutedListing,
    ValidatedProduct,
)


@dataclass(frozen=True)
class TopicSpec:
    name: str
    model: type[BaseModel]
    key: str
    partitions: int
    compacted: bool = False
    # A larger message is a contract error (dead-lettered by the consumer).
    max_message_bytes: int = MAX_MESSAGE_BYTES

    def full_name(self, kafka: KafkaSettings) -> str:
        return f"{kafka.prefix}{self.name}"

    def partition_count(self, kafka: KafkaSettings) -> int:
        return kafka.partitions if kafka.partitions is not None else self.partitions


# A raw listing travels on, embedded in the routed, request, result and validated messages: at
# 128 KiB (a real listing is a few KiB) every one of those stays well under the producer's
# 1 MiB request limit. `catalog publish` refuses larger listings; the router dead-letters them.
RAW_MAX_BYTES = 131_072
RAW = TopicSpec("products.raw.v1", RawListing, "retailer:sku", 12, max_message_bytes=RAW_MAX_BYTES)
ROUTED = TopicSpec("products.routed.v1", RoutedListing, "retailer:sku", 12)
LLM_REQUESTS = TopicSpec("llm.requests.v1", LLMRequest, "custom_id", 6)
LLM_BATCHES = TopicSpec("llm.batches.v1", BatchSubmitted, "batch_id", 3)
LLM_RESULTS = TopicSpec("llm.results.v1", LLMResult, "custom_id", 6)
VALIDATED = TopicSpec("products.validated.v1", ValidatedProduct, "retailer:sku", 12)
# Re-scrapes whose identity inputs the persister recorded: router -> persister, price only.
PRICES = TopicSpec("products.prices.v1", PriceObservation, "retailer:sku", 12)
REVIEW = TopicSpec("products.review.v1", ReviewItem, "retailer:sku", 3)
DLQ = TopicSpec("products.dlq.v1", DeadLetter, "source topic:partition:offset", 3)
CATALOG_PRODUCTS = TopicSpec(
    "catalog.products.v1", CatalogProduct, "product fingerprint", 12, compacted=True
)
CATALOG_OFFERS = TopicSpec("catalog.offers.v1", CatalogOffer, "product fingerprint", 12)
# Shoppers' events from the search service; keyed by user so one user's events stay in order.
INTERACTIONS = TopicSpec("catalog.interactions.v1", Interaction, "user id", 6)

ALL_TOPICS: tuple[TopicSpec, ...] = (
    RAW,
    ROUTED,
    LLM_REQUESTS,
    LLM_BATCHES,
    LLM_RESULTS,
    VALIDATED,
    PRICES,
    REVIEW,
    DLQ,
    CATALOG_PRODUCTS,
    CATALOG_OFFERS,
    INTERACTIONS,
)
