"""The fallback chain, decided per result; no I/O.

- an answer that passes the gate -> products.validated.v1;
- an answer below the bar -> the full model with the detailed prompt (or, when the full model's
  own answer was below the bar, the fallback model for a second opinion);
- a call that failed (API error, unparseable answer) -> the fallback model with the fallback
  prompt (or the full model, when the fallback model itself failed);
  retries are bounded by `validation.max_llm_attempts` in all;
- out of attempts -> the rules extraction if it passes the same gate, else products.review.v1
  with every reason collected on the way (per model, then the rules').

Every rejection is counted in `catalog_validation_failures_total` by its reason label, schema
issues included (an invalid value is counted even when the answer passes without it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from catalog import metrics, products
from catalog.domain.brands import BrandAliases
from catalog.domain.taxonomy import Taxonomy
from catalog.kafka.topics import LLM_REQUESTS, REVIEW, VALIDATED
from catalog.llm.answers import AnswerError, parse_answer
from catalog.service import Incoming, Outgoing, Result
from catalog.settings import Settings
from catalog.validation import Verdict, gate, reason_label, review_answer
from schemas.models import Extraction, LLMRequest, LLMResult, PromptKind, ReviewItem


@dataclass(frozen=True)
class Assessment:
    """What one result says: the verdict on its answer, or why there is no usable answer."""

    verdict: Verdict | None
    reasons: list[str]

    @property
    def failed_call(self) -> bool:
        return self.verdict is None

    @property
    def passed(self) -> bool:
        return self.verdict is not None and self.verdict.passed


class Validator:
    def __init__(self, settings: Settings, taxonomy: Taxonomy, brands: BrandAliases) -> None:
        self.settings = settings
        self.taxonomy = taxonomy
        self.brands = brands
        self.limits = settings.validation

    def assess(self, result: LLMResult) -> Assessment:
        if not result.ok:
            return Assessment(None, [f"call_failed: {(result.error or 'unknown error')[:300]}"])
        try:
            answer = parse_answer(result.content)
        except AnswerError as exc:
            return Assessment(None, [f"unparseable_answer: {exc.reason}: {exc.detail[:200]}"])
        verdict = review_answer(
            answer,
            result.request.routed,
            self.taxonomy,
            self.brands,
            min_confidence=self.limits.min_confidence,
            min_coverage=self.limits.min_attr_coverage,
        )
        return Assessment(verdict, verdict.all_reasons)

    def next_step(self, request: LLMRequest, failed_call: bool) -> tuple[str, PromptKind]:
        """The model and prompt of the next attempt."""
        llm = self.settings.llm
        if failed_call:
            if request.model != llm.fallback_model:
                return llm.fallback_model, "fallback"
            return llm.full_model, "detailed"
        if request.model != llm.full_model:
            return llm.full_model, "detailed"
        return llm.fallback_model, "fallback"

    def decide(self, result: LLMResult) -> list[Outgoing]:
        request = result.request
        routed = request.routed
        assessment = self.assess(result)
        for reason in assessment.reasons:
            metrics.VALIDATION_FAILURES.labels(reason_label(reason)).inc()
        if assessment.passed:
            assert assessment.verdict is not None
            answer = assessment.verdict.extraction
            metrics.CONFIDENCE.labels("llm").observe(answer.confidence)
            metrics.VALIDATED.labels("llm", routed.tier).inc()
            validated = products.from_extraction(
                routed,
                answer,
                source="llm",
                prompt_version=request.prompt_version,
                model_used=request.model,
                usage=result.usage,
                cost_usd=result.cost_usd,
                custom_id=result.custom_id,
            )
            return [Outgoing(VALIDATED, routed.listing.listing_key, validated)]
        reasons = [
            *request.previous_reasons,
            *(f"{request.model}: {r}" for r in assessment.reasons),
        ]
        if request.attempt < self.limits.max_llm_attempts:
            return [self._retry(request, reasons, assessment.failed_call)]
        best = assessment.verdict.extraction if assessment.verdict else None
        return [self._last_resort(result, reasons, best)]

    def _retry(self, request: LLMRequest, reasons: list[str], failed_call: bool) -> Outgoing:
        model, kind = self.next_step(request, failed_call)
        attempt = request.attempt + 1
        metrics.FALLBACKS.labels(model).inc()
        retry = LLMRequest(
            custom_id=products.custom_id(
                request.routed.listing.listing_key, request.routed.input_fingerprint, attempt
            ),
            routed=request.routed.model_copy(update={"tier": "fallback"}),
            model=model,
            prompt_kind=kind,
            prompt_version=request.prompt_version,
            attempt=attempt,
            previous_reasons=reasons,
        )
        return Outgoing(LLM_REQUESTS, retry.custom_id, retry, {"attempt": str(attempt)})

    def _last_resort(
        self, result: LLMResult, reasons: list[str], best: Extraction | None
    ) -> Outgoing:
        routed = result.request.routed
        rules = routed.rules
        rule_reasons = gate(
            rules,
            self.taxonomy,
            min_confidence=self.limits.min_confidence,
            min_coverage=self.limits.min_attr_coverage,
        )
        if not rule_reasons and rules.brand and rules.model and rules.category:
            metrics.VALIDATED.labels("rules", routed.tier).inc()
            validated = products.from_extraction(
                routed, rules, source="rules", prompt_version=result.request.prompt_version
            )
            return Outgoing(VALIDATED, routed.listing.listing_key, validated)
        for reason in rule_reasons:
            metrics.VALIDATION_FAILURES.labels(reason_label(reason)).inc()
        all_reasons = [*reasons, *(f"rules: {r}" for r in rule_reasons)]
        first = all_reasons[0].split(": ", 1)[-1] if all_reasons else "unknown"
        metrics.REVIEW.labels(reason_label(first)).inc()
        if best is None and (rules.brand or rules.model):
            best = rules
        item = ReviewItem(
            listing=routed.listing,
            input_fingerprint=routed.input_fingerprint,
            reasons=all_reasons,
            best_answer=best,
            attempts=result.request.attempt,
        )
        return Outgoing(REVIEW, routed.listing.listing_key, item)

    async def handle(self, batch: Sequence[Incoming[LLMResult]]) -> list[Result]:
        return [self.decide(item.value) for item in batch]
