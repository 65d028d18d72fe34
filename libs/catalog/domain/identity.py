"""Listing and product identity.

* `normalize_title` / `input_fingerprint`: the cache key of a listing. Two retailers that print
  the same title with different spacing, casing, accents, unit spellings or noise words share it.
* `product_fingerprint`: the master-product identity. Canonical brand + normalized model +
  category + the category's identity attributes only (storage for phones, RAM/storage/processor
  for notebooks, size for TVs, volume and concentration for perfumes...), so a colour or a
  retailer's wording never splits one product in two, and 256GB vs 512GB never merges two.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping

from catalog.domain import units
from catalog.domain.brands import load_brands
from catalog.domain.extractor import _build_model, _model_spans
from catalog.domain.taxonomy import AttributeValue, Category, Taxonomy, load_taxonomy
from catalog.domain.units import PhraseIndex, alias_key

__all__ = ["input_fingerprint", "model_key", "normalize_title", "product_fingerprint"]

_FINGERPRINT_CHARS = 32

_NUM = r"(\d+(?:\.\d+)?)"
_UNIT_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?<=\d),(?=\d)"), "."),
    (re.compile(_NUM + r"\s*(tb|gb|mb)(?![a-z0-9])"), r"\1\2"),
    (
        re.compile(
            _NUM + r"\s*(?:\"|''|”|″|“|pulgadas?|pulg\.?|plg\.?|inch(?:es)?|in(?![a-z0-9]))"
        ),
        r"\1in ",
    ),
    (re.compile(_NUM + r"\s*(?:ml|mls|cc|cm3|c\.c\.)(?![a-z0-9])"), r"\1ml"),
    (re.compile(_NUM + r"\s*(?:lts?|litros?|ltrs?|l)\.?(?![a-z0-9])"), r"\1l"),
    (re.compile(_NUM + r"\s*(?:kgs?|kilos?|kilogramos?)\.?(?![a-z0-9])"), r"\1kg"),
    (re.compile(_NUM + r"\s*(?:grs?|gramos?|grms?|g)\.?(?![a-z0-9])"), r"\1g"),
    (re.compile(r"(\d+)\s*(?:un|und|unid|unidades|uds)\.?(?![a-z0-9])"), r"\1un"),
    (re.compile(r"(\d+)\s*(hz|mah|mp|w|mm)(?![a-z0-9])"), r"\1\2"),
)
_PUNCT = re.compile(r"[^a-z0-9.]+")
_LONE_DOT = re.compile(r"(?<!\d)\.|\.(?!\d)")
_NOISE: PhraseIndex[bool] = PhraseIndex(
    (w, True)
    for w in (
        "liberado",
        "liberada",
        "oferta",
        "ofertas",
        "promo",
        "promocion",
        "nuevo",
        "nueva",
        "new",
        "envio gratis",
        "despacho gratis",
        "exclusivo online",
        "ultimas unidades",
        "sellado",
        "tienda oficial",
        "hot sale",
        "cyber",
    )
)


def normalize_title(title: str) -> str:
    """Retailer-independent form of a title: lowercase, no accents, units unified (`256 GB` ->
    `256gb`, `55 pulgadas` / `55"` -> `55in`, `2 lt` -> `2l`, `355 cc` -> `355ml`), punctuation and
    retailer noise words dropped, spaces collapsed; token order kept."""
    if not isinstance(title, str):
        return ""
    text = units.fold(title[:1000])
    for pattern, replacement in _UNIT_RULES:
        text = pattern.sub(replacement, text)
    text = _LONE_DOT.sub(" ", _PUNCT.sub(" ", text))
    tokens = text.split()
    if not tokens:
        return ""
    spans = [(i, i + 1, t) for i, t in enumerate(tokens)]
    noise = {i for s, e, _ in _NOISE.scan(spans) for i in range(s, e)}
    return " ".join(t for i, t in enumerate(tokens) if i not in noise)


def _digest(payload: str) -> str:
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:_FINGERPRINT_CHARS]


def input_fingerprint(title: str, category: str | None, namespace: str) -> str:
    """Cache key of a listing: sha256 of `namespace|category|normalize_title(title)`,
    first 32 hex chars."""
    return _digest(f"{namespace}|{category or ''}|{normalize_title(title)}")


def _canonical_brand(brand: str) -> str:
    brands = load_brands()
    return (
        brands.canonical(brand)
        or brands.find_in_title(brand or "")
        or alias_key(brand or "").upper()
    )


def model_key(model: str, brand: str | None = None, category: Category | None = None) -> str:
    """Comparable form of a model: the extractor's model cleaning applied to the model string,
    then lowercase alphanumerics only (`"Galaxy S24 Ultra"` == `"galaxy s24-ultra"`)."""
    if not isinstance(model, str):
        return ""
    text = model[:300]
    folded = units.fold(text)
    span: tuple[int, int] | None = None
    if brand:
        for match in load_brands().matches(text):
            if match.brand == brand and match.kind == "alias":
                span = (match.start, match.end)
                break
    spans = _model_spans(category, folded, span, {}, brand)
    cleaned = _build_model(text, folded, category, spans)
    return re.sub(r"[^a-z0-9]+", "", units.fold(cleaned))


def _value_key(value: AttributeValue | None) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, int):
        return str(value)
    return alias_key(value)


def product_fingerprint(
    brand: str,
    model: str,
    category: str,
    attributes: Mapping[str, object],
    taxonomy: Taxonomy | None = None,
) -> str:
    """Master-product identity, 32 hex chars of sha256 over canonical brand, model key, category
    and the category's identity attributes (sorted, canonical values, defaults for absent ones)."""
    taxonomy = taxonomy or load_taxonomy()
    canonical_brand = _canonical_brand(brand)
    category_id = category if category in taxonomy else taxonomy.resolve(category) or ""
    cat = taxonomy.get(category_id)
    parts = [
        canonical_brand,
        model_key(model, canonical_brand, cat),
        category_id or alias_key(category or ""),
    ]
    if cat is not None:
        values = cat.canonical_attributes(attributes or {})
        for name in sorted(cat.identity):
            value = values.get(name)
            if value is None:
                value = cat.attributes[name].default
            parts.append(f"{name}={_value_key(value)}")
    return _digest("|".join(parts))
