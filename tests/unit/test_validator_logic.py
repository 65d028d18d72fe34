"""The validator's fallback chain (`Validator.decide`), one decision per case."""

from __future__ import annotations

import json
from typing import Any

import pytest

from catalog import metrics
from catalog.domain.brands import load_brands
from catalog.domain.taxonomy import load_taxonomy
from catalog.kafka.topics import LLM_REQUESTS, REVIEW, VALIDATED
from catalog.products import custom_id
from catalog.service import Incoming
from catalog.settings import Settings, ValidationSettings
from router.logic import Router
from schemas.models import (
    Extraction,
    LLMRequest,
    LLMResult,
    PromptKind,
    RawListing,
    ReviewItem,
    RoutedListing,
    Usage,
    ValidatedProduct,
)
from validator.logic import Validator

SETTINGS = Settings()
MINI, FULL, FALLBACK = (
    SETTINGS.llm.mini_model,
    SETTINGS.llm.full_model,
    SETTINGS.llm.fallback_model,
)
GOOD_IPHONE = {
    "b": "APPLE",
    "m": "iPhone 15 Pro Max",
    "a": {"c": "256GB", "cl": "negro"},
    "cf": 0.98,
}


def validator(max_attempts: int = 2) -> Validator:
    settings = SETTINGS.model_copy(
        update={"validation": ValidationSettings(max_llm_attempts=max_attempts)}
    )
    return Validator(settings, load_taxonomy(), load_brands())


def routed(name: str, category: str, price: int, *, rules: bool = True) -> RoutedListing:
    listing = RawListing(retailer="paris", sku="P-1", name=name, category=category, price=price)
    out = Router(SETTINGS).route(listing)
    return out if rules else out.model_copy(update={"rules": Extraction()})


IPHONE = routed("iPhone 15 Pro Max 256GB Negro", "smartphones", 1200000, rules=False)
IPHONE_RULES = routed("iPhone 15 Pro Max 256GB Negro", "smartphones", 1200000)


def result(
    answer: dict[str, Any] | str | None,
    *,
    listing: RoutedListing = IPHONE,
    model: str = MINI,
    kind: PromptKind = "batch",
    attempt: int = 1,
    previous: list[str] | None = None,
    error: str | None = None,
) -> LLMResult:
    request = LLMRequest(
        custom_id=custom_id(listing.listing.listing_key, listing.input_fingerprint, attempt),
        routed=listing,
        model=model,
        prompt_kind=kind,
        prompt_version="norm-ia-v2.0",
        attempt=attempt,
        previous_reasons=previous or [],
    )
    content = answer if isinstance(answer, str) or answer is None else json.dumps(answer)
    return LLMResult(
        custom_id=request.custom_id,
        request=request,
        mode="batch",
        ok=error is None,
        content=None if error else content,
        error=error,
        usage=Usage(prompt_tokens=40, completion_tokens=30),
        cost_usd=0.0001,
    )


def failures(label: str) -> float:
    value = metrics.REGISTRY.get_sample_value(
        "catalog_validation_failures_total", {"reason": label}
    )
    return value or 0.0


def test_a_passing_answer_is_validated() -> None:
    (out,) = validator().decide(result(GOOD_IPHONE))
    assert out.topic is VALIDATED and out.key == "paris:P-1"
    product = out.value
    assert isinstance(product, ValidatedProduct)
    assert (product.source, product.model_used, product.brand) == ("llm", MINI, "APPLE")
    assert product.attributes == {"storage_gb": 256, "color": "black"}
    assert product.usage.prompt_tokens == 40 and product.cost_usd == 0.0001
    assert product.custom_id and product.custom_id.endswith("-a1")


def test_low_confidence_on_mini_goes_to_the_full_model_with_the_detailed_prompt() -> None:
    before = failures("low_confidence")
    (out,) = validator().decide(result({**GOOD_IPHONE, "cf": 0.4}))
    assert out.topic is LLM_REQUESTS
    retry = out.value
    assert isinstance(retry, LLMRequest)
    assert (retry.model, retry.prompt_kind, retry.attempt) == (FULL, "detailed", 2)
    assert retry.routed.tier == "fallback"
    assert retry.previous_reasons == [f"{MINI}: low_confidence: 0.40 < 0.75"]
    assert retry.custom_id.endswith("-a2") and out.key == retry.custom_id
    assert out.headers == {"attempt": "2"}
    assert failures("low_confidence") == before + 1


@pytest.mark.parametrize(
    ("answer", "label"),
    [
        ({**GOOD_IPHONE, "b": ""}, "missing_brand"),
        ({**GOOD_IPHONE, "cat": "gaming_phones"}, None),  # ignored suggestion: passes
        # Open world: an unreadable value of a required attribute is dropped and left unknown.
        ({**GOOD_IPHONE, "a": {"c": "256GB", "cl": "plaid"}}, None),
        ({**GOOD_IPHONE, "a": {"c": "mucho", "cl": "negro"}}, None),
    ],
)
def test_bad_answers_below_the_bar_go_to_the_full_model(
    answer: dict[str, Any], label: str | None
) -> None:
    (out,) = validator().decide(result(answer))
    if label is None:
        assert out.topic is VALIDATED
        return
    assert out.topic is LLM_REQUESTS
    assert isinstance(out.value, LLMRequest) and out.value.model == FULL
    assert any(label in r for r in out.value.previous_reasons)


def test_an_invalid_required_value_is_counted_and_the_answer_passes_without_it() -> None:
    before = failures("invalid_attribute")
    (out,) = validator().decide(result({**GOOD_IPHONE, "a": {"c": "256GB", "cl": "plaid"}}))
    assert out.topic is VALIDATED
    assert out.value.attributes == {"storage_gb": 256}  # type: ignore[union-attr]
    assert failures("invalid_attribute") == before + 1


def test_unknown_category_goes_to_the_full_model() -> None:
    lost = IPHONE.model_copy(update={"category": None})
    (out,) = validator().decide(result({**GOOD_IPHONE, "cat": "gaming_phones"}, listing=lost))
    assert out.topic is LLM_REQUESTS
    assert isinstance(out.value, LLMRequest)
    assert out.value.previous_reasons[0] == f"{MINI}: unknown_category: None"


@pytest.mark.parametrize(
    ("answer", "error", "label"),
    [
        ('{"b": "APPLE", "m": "iPhone 15",', None, "unparseable_answer: truncated_json"),
        ("```json\n{}\n```", None, "unparseable_answer: code_fence"),
        (None, "HTTP 500: server error", "call_failed: HTTP 500: server error"),
    ],
)
def test_failed_calls_go_to_the_fallback_model(
    answer: str | None, error: str | None, label: str
) -> None:
    (out,) = validator().decide(result(answer, error=error))
    assert out.topic is LLM_REQUESTS
    retry = out.value
    assert isinstance(retry, LLMRequest)
    assert (retry.model, retry.prompt_kind, retry.attempt) == (FALLBACK, "fallback", 2)
    assert retry.previous_reasons[0].startswith(f"{MINI}: {label}")


def test_a_failing_fallback_model_goes_to_the_full_model() -> None:
    (out,) = validator(3).decide(result(None, model=FALLBACK, kind="fallback", error="timeout"))
    assert isinstance(out.value, LLMRequest)
    assert (out.value.model, out.value.prompt_kind) == (FULL, "detailed")


def test_full_model_below_the_bar_asks_the_fallback_model_when_attempts_remain() -> None:
    (out,) = validator(3).decide(
        result({**GOOD_IPHONE, "cf": 0.5}, model=FULL, kind="detailed", attempt=2)
    )
    assert isinstance(out.value, LLMRequest)
    assert (out.value.model, out.value.attempt) == (FALLBACK, 3)


def test_out_of_attempts_the_rules_result_is_used_when_it_passes() -> None:
    (out,) = validator().decide(
        result(
            {**GOOD_IPHONE, "cf": 0.3},
            listing=IPHONE_RULES,
            model=FULL,
            kind="detailed",
            attempt=2,
            previous=[f"{MINI}: low_confidence: 0.30 < 0.75"],
        )
    )
    assert out.topic is VALIDATED
    product = out.value
    assert isinstance(product, ValidatedProduct)
    assert (product.source, product.brand, product.model_used) == ("rules", "APPLE", None)


def test_out_of_attempts_and_rules_failing_goes_to_review_with_every_reason() -> None:
    previous = [f"{MINI}: low_confidence: 0.30 < 0.75"]
    (out,) = validator().decide(
        result(
            {**GOOD_IPHONE, "cf": 0.31, "a": {"c": "256GB", "cl": "plaid"}},
            model=FULL,
            kind="detailed",
            attempt=2,
            previous=previous,
        )
    )
    assert out.topic is REVIEW and out.key == "paris:P-1"
    item = out.value
    assert isinstance(item, ReviewItem)
    assert item.attempts == 2
    assert item.reasons[0] == previous[0]
    full = [r for r in item.reasons if r.startswith(f"{FULL}: ")]
    assert [r.split(": ")[1] for r in full] == ["low_confidence", "invalid_attribute"]
    rules = [r for r in item.reasons if r.startswith("rules: ")]
    assert {r.split(": ")[1] for r in rules} >= {"missing_brand", "low_confidence"}
    # The best answer is the last model's, cleaned.
    assert item.best_answer is not None
    assert (item.best_answer.brand, item.best_answer.confidence) == ("APPLE", 0.31)
    assert item.best_answer.attributes == {"storage_gb": 256}


def test_a_failed_last_call_reviews_with_the_rules_extraction_as_best_answer() -> None:
    weak = routed("Funda Silicona Compatible Modelo Nuevo", "Accesorios", 9990)
    weak = weak.model_copy(update={"rules": weak.rules.model_copy(update={"confidence": 0.2})})
    (out,) = validator().decide(
        result(None, listing=weak, model=FALLBACK, kind="fallback", attempt=2, error="timeout")
    )
    assert out.topic is REVIEW
    item = out.value
    assert isinstance(item, ReviewItem)
    assert item.reasons[0] == f"{FALLBACK}: call_failed: timeout"
    assert any(r.startswith("rules: low_confidence") for r in item.reasons)
    assert item.best_answer == weak.rules


def test_an_invalid_optional_value_is_counted_even_when_the_answer_passes() -> None:
    tv = routed('Smart TV Samsung QLED 55" 4K QN55Q60C', "Televisores", 599990, rules=False)
    before = failures("invalid_attribute")
    (out,) = validator().decide(
        result(
            {"b": "Samsung", "m": "QN55Q60C", "a": {"s": 55, "panel": "plasma"}, "cf": 0.9},
            listing=tv,
        )
    )
    assert out.topic is VALIDATED
    assert isinstance(out.value, ValidatedProduct) and "panel" not in out.value.attributes
    assert failures("invalid_attribute") == before + 1


async def test_handle_answers_each_message_in_order() -> None:
    items = [
        Incoming(value=r, key=None, headers={}, topic="llm.results.v1", partition=0, offset=i)
        for i, r in enumerate([result(GOOD_IPHONE), result(None, error="boom")])
    ]
    out = await validator().handle(items)
    assert [o[0].topic for o in out] == [VALIDATED, LLM_REQUESTS]  # type: ignore[index]
