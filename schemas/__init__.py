"""Wire contracts of the platform's topics (pydantic v2) and their JSON Schema files."""

from schemas.models import (
    BatchSubmitted,
    CatalogOffer,
    CatalogProduct,
    DeadLetter,
    Extraction,
    LLMRequest,
    LLMResult,
    RawListing,
    ReviewCandidate,
    ReviewItem,
    RoutedListing,
    ValidatedProduct,
)

__all__ = [
    "BatchSubmitted",
    "CatalogOffer",
    "CatalogProduct",
    "DeadLetter",
    "Extraction",
    "LLMRequest",
    "LLMResult",
    "RawListing",
    "ReviewCandidate",
    "ReviewItem",
    "RoutedListing",
    "ValidatedProduct",
]
