"""Normalization domain: taxonomy, brands, unit parsers, the rules extractor, identity, routing."""

from catalog.domain.brands import Brand, BrandAliases, BrandMatch, load_brands
from catalog.domain.extractor import extract, format_attribute, normalized_name
from catalog.domain.identity import input_fingerprint, normalize_title, product_fingerprint
from catalog.domain.routing import choose_tier, complexity_score
from catalog.domain.taxonomy import AttributeSpec, Category, Taxonomy, load_taxonomy

__all__ = [
    "AttributeSpec",
    "Brand",
    "BrandAliases",
    "BrandMatch",
    "Category",
    "Taxonomy",
    "choose_tier",
    "complexity_score",
    "extract",
    "format_attribute",
    "input_fingerprint",
    "load_brands",
    "load_taxonomy",
    "normalize_title",
    "normalized_name",
    "product_fingerprint",
]
