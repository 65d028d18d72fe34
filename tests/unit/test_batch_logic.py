"""Pure parts of the batch path: JSONL lines, output/error line joins, stored results."""

from __future__ import annotations

import io
import json

from batch_poller.logic import parse_jsonl
from catalog.llm.calls import batch_body, batch_line, result_from_batch_line, write_batch_line
from catalog.llm.store import result_from_row, result_row
from catalog.settings import LLMSettings, Settings
from router.logic import Router
from schemas.models import LLMRequest, LLMResult, RawListing, Usage


def request(model: str = "gpt-5-mini", kind: str = "minimal") -> LLMRequest:
    listing = RawListing.model_validate(
        {"retailer": "paris", "sku": "S1", "name": "Apple iPhone 15 128GB Negro", "price": 899990}
    )
    return LLMRequest(
        custom_id="abc-a1",
        routed=Router(Settings()).route(listing),
        model=model,
        prompt_kind=kind,  # type: ignore[arg-type]
        prompt_version="norm-ia-v2.0",
    )


def test_batch_line_is_one_compact_json_line_with_the_batch_prompt() -> None:
    llm = LLMSettings()
    out = io.BytesIO()
    size = write_batch_line(out, llm, request())
    data = out.getvalue()
    assert size == len(data) and data.endswith(b"\n") and data.count(b"\n") == 1
    line = json.loads(data)
    assert line["custom_id"] == "abc-a1"
    assert line["url"] == "/v1/chat/completions" and line["method"] == "POST"
    assert line["body"]["model"] == "gpt-5-mini"
    # Compact tiers use the compressed batch format in a batch.
    assert line["body"]["messages"][1]["content"].startswith("P:Apple iPhone 15 128GB Negro|")
    assert batch_line("abc-a1", batch_body(llm, request())) == data


def test_detailed_prompt_is_kept_in_batches() -> None:
    body = batch_body(LLMSettings(), request("gpt-5", "detailed"))
    assert "PRODUCTO: Apple iPhone 15 128GB Negro" in body["messages"][1]["content"]
    assert body["max_completion_tokens"] == 800


def test_output_line_becomes_an_ok_result_with_batch_price() -> None:
    llm = LLMSettings()
    line = {
        "custom_id": "abc-a1",
        "response": {
            "status_code": 200,
            "body": {
                "choices": [{"message": {"content": '{"b":"APPLE","m":"iPhone 15","cf":0.9}'}}],
                "usage": {"prompt_tokens": 1000, "completion_tokens": 1000},
            },
        },
    }
    result = result_from_batch_line(llm, request(), line)
    assert result.ok and result.mode == "batch"
    assert result.usage == Usage(prompt_tokens=1000, completion_tokens=1000)
    price = llm.prices["gpt-5-mini"]
    assert result.cost_usd == round((price.input_per_m + price.output_per_m) / 1000 * 0.5, 8)


def test_error_and_expired_lines_become_error_results() -> None:
    llm = LLMSettings()
    failed = result_from_batch_line(
        llm,
        request(),
        {"custom_id": "abc-a1", "response": {"status_code": 500, "body": {"error": {"m": 1}}}},
    )
    expired = result_from_batch_line(
        llm, request(), {"custom_id": "abc-a1", "error": {"code": "batch_expired"}}
    )
    assert not failed.ok and failed.cost_usd == 0
    assert not expired.ok and "batch_expired" in (expired.error or "")


def test_parse_jsonl_skips_blank_and_broken_lines() -> None:
    text = '{"custom_id": "a"}\n\nnot json\n{"custom_id": "b"}\n'
    assert [line["custom_id"] for line in parse_jsonl(text, "file-1")] == ["a", "b"]


def test_stored_result_round_trips_without_duplicating_the_request() -> None:
    req = request()
    result = LLMResult(
        custom_id=req.custom_id,
        request=req,
        mode="sync",
        ok=True,
        content='{"brand":"APPLE"}',
        usage=Usage(prompt_tokens=40, completion_tokens=60, reasoning_tokens=20),
        cost_usd=0.000131,
        latency_ms=12,
    )
    stored = result_row(result)
    assert "request" not in stored
    assert result_from_row(req, json.loads(json.dumps(stored))) == result
