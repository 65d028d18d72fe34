"""Brand aliases: canonical brand names and how retailers spell them.

`data/brands.yaml` lists each canonical brand (UPPERCASE) with its aliases, the product lines that
imply it ("iphone" -> APPLE) and, for single-category brands, a default category. Matching is
accent-, case- and punctuation-insensitive and respects word boundaries ("Coca-Cola", "coca cola"
and "COCA COLA" are one alias key; "lg" does not match inside "algodón").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

import yaml

from catalog.domain.units import PhraseIndex, alias_key, fold, word_tokens

__all__ = [
    "UNBRANDED",
    "Brand",
    "BrandAliases",
    "BrandMatch",
    "BrandsError",
    "brand_spelling",
    "house_brand",
    "load_brands",
]

# The canonical brand of a declared unbranded (generic) product when the data names none.
UNBRANDED = "GENERICO"

MatchKind = Literal["alias", "line"]

# Confidence stored with each alias row: the canonical spelling is certain, a listed alias nearly
# so, a product line implies the brand, and a brand that is also a common word is the weakest.
_CONFIDENCE = {"canonical": 1.0, "alias": 0.95, "line": 0.9, "weak": 0.8}


class BrandsError(ValueError):
    """The brand data is inconsistent."""


@dataclass(frozen=True)
class Brand:
    name: str
    aliases: tuple[str, ...] = ()
    lines: tuple[str, ...] = ()
    category: str | None = None
    weak: bool = False
    # Brand-specific model wording: an abbreviation or former name -> the maker's current name
    # ("ps5" -> "PlayStation 5", "qc" -> "QuietComfort"); an empty name drops the words ("mi").
    model_words: tuple[tuple[str, str], ...] = ()
    # Line words that do not tell two of the brand's products apart ("galaxy" for Samsung: "Galaxy
    # A55" and "A55" are one phone); dropped from the model key only.
    key_ignore: tuple[str, ...] = ()


@dataclass(frozen=True)
class BrandMatch:
    """A brand found in a title: canonical name, character span and whether it was a line cue."""

    brand: str
    start: int
    end: int
    kind: MatchKind
    weak: bool


class BrandAliases:
    """Canonical brand lookup and title scanning."""

    def __init__(
        self,
        version: str,
        brands: list[Brand],
        *,
        unbranded: str = UNBRANDED,
        unbranded_markers: tuple[str, ...] = (),
        generic_words: tuple[str, ...] = (),
        product_words: tuple[str, ...] = (),
    ) -> None:
        self.version = version
        self.unbranded = unbranded
        self._unbranded_markers: PhraseIndex[bool] = PhraseIndex(
            (marker, True) for marker in unbranded_markers
        )
        self._generic_words = frozenset(alias_key(word) for word in generic_words)
        self._product_words = frozenset(alias_key(word) for word in product_words)
        self._brands: dict[str, Brand] = {}
        self._index: PhraseIndex[tuple[str, MatchKind]] = PhraseIndex()
        self._model_words: dict[str, PhraseIndex[str]] = {}
        owner: dict[str, str] = {}
        for brand in brands:
            if brand.name in self._brands:
                raise BrandsError(f"duplicate brand {brand.name!r}")
            self._brands[brand.name] = brand
        for kind, attr in (("alias", "aliases"), ("line", "lines")):
            for brand in brands:
                phrases = (brand.name, *brand.aliases) if kind == "alias" else brand.lines
                for phrase in phrases:
                    key = alias_key(phrase)
                    if not key:
                        continue
                    if key in owner and owner[key] != brand.name:
                        raise BrandsError(
                            f"{attr} {phrase!r} of {brand.name} already names {owner[key]}"
                        )
                    owner[key] = brand.name
                    self._index.add(key, (brand.name, kind))  # type: ignore[arg-type]

    def __len__(self) -> int:
        return len(self._brands)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._brands

    def brands(self) -> list[Brand]:
        return list(self._brands.values())

    def get(self, canonical: str) -> Brand | None:
        return self._brands.get(canonical)

    def is_unbranded(self, canonical: str | None) -> bool:
        """The brand is the declared-unbranded marker (`GENERICO`)."""
        return bool(canonical) and canonical == self.unbranded

    def is_generic_word(self, word: str) -> bool:
        """A word that starts titles without being a brand ("set", "wireless", "nuevo")."""
        return alias_key(word) in self._generic_words

    def is_product_word(self, word: str) -> bool:
        """A word naming a kind of product in one of the languages stores write ("Relógio",
        "Casque", "Pneu"): a title opening with it names its brand after it."""
        return alias_key(word) in self._product_words

    def sold_unbranded(self, title: str) -> bool:
        """The title sells by weight or in bulk ("x kg", "a granel"): with no brand named, the
        product is a declared unbranded one."""
        try:
            return bool(self._unbranded_markers.scan(word_tokens(fold(title))))
        except (TypeError, AttributeError):
            return False

    def is_line(self, word: str) -> bool:
        """The phrase is one of a known brand's product lines ("galaxy", "iphone")."""
        hit = self._index.get(word)
        return hit is not None and hit[1] == "line"

    def canonical(self, name: str | None) -> str | None:
        """`"apple inc"`, `"Apple"`, `"APPLE"` -> `"APPLE"`; None for an unknown brand."""
        if not name or not isinstance(name, str):
            return None
        hit = self._index.get(name)
        if hit is None or hit[1] != "alias":
            return None
        return hit[0]

    def model_words(self, canonical: str | None) -> PhraseIndex[str]:
        """The brand's model-word rewrites as a phrase index (empty for an unknown brand)."""
        key = canonical or ""
        index = self._model_words.get(key)
        if index is None:
            brand = self._brands.get(key)
            index = PhraseIndex((alias_key(k), v) for k, v in (brand.model_words if brand else ()))
            self._model_words[key] = index
        return index

    def key_ignore(self, canonical: str | None) -> frozenset[str]:
        """Folded line words of the brand that the model key leaves out."""
        brand = self._brands.get(canonical or "")
        return frozenset(alias_key(w) for w in brand.key_ignore) if brand else frozenset()

    def default_category(self, canonical: str | None) -> str | None:
        brand = self._brands.get(canonical or "")
        return brand.category if brand else None

    def matches(self, title: str) -> list[BrandMatch]:
        """Every alias or product line in the title, left to right, longest match first."""
        try:
            tokens = word_tokens(fold(title))
        except (TypeError, AttributeError):
            return []
        return [
            BrandMatch(brand, start, end, kind, self._brands[brand].weak)
            for start, end, (brand, kind) in self._index.scan(tokens)
        ]

    def match(self, title: str) -> BrandMatch | None:
        """The title's brand: the first explicit alias, else the first product line, else the
        first weak (common-word or component) brand."""
        found = self.matches(title)
        for wanted in (
            lambda m: m.kind == "alias" and not m.weak,
            lambda m: m.kind == "line" and not m.weak,
            lambda m: True,
        ):
            for item in found:
                if wanted(item):
                    return item
        return None

    def find_in_title(self, title: str) -> str | None:
        """Canonical brand named in a title (`"iPhone 15 Pro"` -> `"APPLE"`), or None."""
        hit = self.match(title)
        return hit.brand if hit else None

    def rows(self) -> list[tuple[str, str, float]]:
        """`brand_aliases(brand_canonical, alias, confidence)` rows; aliases are alias keys
        (lowercase, accents and punctuation folded, see `alias_key`) and unique."""
        out: list[tuple[str, str, float]] = []
        for key, (brand, kind) in self._index.items():
            info = self._brands[brand]
            if key == alias_key(brand):
                confidence = _CONFIDENCE["canonical"]
            elif info.weak:
                confidence = _CONFIDENCE["weak"]
            else:
                confidence = _CONFIDENCE[kind]
            out.append((brand, key, confidence))
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BrandAliases:
        version = str(data.get("version") or "")
        if not version:
            raise BrandsError("brand data has no version")
        brands = [
            Brand(
                name=str(raw["name"]).strip().upper(),
                aliases=tuple(str(a) for a in raw.get("aliases") or ()),
                lines=tuple(str(a) for a in raw.get("lines") or ()),
                category=raw.get("category"),
                weak=bool(raw.get("weak", False)),
                model_words=tuple(
                    (str(k), str(v or "")) for k, v in (raw.get("model_words") or {}).items()
                ),
                key_ignore=tuple(str(w) for w in raw.get("key_ignore") or ()),
            )
            for raw in data.get("brands") or []
        ]
        unbranded = data.get("unbranded") or {}
        unbranded_name = str(unbranded.get("name") or UNBRANDED).strip().upper()
        if unbranded_name not in {brand.name for brand in brands}:
            # Declared unbranded products are a brand of their own; the weakest, so any real
            # brand named in the same title wins.
            brands.append(
                Brand(
                    name=unbranded_name,
                    aliases=tuple(str(a) for a in unbranded.get("aliases") or ()),
                    weak=True,
                )
            )
        return cls(
            version,
            brands,
            unbranded=unbranded_name,
            unbranded_markers=tuple(str(m) for m in data.get("unbranded_markers") or ()),
            generic_words=tuple(str(w) for w in data.get("generic_words") or ()),
            product_words=tuple(str(w) for w in data.get("product_words") or ()),
        )


@lru_cache(maxsize=1)
def load_brands() -> BrandAliases:
    """The packaged brand aliases (`data/brands.yaml`), loaded once."""
    text = resources.files("catalog.domain").joinpath("data/brands.yaml").read_text("utf-8")
    return BrandAliases.from_dict(yaml.safe_load(text))


# Words after which a store's name is a place or a time, not a maker ("Crema de Día", "Torre de
# París").
_PLACE_WORDS = frozenset({"de", "del", "a", "al", "en", "para", "of", "in"})
# Shorter store slugs are too likely to be a word of any title.
_MIN_HOUSE_NAME = 3
# Letters a title may write with an accent ("Día", "París", "Peñalolén").
_ACCENTED = {"a": "aáàâä", "e": "eéèêë", "i": "iíìîï", "o": "oóòôö", "u": "uúùûü", "n": "nñ"}


@lru_cache(maxsize=256)
def _store_name(retailer: str) -> tuple[list[str], re.Pattern[str] | None]:
    """The slug's words, and a quick test of whether a raw title may contain them."""
    name = retailer.replace("_", " ").replace("-", " ").split()
    if not name or len("".join(name)) < _MIN_HOUSE_NAME:
        return name, None
    letters = "".join(
        f"[{re.escape(_ACCENTED[c])}]" if c in _ACCENTED else re.escape(c) for c in name[0]
    )
    return name, re.compile(rf"(?<![^\W_]){letters}(?![^\W_])", re.IGNORECASE)


def house_brand(title: str, retailer: str | None) -> str | None:
    """The store's own name written as words of its listing's title: the store's house brand
    ("Ravioles DIA 4 Quesos" at Dia, "Lentejas secas Carrefour 340 g" at Carrefour), upper-cased;
    None when the title does not name its store. `retailer` is the listing's slug
    (`santa_isabel`). A brand the alias table finds in the title still comes first: the caller
    consults this only where the title names no known brand."""
    if not retailer or not isinstance(title, str):
        return None
    name, pattern = _store_name(retailer)
    if pattern is None or pattern.search(title) is None:
        return None  # the common case, decided without folding the title
    words = [word for _start, _end, word in word_tokens(fold(title))]
    size = len(name)
    for index in range(len(words) - size + 1):
        if words[index : index + size] == name and (
            index == 0 or words[index - 1] not in _PLACE_WORDS
        ):
            return " ".join(name).upper()
    return None


# Accented vowels a brand outside the alias table is written with or without ("YOGURÍSIMO" /
# "Yogurisimo", "DAHÍ" / "Dahi"); the Ñ is a letter of its own and stays.
_UNACCENTED = str.maketrans("ÁÉÍÓÚÀÈÌÒÙÂÊÎÔÛÄËÏÖÜ", "AEIOUAEIOUAEIOUAEIOU")
_MAX_BRAND = 100


def brand_spelling(text: str) -> str | None:
    """The one spelling of a brand outside the alias table: upper case, single spaces, no
    accents on its vowels, so that two stores' spellings of one maker are one brand in the
    catalog and in the registry's counts."""
    spelled = " ".join(text.split()).upper().translate(_UNACCENTED)[:_MAX_BRAND]
    return spelled or None
