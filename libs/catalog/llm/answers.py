"""Strict parsing of a model's answer into one expanded shape.

The compact prompts ask for abbreviated keys (`{b,m,a:{c,cl,s},cf}` and
`{brand,model,attrs:{cap,color,size},conf}`); everything downstream sees only the long form
(`brand, model, attributes{capacity,color,size}, confidence, normalized_name,
category_suggestion`). Anything that is not exactly one JSON object is an error with a reason,
never a guess: a half-read answer cached forever is worse than a retry.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from schemas.models import AttributeValue

MAX_ANSWER_CHARS = 20_000

_TOP_LEVEL_KEYS = {
    "b": "brand",
    "m": "model",
    "a": "attributes",
    "attrs": "attributes",
    "cf": "confidence",
    "conf": "confidence",
    "n": "normalized_name",
    "name": "normalized_name",
    "cat": "category_suggestion",
}
_ATTRIBUTE_KEYS = {"c": "capacity", "cap": "capacity", "cl": "color", "s": "size"}


class AnswerError(ValueError):
    """The model's answer cannot be used; `reason` is a short stable label for metrics."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class ModelAnswer:
    brand: str | None
    model: str | None
    attributes: dict[str, AttributeValue] = field(default_factory=dict)
    confidence: float = 0.0
    normalized_name: str | None = None
    category_suggestion: str | None = None


def _decode_object(content: str) -> dict[str, Any]:
    text = content.strip()
    if not text:
        raise AnswerError("empty_answer", "the model returned no content")
    if len(text) > MAX_ANSWER_CHARS:
        raise AnswerError("answer_too_long", f"{len(text)} characters")
    if text.startswith("```"):
        raise AnswerError("code_fence", "answer wrapped in a markdown code fence")
    if not text.startswith("{"):
        raise AnswerError("not_json_object", f"answer starts with {text[:20]!r}")
    try:
        obj, end = json.JSONDecoder().raw_decode(text)
    except json.JSONDecodeError as exc:
        reason = "truncated_json" if exc.pos >= len(text) - 1 else "invalid_json"
        raise AnswerError(reason, exc.msg) from exc
    if text[end:].strip():
        raise AnswerError("trailing_text", f"text after the JSON object: {text[end : end + 30]!r}")
    if not isinstance(obj, dict):
        raise AnswerError("not_json_object", f"top-level value is {type(obj).__name__}")
    return obj


def _text(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        text = str(value).strip()
        return text or None
    raise AnswerError("wrong_type", f"{name} must be a string, got {type(value).__name__}")


def _attributes(value: Any) -> dict[str, AttributeValue]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise AnswerError("wrong_type", f"attributes must be an object, got {type(value).__name__}")
    out: dict[str, AttributeValue] = {}
    for key, item in value.items():
        name = _ATTRIBUTE_KEYS.get(str(key), str(key))
        if item is None or item == "":
            continue
        if isinstance(item, str | int | float | bool):
            out[name] = item
        else:
            # Nested values (lists, objects) are flattened to text for the schema coercion step.
            out[name] = json.dumps(item, ensure_ascii=False)
    return out


def _confidence(value: Any) -> float:
    if value is None:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise AnswerError("wrong_type", f"confidence must be a number, got {value!r}")
    try:
        number = float(value)
    except ValueError as exc:
        raise AnswerError("wrong_type", f"confidence must be a number, got {value!r}") from exc
    if math.isnan(number) or not 0.0 <= number <= 1.0:
        raise AnswerError("confidence_out_of_range", f"confidence {value!r} not in [0, 1]")
    return number


def parse_answer(content: str | None) -> ModelAnswer:
    """Parse one chat-completion content string into a `ModelAnswer` or raise `AnswerError`."""
    if content is None:
        raise AnswerError("empty_answer", "the model returned no content")
    raw = _decode_object(content)
    if "error" in raw and not ({"brand", "b"} & raw.keys()):
        raise AnswerError("model_reported_error", str(raw["error"])[:200])
    expanded: dict[str, Any] = {}
    for key, value in raw.items():
        expanded[_TOP_LEVEL_KEYS.get(key, key)] = value
    return ModelAnswer(
        brand=_text(expanded.get("brand"), "brand"),
        model=_text(expanded.get("model"), "model"),
        attributes=_attributes(expanded.get("attributes")),
        confidence=_confidence(expanded.get("confidence")),
        normalized_name=_text(expanded.get("normalized_name"), "normalized_name"),
        category_suggestion=_text(expanded.get("category_suggestion"), "category_suggestion"),
    )
