"""What every cache level stores: a normalization answer that already passed validation."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from schemas.models import AttributeValue


class CacheEntry(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    brand: str
    model: str
    normalized_name: str
    category: str
    attributes: dict[str, AttributeValue]
    confidence: float
    product_fingerprint: str
    model_used: str | None = None
    prompt_version: str
