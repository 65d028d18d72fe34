"""Validation of a normalization answer: taxonomy, attribute schema, brand aliases, quality gate.

Everything here is pure. `review_answer` takes a model's parsed answer and the routed listing (for
the rules extraction and the category the router resolved); `review_correction` takes a human
correction from the review queue. Both return a `Verdict`: the clean `Extraction`, the reasons
it fails the bar (empty when it passes), the schema issues (values that were rejected and
dropped) and notes (corrections applied, keys outside the schema, ignored suggestions).

Reasons and issues are short stable labels with a detail, e.g. `low_confidence: 0.41 < 0.75` or
`invalid_attribute: panel='plasma'`; the label (before the colon) is what metrics count.

Attribute values go through the category's schema: keys are mapped to canonical names
(`capacity` -> `storage_gb` for a phone, `volume_ml` for a drink), values are coerced to the
attribute's type and unit (`"1 TB"` -> 1024, `"55 pulgadas"` -> 55.0, `"Qled"` -> `QLED`,
`"eau de parfum"` -> `EDP`), enum spellings are corrected when they are close to exactly one
allowed value (`"Eau de Toilete"` -> `EDT`), and anything still invalid is reported and dropped.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from catalog.domain.brands import UNBRANDED, BrandAliases, brand_spelling, house_brand
from catalog.domain.extractor import normalized_name, with_part_number
from catalog.domain.taxonomy import OTHER, AttributeSpec, Category, Taxonomy
from catalog.domain.units import PhraseIndex, alias_key, fold, word_tokens
from catalog.llm.answers import ModelAnswer
from schemas.models import AttributeValue, Extraction, RoutedListing

__all__ = [
    "AttributeCheck",
    "Verdict",
    "canonical_brand",
    "check_attributes",
    "coverage_note",
    "gate",
    "reason_label",
    "resolve_category",
    "review_answer",
    "review_correction",
]

# Brands a model writes when it does not know one (or copies the prompt's template text). A
# declared unbranded product ("Genérico", "sin marca", "generic") is not a placeholder: the brand
# aliases map it to the unbranded brand.
_PLACEHOLDER_BRANDS = frozenset(
    alias_key(b)
    for b in (
        "n/a",
        "na",
        "none",
        "null",
        "unknown",
        "desconocido",
        "desconocida",
        "marca detectada",
        "marca normalizada en mayúsculas",
        "brand",
        "marca",
    )
)
_PLACEHOLDER_MODELS = frozenset(
    alias_key(m)
    for m in ("n/a", "na", "none", "null", "unknown", "desconocido", "modelo específico")
)

# Extra spellings of enum values (Spanish names, long forms) used for spelling correction; the
# allowed values themselves and the taxonomy's keywords are always candidates too.
_ENUM_PHRASES: dict[str, dict[str, str]] = {
    "concentration": {
        "eau de parfum": "EDP",
        "eau de toilette": "EDT",
        "eau de cologne": "Cologne",
        "colonia": "Cologne",
        "extrait de parfum": "Parfum",
        "parfum": "Parfum",
        "perfume": "Parfum",
    },
    "color": {
        "negro": "black",
        "blanco": "white",
        "azul": "blue",
        "rojo": "red",
        "verde": "green",
        "gris": "gray",
        "grey": "gray",
        "plateado": "silver",
        "plata": "silver",
        "dorado": "gold",
        "rosado": "pink",
        "rosa": "pink",
        "morado": "purple",
        "violeta": "purple",
        "amarillo": "yellow",
        "naranja": "orange",
        "cafe": "brown",
        "marron": "brown",
        "titanio": "titanium",
    },
    "gender": {
        "mujer": "women",
        "femenino": "women",
        "dama": "women",
        "hombre": "men",
        "masculino": "men",
        "varon": "men",
    },
    "panel": {"mini led": "MiniLED", "nano cell": "NanoCell", "neo qled": "MiniLED"},
    "resolution": {"ultra hd": "4K", "uhd": "4K", "full hd": "FHD", "hd ready": "HD"},
    "network": {"lte": "4G"},
}
_FUZZY_CUTOFF = 0.8
_FUZZY_MIN_CHARS = 4
_MAX_SHOWN = 60


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 4] + "...'"


@dataclass(frozen=True)
class Verdict:
    """The outcome of validating one answer."""

    extraction: Extraction
    reasons: list[str] = field(default_factory=list)
    issues: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.reasons

    @property
    def all_reasons(self) -> list[str]:
        """Gate failures first, then the schema issues that may explain them."""
        return [*self.reasons, *self.issues]


def reason_label(reason: str) -> str:
    return reason.split(":", 1)[0].strip()


# ---------------------------------------------------------------------------- attributes


@dataclass(frozen=True)
class AttributeCheck:
    attributes: dict[str, AttributeValue]
    issues: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _enum_candidates(spec: AttributeSpec) -> dict[str, str]:
    """Folded phrase -> allowed value, for spelling correction of one enum attribute."""
    out: dict[str, str] = {}
    for value in spec.values:
        out.setdefault(alias_key(value), value)
        out.setdefault(alias_key(value.replace("_", " ")), value)
    for value, words in spec.keywords:
        for word in words:
            out.setdefault(alias_key(word), value)
    for phrase, value in _ENUM_PHRASES.get(spec.name, {}).items():
        if value in spec.values:
            out.setdefault(alias_key(phrase), value)
    return {k: v for k, v in out.items() if k}


def correct_enum(spec: AttributeSpec, text: str) -> str | None:
    """The one allowed value `text` is a misspelling or a decorated form of, else None.

    `"Eau de Toilete"` -> `EDT` (close spelling), `"NVMe Gen4"` -> `NVMe` (one allowed value
    named among other words); `"plasma"` -> None; a text naming two values is ambiguous -> None.
    """
    if spec.type != "enum":
        return None
    candidates = _enum_candidates(spec)
    key = alias_key(text)
    if not key:
        return None
    if key in candidates:
        return candidates[key]
    squeezed = {k.replace(" ", ""): v for k, v in candidates.items()}
    if key.replace(" ", "") in squeezed:
        return squeezed[key.replace(" ", "")]
    # Every allowed value named in the text, as whole words: exactly one is an answer.
    index: PhraseIndex[str] = PhraseIndex((k, v) for k, v in candidates.items())
    named = {value for _s, _e, value in index.scan(word_tokens(fold(text)))}
    if len(named) == 1:
        return named.pop()
    if named or len(key) < _FUZZY_MIN_CHARS:
        return None
    close = difflib.get_close_matches(
        key, [k for k in candidates if len(k) >= _FUZZY_MIN_CHARS], n=2, cutoff=_FUZZY_CUTOFF
    )
    values = {candidates[c] for c in close}
    return values.pop() if len(values) == 1 else None


def _expected(spec: AttributeSpec) -> str:
    if spec.type == "enum":
        return "one of " + ", ".join(spec.values)
    if spec.type in ("int", "float"):
        unit = f" in {spec.unit}" if spec.unit else ""
        return f"a non-negative {'integer' if spec.type == 'int' else 'number'}{unit}"
    return "true or false" if spec.type == "bool" else "text"


def check_attributes(category: Category, raw: Mapping[str, object]) -> AttributeCheck:
    """Map keys to the category's schema and coerce values; report what cannot be used.

    Keys outside the schema are noted and ignored (`unknown_attribute: flavor`); a value that
    cannot be read as its attribute's type is an issue and is dropped
    (`invalid_attribute: panel='plasma'`, `wrong_type: storage_gb='lots'`).
    """
    out: dict[str, AttributeValue] = {}
    issues: list[str] = []
    notes: list[str] = []
    for key, value in raw.items():
        if not isinstance(key, str):
            continue
        name = category.attribute_for(key, value)
        if name is None:
            notes.append(f"unknown_attribute: {key[:_MAX_SHOWN]}")
            continue
        if name in out:
            continue
        coerced = category.coerce(name, value)
        spec = category.attributes[name]
        if coerced is None and isinstance(value, str):
            coerced = correct_enum(spec, value)
            if coerced is not None:
                notes.append(f"corrected_attribute: {name}={_shown(value)} -> {coerced!r}")
        if coerced is not None:
            out[name] = coerced
            continue
        label = "invalid_attribute" if spec.type == "enum" else "wrong_type"
        issues.append(f"{label}: {name}={_shown(value)} (expected {_expected(spec)})")
    return AttributeCheck(out, issues, notes)


# ---------------------------------------------------------------------------- brand, category


def canonical_brand(raw: str | None, brands: BrandAliases) -> str | None:
    """`"apple inc"` -> APPLE, `"Coca Cola"` -> COCA-COLA; an unknown brand is spelled one way
    (`brand_spelling`: `"Yogurísimo"` -> YOGURISIMO); empty and placeholder brands (`"N/A"`,
    `"desconocida"`) are None."""
    if raw is None:
        return None
    text = re.sub(r"\s+", " ", str(raw)).strip()
    if not text or alias_key(text) in _PLACEHOLDER_BRANDS or not alias_key(text):
        return None
    return brands.canonical(text) or brand_spelling(text)


def _clean_model(raw: str | None) -> str | None:
    if raw is None:
        return None
    text = re.sub(r"\s+", " ", str(raw)).strip()
    if not text or alias_key(text) in _PLACEHOLDER_MODELS or not alias_key(text):
        return None
    return text[:200]


def resolve_category(
    suggestion: str | None, current: str | None, taxonomy: Taxonomy
) -> tuple[str | None, list[str]]:
    """Strict taxonomy: a suggestion is taken only if it names an existing node that is not
    less specific than the current one (an ancestor of it, or `other` over anything)."""
    notes: list[str] = []
    if suggestion and suggestion.strip():
        wanted = suggestion.strip()
        for candidate in (wanted, alias_key(wanted).replace(" ", "_")):
            found = taxonomy.get(candidate)
            if found is None:
                continue
            less_specific = found.id == OTHER or taxonomy.is_ancestor(found.id, current or "")
            if current in taxonomy and less_specific:
                break
            return found.id, notes
        if wanted != current:
            notes.append(f"unknown_category_suggestion: {_shown(wanted)} (kept {current!r})")
    return current, notes


# ---------------------------------------------------------------------------- gate


def gate(
    extraction: Extraction,
    taxonomy: Taxonomy,
    *,
    min_confidence: float,
    min_coverage: float,
) -> list[str]:
    """The quality bar; an empty list means it passes.

    Open world: any node of the taxonomy is a category (a coarse one has no schema), a brand
    outside the alias table is a brand, and a required attribute the answer leaves out is
    unknown, not a failure (it stays listed in `missing_required`; `min_coverage` only marks it
    as incomplete in the verdict's notes). What fails is what a person must decide: no category,
    no brand (nor a declared unbranded product), no model or name, low confidence.
    """
    reasons: list[str] = []
    category = taxonomy.get(extraction.category)
    if category is None:
        reasons.append(f"unknown_category: {extraction.category!r}")
    if not extraction.brand:
        reasons.append("missing_brand: no brand")
    if not extraction.model:
        reasons.append("missing_model: no model")
    if not extraction.normalized_name:
        reasons.append("missing_normalized_name: no normalized name")
    threshold = max(min_confidence, category.confidence_threshold if category else 0.0)
    if extraction.confidence < threshold:
        reasons.append(f"low_confidence: {extraction.confidence:.2f} < {threshold:.2f}")
    return reasons


def coverage_note(extraction: Extraction, taxonomy: Taxonomy, *, min_coverage: float) -> str | None:
    """`incomplete: ...` when the required attributes read fall below the coverage bar; a note,
    never a failure (what the title does not state stays unknown)."""
    category = taxonomy.get(extraction.category)
    if category is None or category.is_root:
        return None
    coverage = category.coverage(extraction.attributes)
    bar = max(min_coverage, category.coverage_threshold)
    if coverage >= bar:
        return None
    missing = ", ".join(category.missing(extraction.attributes))
    return f"incomplete: coverage {coverage:.2f} < {bar:.2f} (unknown {missing})"


def _verdict(
    *,
    brand: str | None,
    model: str | None,
    name: str | None,
    category_id: str | None,
    attributes: dict[str, AttributeValue],
    confidence: float,
    issues: list[str],
    notes: list[str],
    taxonomy: Taxonomy,
    min_confidence: float,
    min_coverage: float,
    title: str | None = None,
) -> Verdict:
    category = taxonomy.get(category_id)
    if not name and brand and model:
        shown = None if brand == UNBRANDED else brand  # a generic product is named by its model
        name = normalized_name(shown, model, category, attributes)
    if name and title:
        name = with_part_number(name, title, category)
    extraction = Extraction(
        brand=brand,
        model=model,
        normalized_name=(name or "").strip()[:500] or None,
        category=category.id if category else category_id,
        attributes=attributes,
        confidence=confidence,
        missing_required=category.missing(attributes) if category else [],
    )
    reasons = gate(extraction, taxonomy, min_confidence=min_confidence, min_coverage=min_coverage)
    incomplete = coverage_note(extraction, taxonomy, min_coverage=min_coverage)
    if incomplete is not None:
        notes = [*notes, incomplete]
    return Verdict(extraction, reasons, issues, notes)


def review_answer(
    answer: ModelAnswer,
    routed: RoutedListing,
    taxonomy: Taxonomy,
    brands: BrandAliases,
    *,
    min_confidence: float,
    min_coverage: float,
) -> Verdict:
    """Validate a model's answer for a routed listing."""
    category_id, notes = resolve_category(answer.category_suggestion, routed.category, taxonomy)
    category = taxonomy.get(category_id)
    rules = routed.rules
    # Where the model is silent, what the rules read (from the title, and from the retailer's
    # brand field and spec table, which the prompts do not carry) fills the gap. A brand the
    # store states is no guess and comes first: its brand field, which the prompts do not carry
    # (a title without its brand leaves a model only the line's name, "Tablet Pad X9"), and its
    # own brand named in its title, which a model cannot tell from a maker's name.
    house = house_brand(routed.listing.name, routed.listing.retailer)
    stated = bool(routed.listing.brand and routed.listing.brand.strip())
    if rules.brand and (
        (stated and not brands.is_unbranded(rules.brand))
        or (house is not None and rules.brand == canonical_brand(house, brands))
    ):
        brand: str | None = rules.brand
    else:
        brand = canonical_brand(answer.brand, brands) or rules.brand
    attributes: dict[str, AttributeValue] = {}
    issues: list[str] = []
    if category is not None and not category.is_root:
        if rules.category == category.id:
            attributes = dict(rules.attributes)
        checked = check_attributes(category, answer.attributes)
        attributes.update(checked.attributes)
        issues = checked.issues
        notes = [*notes, *checked.notes]
    model = _clean_model(answer.model) or rules.model
    return _verdict(
        brand=brand,
        model=model,
        name=answer.normalized_name,
        category_id=category_id,
        attributes=attributes,
        confidence=answer.confidence,
        issues=issues,
        notes=notes,
        taxonomy=taxonomy,
        min_confidence=min_confidence,
        min_coverage=min_coverage,
        title=routed.listing.name,
    )


def review_correction(
    *,
    brand: str | None,
    model: str | None,
    category: str | None,
    attributes: Mapping[str, object],
    normalized: str | None,
    taxonomy: Taxonomy,
    brands: BrandAliases,
    min_confidence: float,
    min_coverage: float,
) -> Verdict:
    """Validate a human correction with the same rules; a person's answer has confidence 1.0.

    The category must exist as given (no fallback), the brand is canonicalized, attribute values
    are coerced like a model's, and invalid ones are issues that fail the correction (a person
    typing `panel=plasma` wants to know, not to have it silently dropped).
    """
    notes: list[str] = []
    issues: list[str] = []
    found = taxonomy.get(category)
    checked_attributes: dict[str, AttributeValue] = {}
    if found is not None and not found.is_root:
        checked = check_attributes(found, attributes)
        checked_attributes = checked.attributes
        issues = checked.issues
        notes = checked.notes
    verdict = _verdict(
        brand=canonical_brand(brand, brands),
        model=_clean_model(model),
        name=normalized,
        category_id=category,
        attributes=checked_attributes,
        confidence=1.0,
        issues=issues,
        notes=notes,
        taxonomy=taxonomy,
        min_confidence=min_confidence,
        min_coverage=min_coverage,
    )
    unknown = [n for n in notes if reason_label(n) == "unknown_attribute"]
    return Verdict(verdict.extraction, [*verdict.reasons, *issues, *unknown], issues, verdict.notes)
