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
from functools import lru_cache

from catalog.domain import units
from catalog.domain.brands import load_brands
from catalog.domain.extractor import _build_model, _model_spans
from catalog.domain.taxonomy import AttributeValue, Category, Taxonomy, load_taxonomy
from catalog.domain.units import PhraseIndex, alias_key

__all__ = [
    "FUNCTION_WORDS",
    "input_fingerprint",
    "model_key",
    "normalize_title",
    "product_fingerprint",
]

_FINGERPRINT_CHARS = 32

_NUM = r"(\d+(?:\.\d+)?)"
_UNIT_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?<=\d),(?=\d)"), "."),
    (re.compile(_NUM + r"\s*-?\s*(tb|gb|mb)(?![a-z0-9])"), r"\1\2"),
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
    (
        re.compile(
            r"(\d+)\s*(?:un|uni|und|unid|unids|unidades|ud|uds|saq|sq|saquitos|sobres|bolsitas"
            r"|rollos)"
            r"\.?(?![a-z0-9])"
        ),
        r"\1un",
    ),
    # A bare `u` after a count (`48 U`, `6u`), not a processor's suffix (`i5-1235U`, `Core
    # Ultra 7 155U`, `Core 5 120U`).
    (
        re.compile(r"(?<![a-z0-9-])(?<!ultra \d )(?<!core \d )(\d{1,3})\s*u\.?(?![a-z0-9])"),
        r"\1un",
    ),
    (re.compile(r"(\d+)\s*(hz|mah|mp|w|mm)(?![a-z0-9])"), r"\1\2"),
    # Toothpaste by its Argentine and Chilean names (`Crema Dental` / `Pasta Dental`).
    (re.compile(r"\b(?:crema dental|dentifrico)\b"), "pasta dental"),
    # A product that is two or three in one, however written (`2 en 1`, `2en1`, `2-in-1`).
    (re.compile(r"\b([23])\s*-?\s*(?:en|in)\s*-?\s*1\b"), r"\1in1"),
    # A stand-up pouch written apart or together (`Doy Pack` / `Doypack`).
    (re.compile(r"\bdoy\s*-?\s*pack\b"), "doypack"),
    # Who a product is for, one word each (`Men` / `Hombre` / `Masculino`, `Women` / `Dama`).
    (re.compile(r"\b(?:hombres?|masculin[oa]s?|caballeros?|men|mens)\b"), "hombre"),
    (re.compile(r"\b(?:mujer(?:es)?|femenin[oa]s?|damas?|women|womens)\b"), "mujer"),
    # A fragrance's concentration as stores abbreviate it (`Eau de Toilette` / `EDT`).
    (re.compile(r"\beau de toilette\b"), "edt"),
    (re.compile(r"\beau de parfum[es]?\b"), "edp"),
    (re.compile(r"\beau de cologne\b"), "edc"),
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
    return _normalized(title)


# A title comes back at every store that sells it and with every re-read of the catalog (the
# router's fingerprint, the persister's facts of each listing): about 60 us of regular
# expressions a time, against well under a microsecond for a cached answer. The function is
# pure, so the cache changes no result; 65,536 titles of ~100 characters stay under ~30 MB.
@lru_cache(maxsize=65536)
def _normalized(title: str) -> str:
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


# Spanish and English function words: never part of what names a product. Shared with the
# identity matcher's title tokens (`catalog.identity.features`), so one list says what a title
# word that carries nothing is.
FUNCTION_WORDS = frozenset(
    {
        "de",
        "del",
        "la",
        "el",
        "los",
        "las",
        "con",
        "y",
        "e",
        "en",
        "para",
        "a",
        "al",
        "por",
        "un",
        "una",
        "the",
        "and",
        "for",
        "with",
        "of",
        "x",
    }
)
# Words that never tell two products apart in a model key: the function words, flavour and
# generation markers ("Sabor Original" = "Original", "No 5" = "5", "10th Gen" = "10").
_KEY_STOPWORDS = FUNCTION_WORDS | {"sabor", "gen", "generation", "generacion"}
_NUMBER_WORDS = {
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "uno": "1",
    "dos": "2",
    "tres": "3",
    "cuatro": "4",
    "cinco": "5",
}
# One name, several store spellings ("Mayonesa Clásica" = "Mayonesa Tradicional").
_KEY_SYNONYMS = {
    "clasic": "original",
    "tradicional": "original",
    "tradicionale": "original",
}
_ORDINAL = re.compile(r"(\d+)(?:st|nd|rd|th)")
_CASE_SIZE = re.compile(r"\d{2}mm")
_KEY_SPLIT = re.compile(r"[^a-z0-9+]+")
_VOWELS = frozenset("aeiou")


def _stem(word: str) -> str:
    """Light Spanish plural and gender folding ("Espirales" = "Espiral", "Clásicas" = "Clásico")."""
    if not word.isalpha():
        return word
    if len(word) > 4 and word.endswith("es") and word[-3] not in _VOWELS:
        word = word[:-2]
    elif len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]
    if len(word) > 4 and word[-1] in "ao":
        word = word[:-1]
    return word


def _key_tokens(cleaned: str, ignore: frozenset[str]) -> list[str]:
    tokens: list[str] = []
    raw = [t for t in _KEY_SPLIT.split(units.fold(cleaned).replace("+", " plus ")) if t]
    for index, token in enumerate(raw):
        ordinal = _ORDINAL.fullmatch(token)
        if ordinal is not None:
            token = ordinal.group(1)  # "10th" = "10"
        token = _NUMBER_WORDS.get(token, token)
        if token in _KEY_STOPWORDS or token in ignore or _CASE_SIZE.fullmatch(token):
            continue
        if token in ("no", "n") and index + 1 < len(raw) and raw[index + 1].isdigit():
            continue
        token = _stem(token)
        token = _KEY_SYNONYMS.get(token, token)
        if token.isdigit() and tokens and tokens[-1].isalpha():
            tokens[-1] += token  # "Watch 7" = "Watch7", "Spaghetti No 5" = "Spaghetti 5"
            continue
        tokens.append(token)
    return tokens


def _is_code(token: str) -> bool:
    return len(token) >= 4 and sum(c.isdigit() for c in token) >= 2 and not token.isdigit()


def model_key(model: str, brand: str | None = None, category: Category | None = None) -> str:
    """Comparable form of a model: the extractor's model cleaning applied to the model string,
    then a bag of normalized words, so that spacing, punctuation, word order, plurals, function
    words and the brand's non-identifying line words never split one product
    (`"Galaxy S24 Ultra"` == `"galaxy s24-ultra"`, `"Leche Sin Lactosa Semidescremada"` ==
    `"Leche Semidescremada Sin Lactosa"`, `"Pasta Espiral N°85"` == `"Pasta Espirales 85"`). In
    categories where the maker's code identifies the product, a model with a code is keyed by
    its codes alone (`"Crystal UHD DU7000"` == `"DU7000"`)."""
    if not isinstance(model, str):
        return ""
    text = model[:300]
    folded = units.fold(text)
    span: tuple[int, int] | None = None
    brands = load_brands()
    if brand:
        for match in brands.matches(text):
            if match.brand == brand and match.kind == "alias":
                span = (match.start, match.end)
                break
    spans = _model_spans(category, folded, span, {}, brand)
    cleaned = _build_model(text, folded, category, spans)
    if category is not None and category.code_identity:
        words = (re.sub(r"[^a-z0-9]+", "", w) for w in units.fold(cleaned).split())
        codes = sorted({w for w in words if _is_code(w)})
        if codes:
            return " ".join(codes)
    tokens = _key_tokens(cleaned, brands.key_ignore(brand))
    return " ".join(sorted(set(tokens)))


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
