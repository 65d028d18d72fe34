"""The fallback chain, decided per result; no I/O.

- an answer that passes the gate -> products.validated.v1;
- a call that failed (error, unparseable answer) -> the fallback model with the fallback prompt;
- an answer below the bar -> the full model with the detailed prompt;
  both bounded by `max_llm_attempts` in all;
- out of attempts -> the rules extraction if it passes the same gate, else products.review.v1
  with every reason collected on the way.
"""

from __future__ import annotations

from collections.abc import Sequence

from catalog import metrics, products
from catalog.domain.brands import BrandAliases
from catalog.domain.taxonomy import Taxonomy
from catalog.kafka.topics import LLM_REQUESTS, REVIEW, VALIDATED
from catalog.llm.answers import AnswerError, parse_answer
from catalog.service import Incoming, Outgoing, Result
from catalog.settings import Settings
from catalog.validation import gate, reason_label, review_answer

from schemas.models import Extraction, LLMRequest, LLMResult, ReviewItem


class Validator:
    def __init__(self, settings: Settings, taxonomy: Taxonomy, brands: BrandAliases) -> None:
        self.settings = settings
        self.taxonomy = taxonomy
        self.brands = brands
        self.limits = settings.validation

    def decide(self, result: LLMResult) -> Sequence[Outgoing]:
        request = result.request
        routed = request.routed
        key = routed.listing.listing_key
        best: Extraction | None = None
        if not result.ok:
            reasons = [f"call_failed: {result.error or 'unknown error'}"]
        else:
            try:
                answer = parse_answer(result.content)
            except AnswerError as exc:
                reasons = [f"unparseable_answer: {exc}"]
            else:
                verdict = review_answer(
                    answer,
                    routed,
                    self.taxonomy,
                    self.brands,
                    min_confidence=self.limits.min_confidence,
                    min_coverage=self.limits.min_attr_coverage,
                )
                best = verdict.extraction
                if verdict.passed:
                    metrics.CONFIDENCE.labels("llm").observe(best.confidence)
                    metrics.VALIDATED.labels("llm", routed.tier).inc()
                    validated = products.from_extraction(
                        routed,
                        best,
                        source="llm",
                        prompt_version=request.prompt_version,
                        model_used=request.model,
                        usage=result.usage,
                        cost_usd=result.cost_usd,
                        custom_id=result.custom_id,
                    )
                    return [Outgoing(VALIDATED, key, validated)]
                reasons = verdict.reasons
        for reason in reasons:
            metrics.VALIDATION_FAILURES.labels(reason_label(reason)).inc()
        all_reasons = [*request.previous_reasons, *(f"{request.model}: {r}" for r in reasons)]
        if request.attempt < self.limits.max_llm_attempts:
            return [self._retry(request, result, all_reasons)]
        return [self._last_resort(result, all_reasons, best)]

    def _retry(self, request: LLMRequest, result: LLMResult, reasons: list[str]) -> Outgoing:
        llm = self.settings.llm
        failed_call = not result.ok or any("unparseable_answer" in r for r in reasons[-1:])
        model, kind = (
            (llm.fallback_model, "fallback")
            if failed_call and request.model == llm.full_model
            else (llm.full_model, "detailed")
        )
        attempt = request.attempt + 1
        metrics.FALLBACKS.labels(model).inc()
        retry = LLMRequest(
            custom_id=products.custom_id(
                request.routed.listing.listing_key, request.routed.input_fingerprint, attempt
            ),
            routed=request.routed.model_copy(update={"tier": "fallback"}),
            model=model,
            prompt_kind=kind,  # type: ignore[arg-type]
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
        all_reasons = [*reasons, *(f"rules: {r}" for r in rule_reasons)]
        metrics.REVIEW.labels(reason_label(reasons[-1].split(": ", 1)[-1])).inc()
        item = ReviewItem(
            listing=routed.listing,
            input_fingerprint=routed.input_fingerprint,
            reasons=all_reasons,
            best_answer=best,
            attempts=result.request.attempt,
        )
        return Outgoing(REVIEW, routed.listing.listing_key, item)

    async def handle(self, batch: Sequence[Incoming[LLMResult]]) -> list[Result]:
        return [list(self.decide(item.value)) for item in batch]
