"""Validation of a model's answer: taxonomy, attribute schema, brand aliases, quality gate.

`review_answer` is pure: it takes the parsed answer, the routed listing (for the rules
extraction and the category the router resolved) and returns either a clean `Extraction` or the
list of reasons it fails the bar. The reasons are short stable labels with a detail, e.g.
`low_confidence: 0.41 < 0.75`; the label (before the colon) is what metrics count.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from catalog.domain.brands import BrandAliases
from catalog.domain.extractor import normalized_name
from catalog.domain.taxonomy import Taxonomy
from catalog.llm.answers import ModelAnswer
from schemas.models import AttributeValue, Extraction, RoutedListing


@dataclass(frozen=True)
class Verdict:
    extraction: Extraction
    reasons: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.reasons


def reason_label(reason: str) -> str:
    return reason.split(":", 1)[0]


def gate(
    extraction: Extraction,
    taxonomy: Taxonomy,
    *,
    min_confidence: float,
    min_coverage: float,
) -> list[str]:
    """The quality bar; an empty list means it passes."""
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
    if category is not None:
        coverage = category.coverage(extraction.attributes)
        bar = max(min_coverage, category.coverage_threshold)
        if coverage < bar:
            missing = ", ".join(category.missing(extraction.attributes))
            reasons.append(f"low_coverage: {coverage:.2f} < {bar:.2f} (missing {missing})")
    return reasons


def review_answer(
    answer: ModelAnswer,
    routed: RoutedListing,
    taxonomy: Taxonomy,
    brands: BrandAliases,
    *,
    min_confidence: float,
    min_coverage: float,
) -> Verdict:
    # Taxonomy is strict: the model's suggestion is taken only if it names a real category.
    category_id = routed.category
    if answer.category_suggestion and answer.category_suggestion in taxonomy:
        category_id = answer.category_suggestion
    category = taxonomy.get(category_id)
    # Where the model is silent, what the rules read (from the title, and from the retailer's
    # brand field and spec table, which the prompts do not carry) fills the gap.
    brand = routed.rules.brand
    if answer.brand:
        brand = brands.canonical(answer.brand) or answer.brand.strip().upper()
    attributes: dict[str, AttributeValue] = {}
    if category is not None:
        # What the rules read from the title fills what the model left out.
        attributes = dict(routed.rules.attributes) if routed.rules.category == category.id else {}
        attributes.update(category.canonical_attributes(answer.attributes))
    model = (answer.model or "").strip() or routed.rules.model
    name = answer.normalized_name
    if not name and brand and model:
        name = normalized_name(brand, model, category, attributes)
    extraction = Extraction(
        brand=brand,
        model=model,
        normalized_name=name,
        category=category.id if category else category_id,
        attributes=attributes,
        confidence=answer.confidence,
        missing_required=category.missing(attributes) if category else [],
    )
    return Verdict(
        extraction,
        gate(extraction, taxonomy, min_confidence=min_confidence, min_coverage=min_coverage),
    )
