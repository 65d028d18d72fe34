"""The product taxonomy: categories, their attribute schemas and retailer-label resolution.

The data lives in `data/taxonomy.yaml` (versioned); this module loads it once, validates it and
answers three questions: which category is this listing in, which attributes does that category
have (types, units, enums), and which of them identify a product.

The taxonomy is open: a coarse tree covers all retail (top-level departments such as technology,
furniture, fashion or the supermarket, and their second-level aisles), and the typed categories
(with attribute schemas, thresholds and TTLs) are its deep leaves. Every listing gets a node:
the retailer's category label, else cues in the title, else the top-level `other` node.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

import yaml

from catalog.domain import units
from catalog.domain.units import PhraseIndex, alias_key

__all__ = [
    "OTHER",
    "AttributeSpec",
    "AttributeValue",
    "Category",
    "Taxonomy",
    "TaxonomyError",
    "load_taxonomy",
]

AttributeValue = str | int | float | bool
AttributeType = Literal["str", "int", "float", "bool", "enum"]
Kind = Literal["tech", "goods"]

# Cue strengths: product nouns beat product lines, which beat weak hints.
CUE_STRONG = 3
CUE_SYNONYM = 1
CUE_LINE = 2
CUE_WEAK = 1

# A memory or storage size (`16GB`, `512 GB`, `1TB`): what a computer's title states and its
# processor's does not.
_SIZE_STATED = re.compile(r"\b\d+ ?(?:gb|tb)\b")

# The node of a listing nothing else places; it has no schema and no cues.
OTHER = "other"


class TaxonomyError(ValueError):
    """The taxonomy data is inconsistent."""


# Attribute-specific parsers used to coerce free-form values ("1TB", "Negro", "Eau de Parfum").
_VALUE_PARSERS: dict[str, Callable[[str], AttributeValue | None]] = {
    "storage_gb": units.parse_storage_gb,
    "ram_gb": lambda s: units.parse_ram_gb(s) or units.parse_storage_gb(s),
    "vram_gb": lambda s: units.parse_vram_gb(s, loose=True) or units.parse_storage_gb(s),
    "screen_in": units.parse_screen_in,
    "refresh_hz": units.parse_refresh_hz,
    "battery_mah": units.parse_battery_mah,
    "megapixels": units.parse_megapixels,
    "case_mm": units.parse_case_mm,
    "volume_ml": units.parse_volume_ml,
    "weight_g": units.parse_weight_g,
    "pack_count": units.parse_pack_count,
    "capacity_l": units.parse_capacity_l,
    "capacity_kg": units.parse_capacity_kg,
    "power_w": units.parse_power_w,
    "abv": units.parse_abv,
    "processor": units.parse_processor,
    "gpu_model": units.parse_gpu_model,
    "color": units.parse_color,
    "concentration": units.parse_concentration,
    "gender": units.parse_gender,
    "network": units.parse_network,
    "resolution": units.parse_resolution,
    "panel": units.parse_panel,
    "fat_level": units.parse_fat_level,
}

_BARE_NUMBER = re.compile(r"-?\d+(?:[.,]\d+)?")
_HAS_LETTER = re.compile(r"[^\W\d_]")
_TRUE_WORDS = frozenset({"true", "yes", "si", "1", "y", "verdadero"})
_FALSE_WORDS = frozenset({"false", "no", "0", "n", "falso"})


@dataclass(frozen=True)
class AttributeSpec:
    """One canonical attribute: its type, unit, enum values and value keywords."""

    name: str
    type: AttributeType
    unit: str | None = None
    values: tuple[str, ...] = ()
    default: AttributeValue | None = None
    keywords: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type}
        if self.unit:
            out["unit"] = self.unit
        if self.values:
            out["values"] = list(self.values)
        if self.default is not None:
            out["default"] = self.default
        return out


@dataclass(frozen=True)
class Category:
    """A taxonomy category and its attribute schema."""

    id: str
    name: str
    parent: str | None
    synonyms: tuple[str, ...]
    attributes: Mapping[str, AttributeSpec] = field(hash=False)
    required: tuple[str, ...] = ()
    required_one_of: tuple[tuple[str, ...], ...] = ()
    optional: tuple[str, ...] = ()
    identity: tuple[str, ...] = ()
    name_attributes: tuple[str, ...] = ()
    keep_in_model: tuple[str, ...] = ()
    strip_words: tuple[str, ...] = ()
    # The category of the part the weak cues name (a notebook's processor): a title cued by
    # them alone that states no memory or storage size is the part (`Intel Core i5-12400F`).
    bare_part: str | None = None
    # The maker's model code ("UN55DU7000GXZS", "RT38CG6420S9", "WH-1000XM5") identifies the
    # product: when the model has one, the model key is the code alone, without series words.
    code_identity: bool = False
    kind: Kind = "tech"
    complexity: float = 0.5
    confidence_threshold: float = 0.75
    coverage_threshold: float = 0.70
    l1_ttl_s: int = 3600
    l2_threshold: float = 0.85
    active: bool = True
    # A node of the coarse tree (no required attributes): the rules tier answers it from a brand
    # and a name alone. Typed categories are not coarse.
    coarse: bool = False
    # Products of the node are commonly sold without a brand (fruit, meat by weight, bread):
    # a title without one is a declared unbranded product, not an unreadable listing.
    unbranded: bool = False
    key_aliases: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False, repr=False)
    keyword_index: PhraseIndex[tuple[str, str]] = field(
        default_factory=PhraseIndex, hash=False, repr=False, compare=False
    )

    @property
    def is_root(self) -> bool:
        """A node without an attribute schema (e.g. "technology", "furniture")."""
        return not self.attributes

    @property
    def typed(self) -> bool:
        """One of the typed categories: an attribute schema with required attributes,
        thresholds and TTLs of its own."""
        return not self.coarse

    def attribute_for(self, key: str, value: object) -> str | None:
        """The canonical attribute a key and its value name: for an ambiguous key ("capacity",
        "Contenido"), the first candidate whose unit-aware parser reads the value ("160g" is a
        weight, not 160 ml), else the key's first candidate (so a bad value is reported)."""
        candidates = self._key_candidates(key)
        return self._unit_match(candidates, value) or (candidates[0] if candidates else None)

    def _key_candidates(self, key: str) -> list[str]:
        if key in self.attributes:
            return [key]
        folded = alias_key(key)
        underscored = folded.replace(" ", "_")
        if underscored in self.attributes:
            return [underscored]
        aliases = self.key_aliases.get(folded, ()) or self.key_aliases.get(underscored, ())
        return [candidate for candidate in aliases if candidate in self.attributes]

    def _unit_match(self, candidates: list[str], value: object) -> str | None:
        """For an ambiguous key ("Contenido", "Capacidad"), the first candidate whose unit-aware
        parser reads the value ("1 kg" is a weight, not 1 ml; "10 kg" a washer load, not 10 L)."""
        if len(candidates) < 2 or not isinstance(value, str) or not _HAS_LETTER.search(value):
            return candidates[0] if candidates else None
        for candidate in candidates:
            spec = self.attributes[candidate]
            parser = _VALUE_PARSERS.get(candidate)
            if spec.type not in ("int", "float") or parser is None:
                return candidate
            try:
                if parser(value[:200]) is not None:
                    return candidate
            except (ValueError, TypeError):
                continue
        return None

    def coerce(self, attr: str, value: object) -> AttributeValue | None:
        """Return `value` as the canonical typed value of `attr`, or None if it is not one.

        Strings are parsed with the attribute's unit-aware parser (`"1TB"` -> 1024 for
        `storage_gb`, `"Negro"` -> `"black"` for `color`, `"Eau de Parfum"` -> `"EDP"`).
        """
        spec = self.attributes.get(attr)
        if spec is None or value is None:
            return None
        try:
            return _coerce(spec, value, self.keyword_index)
        except (ValueError, TypeError, OverflowError):
            return None

    def canonical_attributes(self, attributes: Mapping[str, object]) -> dict[str, AttributeValue]:
        """Canonical names and typed values; unknown keys and invalid values are dropped."""
        out: dict[str, AttributeValue] = {}
        for key, value in attributes.items():
            if not isinstance(key, str):
                continue
            name = self._unit_match(self._key_candidates(key), value)
            if name is None or name in out:
                continue
            coerced = self.coerce(name, value)
            if coerced is not None:
                out[name] = coerced
        return out

    def missing(self, attributes: Mapping[str, object]) -> list[str]:
        """Required attributes not present; an unmet one-of group is reported as `a|b`."""
        out = [name for name in self.required if attributes.get(name) is None]
        for group in self.required_one_of:
            if all(attributes.get(name) is None for name in group):
                out.append("|".join(group))
        return out

    def coverage(self, attributes: Mapping[str, object]) -> float:
        """Fraction of the required attributes (and one-of groups) that are present."""
        total = len(self.required) + len(self.required_one_of)
        if total == 0:
            return 1.0
        return (total - len(self.missing(attributes))) / total

    def attribute_schema(self) -> dict[str, Any]:
        """The JSON stored in `categories.attribute_schema`."""
        return {
            "attributes": {name: spec.schema() for name, spec in self.attributes.items()},
            "required": list(self.required),
            "required_one_of": [list(group) for group in self.required_one_of],
            "optional": list(self.optional),
            "identity": list(self.identity),
            "name_attributes": list(self.name_attributes),
            "l1_ttl_s": self.l1_ttl_s,
            "l2_threshold": self.l2_threshold,
            "complexity": self.complexity,
        }


def _coerce(
    spec: AttributeSpec, value: object, keywords: PhraseIndex[tuple[str, str]]
) -> AttributeValue | None:
    if spec.type == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, int | float):
            return bool(value)
        text = alias_key(str(value))
        if text in _TRUE_WORDS:
            return True
        if text in _FALSE_WORDS:
            return False
        hit = keywords.get(text)
        return True if hit is not None and hit[0] == spec.name else None
    if spec.type in ("int", "float"):
        if isinstance(value, bool):
            return None
        number: float | None
        if isinstance(value, int | float):
            number = float(value)
        else:
            text = str(value)[:200]
            parser = _VALUE_PARSERS.get(spec.name)
            parsed = parser(text) if parser else None
            if isinstance(parsed, int | float) and not isinstance(parsed, bool):
                number = float(parsed)
            else:
                match = _BARE_NUMBER.search(text)
                number = units.parse_number(match.group()) if match else None
        if number is None or not math.isfinite(number) or number < 0:
            return None
        if spec.type == "int":
            return round(number)
        return round(number, 2)
    text = str(value).strip()[:200]
    if not text:
        return None
    if spec.type == "enum":
        parser = _VALUE_PARSERS.get(spec.name)
        parsed = parser(text) if parser else None
        if isinstance(parsed, str) and parsed in spec.values:
            return parsed
        hit = keywords.get(text)
        if hit is not None and hit[0] == spec.name:
            return hit[1]
        folded = alias_key(text).replace(" ", "_")
        for option in spec.values:
            if alias_key(option).replace(" ", "_") == folded:
                return option
        return None
    parser = _VALUE_PARSERS.get(spec.name)
    parsed = parser(text) if parser else None
    if isinstance(parsed, str):
        return parsed
    return re.sub(r"\s+", " ", text)


def _singular_variants(phrase: str) -> set[str]:
    """`"Computadores portátiles"` -> also `"computador portatil"`; `"Leches"` -> `"leche"`."""
    words = alias_key(phrase).split()
    if not words:
        return set()
    strip_s = [w[:-1] if w.endswith("s") and len(w) > 3 else w for w in words]
    strip_es = [
        w[:-2]
        if w.endswith("es") and len(w) > 4
        else (w[:-1] if w.endswith("s") and len(w) > 3 else w)
        for w in words
    ]
    return {" ".join(words), " ".join(strip_s), " ".join(strip_es)}


def _plural_variants(phrase: str) -> set[str]:
    """`"olla"` -> `"ollas"`, `"sillon"` -> `"sillones"`: a coarse node's nouns in the plural
    (its cues are written in the singular; titles use both)."""
    words = alias_key(phrase).split()
    if not words or len(words[-1]) < 3 or not words[-1].isalpha():
        return set()
    last = words[-1]
    plural = last + "s" if last[-1] in "aeiou" else last + "es"
    return {" ".join([*words[:-1], plural])}


_LABEL_SPLIT = re.compile(r"\s*(?:>|/|\||;|»|,|\\)\s*")

# A product series glued to its number in a part-number title (`ROG-STRIX-RTX3050-O8G`,
# `GTX1650`, `RX7600XT`): two letters or more, then three digits or more, then letters; or a
# line's word glued to its generation (`Watch6`, `iPhone15`).
_GLUED_SERIES = re.compile(r"([a-z]{2,})([0-9]{3,})([a-z]*)|([a-z]{3,})([0-9]{1,2})")


# Words that say the next one is absent: a cue after them names no product.
_ABSENT_BEFORE = frozenset({"sin", "zero", "without"})


def _cue_words(text: str) -> list[tuple[int, int, str]]:
    """The title's folded words for category cues, a glued series and its number apart, so
    `rog strix rtx3050` is read by the card line `rog strix rtx` and not the notebook line, and
    `galaxy watch6` by `galaxy watch` (a word of three letters or more and a one- or two-digit
    generation)."""
    words: list[tuple[int, int, str]] = []
    for start, end, word in units.word_tokens(units.fold(text)):
        glued = _GLUED_SERIES.fullmatch(word)
        if glued is None:
            words.append((start, end, word))
            continue
        for index, part in enumerate(glued.groups()):
            if part:
                words.append((start + glued.start(index + 1), start + glued.end(index + 1), part))
    return words


class Taxonomy:
    """All categories, with label and title resolution."""

    def __init__(self, version: str, categories: list[Category]) -> None:
        self.version = version
        self._categories: dict[str, Category] = {c.id: c for c in categories}
        self._labels: PhraseIndex[str] = PhraseIndex()
        self._cues: PhraseIndex[tuple[str, int]] = PhraseIndex()
        self._children: dict[str, set[str]] = {}
        self._levels: dict[str, int] = {}
        for category in categories:
            parent = category.parent
            level = 1
            while parent is not None and level <= len(categories):
                self._children.setdefault(parent, set()).add(category.id)
                parent_cat = self._categories.get(parent)
                parent = parent_cat.parent if parent_cat else None
                level += 1
            self._levels[category.id] = level

    # ------------------------------------------------------------------ lookup

    def get(self, category_id: str | None) -> Category | None:
        if not category_id:
            return None
        return self._categories.get(category_id)

    def ids(self) -> list[str]:
        return list(self._categories)

    def leaves(self) -> list[Category]:
        """Categories with an attribute schema (the typed ones and the coarse aisles that
        carry optional sizes)."""
        return [c for c in self._categories.values() if not c.is_root]

    def typed(self) -> list[Category]:
        """The typed categories: the deep leaves with required attributes and thresholds."""
        return [c for c in self._categories.values() if c.typed]

    def level(self, category_id: str) -> int:
        """1 for a top-level node, 2 for its children, and so on; 0 for an unknown id."""
        return self._levels.get(category_id, 0)

    def top_level(self, category_id: str | None) -> str | None:
        """The top-level node a category belongs to (itself for a top-level node)."""
        current = self.get(category_id)
        seen = 0
        while current is not None and current.parent is not None and seen < len(self):
            parent = self.get(current.parent)
            if parent is None:
                break
            current = parent
            seen += 1
        return current.id if current is not None else None

    def is_ancestor(self, ancestor: str, category_id: str) -> bool:
        return category_id in self._children.get(ancestor, ())

    def __contains__(self, category_id: object) -> bool:
        return isinstance(category_id, str) and category_id in self._categories

    def __iter__(self) -> Any:
        return iter(self._categories.values())

    def __len__(self) -> int:
        return len(self._categories)

    def descendants(self, category_id: str) -> set[str]:
        return set(self._children.get(category_id, ()))

    # ------------------------------------------------------------------ resolution

    def resolve(self, retailer_category: str | None, title: str = "") -> str | None:
        """Map a retailer's category label, or failing that cues in the title, to a category id.

        Labels may be paths ("Tecnología > Celulares"); the most specific segment wins. A label
        that only names a root ("Supermercado") is refined with the title when possible.

        Retailers file products under broad departments ("Perfumería" for a shampoo, "Audio" for
        headphones, "Computación" for a tablet), so a product noun in the title (a strong cue,
        "shampoo", "audífonos", "tablet") overrides a label leaf none of whose cues the title
        carries, and a root label with no cue of its own in the title falls back to the title.
        """
        try:
            root: str | None = None
            text = title or ""
            if retailer_category and retailer_category.strip():
                label = retailer_category.strip()
                found: str | None = (
                    label if label in self._categories else self._resolve_label(label)
                )
                if found is not None:
                    if not self._categories[found].is_root:
                        return self._title_override(found, text)
                    root = found
            title_hit = self.category_from_text(text, within=root)
            if title_hit is not None:
                return title_hit
            if root is not None:
                strong = self._strong_title_cue(text)
                if strong is not None:
                    return strong
            return root
        except (TypeError, AttributeError):
            return None

    def _title_cues(self, text: str) -> list[tuple[int, int, tuple[str, int]]]:
        """The category cues of a title, but those it says are absent (`Sprite Sin Azúcar` is no
        sugar, `Galletas sin Gluten` no flour)."""
        words = _cue_words(text)
        said = [word for _start, _end, word in words]
        absent = {
            words[index][0]
            for index in range(1, len(words))
            if said[index - 1] in _ABSENT_BEFORE
            or said[max(index - 2, 0) : index] == ["libre", "de"]
        }
        return [hit for hit in self._cues.scan(words) if hit[0] not in absent]

    def _strong_title_cue(self, text: str) -> str | None:
        """The earliest product noun (strong cue) in the title, if any."""
        best: tuple[int, str] | None = None
        for start, _end, (category_id, strength) in self._title_cues(text):
            if strength >= CUE_STRONG and (best is None or start < best[0]):
                best = (start, category_id)
        return best[1] if best else None

    def _title_override(self, label_leaf: str, title: str) -> str:
        """The label's leaf, unless the title names another product and nothing of the label's."""
        if not title:
            return label_leaf
        strong: tuple[int, str] | None = None
        for start, _end, (category_id, strength) in self._title_cues(title):
            if category_id == label_leaf and strength >= CUE_LINE:
                return label_leaf
            if strength >= CUE_STRONG and (strong is None or start < strong[0]):
                strong = (start, category_id)
        return strong[1] if strong is not None else label_leaf

    def _resolve_label(self, label: str) -> str | None:
        root: str | None = None
        for segment in reversed(_LABEL_SPLIT.split(label)):
            found = self._labels.get(segment) or self._labels.get(segment.replace("_", " "))
            if found is None:
                continue
            if not self._categories[found].is_root:
                return found
            root = root or found
        leaf = self.category_from_text(label, within=root)
        return leaf or root

    def category_from_text(self, text: str, within: str | None = None) -> str | None:
        """Best leaf category cued by the text: strongest cue first, then earliest position."""
        if not text:
            return None
        allowed = self.descendants(within) if within else None
        best: tuple[int, int, str] | None = None
        first_typed: int | None = None
        coarse: tuple[int, str] | None = None
        for start, _end, (category_id, strength) in self._title_cues(text):
            if allowed is not None and category_id not in allowed:
                continue
            if self._categories[category_id].coarse:
                if coarse is None:
                    coarse = (start, category_id)
                continue
            first_typed = start if first_typed is None else min(first_typed, start)
            rank = (-strength, start, category_id)
            if best is None or rank < best:
                best = rank
        # A coarse node's noun decides only when it comes before every typed cue: "Mesa para
        # TV" is furniture, "Apple Watch Series 9 GPS" stays a watch.
        if coarse is not None and (first_typed is None or coarse[0] < first_typed):
            return coarse[1]
        if best is None:
            return None
        part = self._categories[best[2]].bare_part
        if (
            -best[0] == CUE_WEAK
            and part is not None
            and (allowed is None or part in allowed)
            and _SIZE_STATED.search(alias_key(text)) is None
        ):
            return part
        return best[2]

    def cue_matches(self, folded: str) -> list[tuple[int, int, str, int]]:
        """All category cues in folded text as (start, end, category id, strength)."""
        return [
            (s, e, cat, strength)
            for s, e, (cat, strength) in self._cues.scan(units.word_tokens(folded))
        ]

    # ------------------------------------------------------------------ persistence

    def rows(self) -> list[dict[str, Any]]:
        """Rows for `categories(category_id, name, synonyms, parent_id, attribute_schema,
        confidence_threshold, coverage_threshold, active)`; parents come before children."""
        ordered: list[Category] = []
        seen: set[str] = set()

        def visit(category: Category) -> None:
            if category.id in seen:
                return
            if category.parent and category.parent in self._categories:
                visit(self._categories[category.parent])
            seen.add(category.id)
            ordered.append(category)

        for category in self._categories.values():
            visit(category)
        return [
            {
                "category_id": c.id,
                "name": c.name,
                "synonyms": list(c.synonyms),
                "parent_id": c.parent,
                "attribute_schema": c.attribute_schema(),
                "confidence_threshold": c.confidence_threshold,
                "coverage_threshold": c.coverage_threshold,
                "active": c.active,
            }
            for c in ordered
        ]

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Taxonomy:
        version = str(data.get("version") or "")
        if not version:
            raise TaxonomyError("taxonomy has no version")
        defaults = dict(data.get("defaults") or {})
        specs = {
            name: _attribute_spec(name, raw)
            for name, raw in (data.get("attribute_types") or {}).items()
        }
        key_aliases = {
            alias_key(key): tuple(targets if isinstance(targets, list) else [targets])
            for key, targets in (data.get("attribute_aliases") or {}).items()
        }
        raw_categories = data.get("categories") or []
        categories: list[Category] = []
        for raw in raw_categories:
            categories.append(_category(raw, specs, defaults, key_aliases))
        taxonomy = cls(version, categories)
        taxonomy._build_indexes(raw_categories)
        taxonomy._validate()
        return taxonomy

    def _build_indexes(self, raw_categories: list[Mapping[str, Any]]) -> None:
        exact: dict[str, str] = {}
        for raw in raw_categories:
            category = self._categories[str(raw["id"])]
            for label in (category.id, category.name, *category.synonyms):
                key = alias_key(label)
                if exact.get(key, category.id) != category.id:
                    raise TaxonomyError(f"label {label!r} names {exact[key]!r} and {category.id!r}")
                exact[key] = category.id
                self._labels.add(key, category.id)
                self._labels.add(category.id.replace("_", " "), category.id)
        for raw in raw_categories:
            category = self._categories[str(raw["id"])]
            for label in (category.name, *category.synonyms):
                for variant in _singular_variants(label):
                    self._labels.add(variant, category.id)
        # Cues: strong ones from every category first, so a weak hint never shadows a noun.
        passes: list[tuple[str, int]] = [
            ("cues", CUE_STRONG),
            ("synonyms", CUE_SYNONYM),
            ("line_cues", CUE_LINE),
            ("weak_cues", CUE_WEAK),
        ]
        for key, strength in passes:
            for raw in raw_categories:
                category = self._categories[str(raw["id"])]
                if key == "synonyms" and category.coarse:
                    # Department names ("Hogar", "Home", "Auto") are labels, not title cues.
                    continue
                for phrase in raw.get(key) or []:
                    variants = _singular_variants(str(phrase))
                    if category.coarse:
                        variants |= _plural_variants(str(phrase))
                    for variant in variants:
                        self._cues.add(
                            variant, (category.id, self._strength(category.id, variant, strength))
                        )

    def _strength(self, category_id: str, variant: str, strength: int) -> int:
        """A label that starts with one of its category's product nouns ("Audífonos
        inalámbricos") is as strong a cue as the noun itself."""
        if strength != CUE_SYNONYM:
            return strength
        words = alias_key(variant).split()
        for size in range(len(words) - 1, 0, -1):
            hit = self._cues.get(" ".join(words[:size]))
            if hit is not None and hit == (category_id, CUE_STRONG):
                return CUE_STRONG
        return strength

    def _validate(self) -> None:
        for category in self._categories.values():
            if category.parent is not None and category.parent not in self._categories:
                raise TaxonomyError(f"{category.id}: unknown parent {category.parent!r}")
            if category.bare_part is not None and category.bare_part not in self._categories:
                raise TaxonomyError(f"{category.id}: unknown bare part {category.bare_part!r}")
            if self.level(category.id) > len(self._categories):
                raise TaxonomyError(f"{category.id}: its parents form a cycle")
            if category.coarse and (category.required or category.required_one_of):
                raise TaxonomyError(f"{category.id}: a coarse node has no required attributes")
            named = (
                set(category.required)
                | set(category.optional)
                | set(category.identity)
                | set(category.name_attributes)
                | set(category.keep_in_model)
                | {a for group in category.required_one_of for a in group}
            )
            unknown = named - set(category.attributes)
            if unknown:
                raise TaxonomyError(f"{category.id}: undefined attributes {sorted(unknown)}")


def _attribute_spec(name: str, raw: Mapping[str, Any]) -> AttributeSpec:
    kind = str(raw.get("type", "str"))
    if kind not in ("str", "int", "float", "bool", "enum"):
        raise TaxonomyError(f"attribute {name}: bad type {kind!r}")
    values = tuple(str(v) for v in raw.get("values") or ())
    if kind == "enum" and not values:
        raise TaxonomyError(f"attribute {name}: enum without values")
    keywords = tuple(
        (str(value), tuple(str(w) for w in words))
        for value, words in (raw.get("keywords") or {}).items()
    )
    for value, _words in keywords:
        if kind == "enum" and value not in values:
            raise TaxonomyError(f"attribute {name}: keyword value {value!r} not in enum")
    return AttributeSpec(
        name=name,
        type=kind,  # type: ignore[arg-type]
        unit=raw.get("unit"),
        values=values,
        default=raw.get("default"),
        keywords=keywords,
    )


def _category(
    raw: Mapping[str, Any],
    specs: Mapping[str, AttributeSpec],
    defaults: Mapping[str, Any],
    key_aliases: Mapping[str, tuple[str, ...]],
) -> Category:
    category_id = str(raw["id"])
    required = tuple(raw.get("required") or ())
    one_of = tuple(tuple(group) for group in raw.get("required_one_of") or ())
    optional = tuple(raw.get("optional") or ())
    names: list[str] = []
    for name in (*required, *(a for g in one_of for a in g), *optional):
        if name not in names:
            names.append(name)
    missing = [n for n in names if n not in specs]
    if missing:
        raise TaxonomyError(f"{category_id}: attributes without a type {missing}")
    attributes = {name: specs[name] for name in names}
    keyword_index: PhraseIndex[tuple[str, str]] = PhraseIndex()
    for name in names:
        for value, words in specs[name].keywords:
            for word in words:
                keyword_index.add(word, (name, value))
    kind = str(raw.get("kind", defaults.get("kind", "tech")))
    if kind not in ("tech", "goods"):
        raise TaxonomyError(f"{category_id}: bad kind {kind!r}")
    return Category(
        id=category_id,
        name=str(raw.get("name") or category_id),
        parent=raw.get("parent"),
        synonyms=tuple(str(s) for s in raw.get("synonyms") or ()),
        attributes=attributes,
        required=required,
        required_one_of=one_of,
        optional=tuple(n for n in optional if n not in required),
        identity=tuple(raw.get("identity") or ()),
        name_attributes=tuple(raw.get("name_attributes") or ()),
        keep_in_model=tuple(raw.get("keep_in_model") or ()),
        strip_words=tuple(str(w) for w in raw.get("strip_words") or ()),
        bare_part=raw.get("bare_part"),
        code_identity=bool(raw.get("code_identity", False)),
        kind=kind,  # type: ignore[arg-type]
        complexity=float(raw.get("complexity", defaults.get("complexity", 0.5))),
        confidence_threshold=float(
            raw.get("confidence_threshold", defaults.get("confidence_threshold", 0.75))
        ),
        coverage_threshold=float(
            raw.get("coverage_threshold", defaults.get("coverage_threshold", 0.70))
        ),
        l1_ttl_s=int(raw.get("l1_ttl_s", defaults.get("l1_ttl_s", 3600))),
        l2_threshold=float(raw.get("l2_threshold", defaults.get("l2_threshold", 0.85))),
        active=bool(raw.get("active", True)),
        coarse=bool(raw.get("coarse", not attributes)),
        unbranded=bool(raw.get("unbranded", False)),
        key_aliases=key_aliases,
        keyword_index=keyword_index,
    )


@lru_cache(maxsize=1)
def load_taxonomy() -> Taxonomy:
    """The packaged taxonomy (`data/taxonomy.yaml`), loaded once."""
    text = resources.files("catalog.domain").joinpath("data/taxonomy.yaml").read_text("utf-8")
    return Taxonomy.from_dict(yaml.safe_load(text))
