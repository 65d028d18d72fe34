"""From a normalized listing to the `Facts` resolution compares, and how a master learns.

`facts_from_product` reads a validated product: the listing's own title (normalized), the
canonical brand, category and attributes normalization found, the listing's EAN as a canonical
GTIN, the model codes in the title and the model, the price and the store. `fuse` folds an
offer's facts into its master's: the master keeps what it knows and learns what it lacks.
"""

from __future__ import annotations

from collections.abc import Mapping

from catalog.domain.identity import normalize_title
from catalog.identity.identifiers import canonical_gtin, model_codes
from catalog.identity.model import AttributeValue, Facts
from schemas.models import RawListing, ValidatedProduct

__all__ = ["facts_from_listing", "facts_from_product", "fuse"]

# Longer titles than this add noise, not identity: a master's name is chosen among titles up to
# this many tokens.
_TITLE_TOKENS = 30


def facts_from_listing(
    listing: RawListing,
    *,
    brand: str | None = None,
    model: str | None = None,
    category: str | None = None,
    attributes: Mapping[str, AttributeValue] | None = None,
) -> Facts:
    """Facts of a raw listing and whatever normalization says about it (all optional)."""
    brand = brand or listing.brand or None
    codes = model_codes(listing.name, brand)
    if model:
        codes |= model_codes(model, brand)
    return Facts(
        title=normalize_title(listing.name),
        brand=brand,
        category=category or None,
        attributes=dict(attributes or {}),
        gtin=canonical_gtin(listing.ean),
        codes=codes,
        model=model or None,
        price=float(listing.price) if listing.price and listing.price > 1 else None,
        retailer=listing.retailer,
    )


def facts_from_product(product: ValidatedProduct) -> Facts:
    """Facts of a validated product: its listing plus what normalization found."""
    return facts_from_listing(
        product.listing,
        brand=product.brand,
        model=product.model,
        category=product.category,
        attributes=product.attributes,
    )


def _specificity(value: AttributeValue) -> tuple[int, int]:
    """More specific first: a number or a flag over text, longer text over shorter."""
    if isinstance(value, bool | int | float):
        return (1, 0)
    return (0, len(str(value)))


def _title_quality(title: str) -> tuple[bool, int]:
    """A well-formed name says more without rambling: up to `_TITLE_TOKENS` tokens, more is
    better; beyond that, shorter is better."""
    tokens = len(title.split())
    return (tokens <= _TITLE_TOKENS, tokens if tokens <= _TITLE_TOKENS else -tokens)


def fuse(master: Facts, offer: Facts) -> Facts:
    """The master after learning from one more offer.

    Attributes: a value the master lacks is taken; a value both have keeps the more specific one
    (a number over text, longer text over shorter). Codes: the union. GTIN, brand, category and
    model: the master's, else the offer's. Title: the best-formed of the two. Price and retailer
    stay the master's (the first offer's)."""
    attributes = dict(master.attributes)
    for name, value in offer.attributes.items():
        current = attributes.get(name)
        if current is None or _specificity(value) > _specificity(current):
            attributes[name] = value
    title = master.title
    if offer.title and _title_quality(offer.title) > _title_quality(master.title):
        title = offer.title
    return Facts(
        title=title,
        brand=master.brand or offer.brand,
        category=master.category or offer.category,
        attributes=attributes,
        gtin=master.gtin or offer.gtin,
        codes=master.codes | offer.codes,
        model=master.model or offer.model,
        price=master.price if master.price is not None else offer.price,
        retailer=master.retailer or offer.retailer,
    )
