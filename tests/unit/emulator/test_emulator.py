"""The OpenAI emulator, driven only through the real `openai` SDK."""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import openai
import pytest
from openai import AsyncOpenAI
from openai.types import Batch

from catalog.llm.answers import AnswerError, parse_answer
from catalog.llm.prompts import PromptInput, build_messages
from openai_emulator import (
    EmulatorConfig,
    EmulatorHandle,
    FaultConfig,
    Faults,
    brain,
    run_in_background,
)

STEP_S = 0.05
TERMINAL = {"completed", "failed", "expired", "cancelled"}
KINDS = ("minimal", "batch", "standard", "detailed", "fallback")

ITEMS = [
    PromptInput("iPhone 15 Pro Max 256GB Negro", "smartphones", 1_200_000, "Falabella", "A1"),
    PromptInput("Samsung Galaxy S24 Ultra 512GB 5G", "smartphones", 1_500_000, "Paris", "A2"),
    PromptInput("Coca Cola Original 2L", "beverages", 2_500, "Jumbo", "A3"),
    PromptInput("Smart TV LG OLED 55 4K", "televisores", 899_990, "Ripley", "A4"),
    PromptInput("Perfume Chanel No 5 EDP 100ml Mujer", "perfumes", 150_000, "Paris", "A5"),
    PromptInput("Notebook ASUS ROG Strix G16 32GB 1TB", "notebooks", 2_800_000, "PCFactory", "A6"),
]

Starter = Callable[..., Awaitable[tuple[EmulatorHandle, AsyncOpenAI]]]


@pytest.fixture
async def start() -> AsyncIterator[Starter]:
    """Start emulators on free ports; every one started is stopped after the test."""
    handles: list[EmulatorHandle] = []
    clients: list[AsyncOpenAI] = []

    async def _start(**settings: Any) -> tuple[EmulatorHandle, AsyncOpenAI]:
        settings.setdefault("batch_step_s", STEP_S)
        handle = await run_in_background(EmulatorConfig(**settings))
        client = AsyncOpenAI(base_url=handle.base_url, api_key="sk-test", max_retries=0)
        handles.append(handle)
        clients.append(client)
        return handle, client

    yield _start
    for client in clients:
        await client.close()
    for handle in handles:
        await handle.stop()


@pytest.fixture
async def client(start: Starter) -> AsyncOpenAI:
    _, sdk = await start()
    return sdk


def _body(item: PromptInput, kind: str = "batch", model: str = "gpt-5-mini") -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": model,
        "messages": build_messages(kind, item),  # type: ignore[arg-type]
        "response_format": {"type": "json_object"},
        "max_completion_tokens": 1000,
    }
    if model.startswith("gpt-5"):
        body["reasoning_effort"] = "minimal"
    return body


def _jsonl(items: list[PromptInput], model: str = "gpt-5-mini") -> bytes:
    lines = [
        json.dumps(
            {
                "custom_id": f"item-{index}",
                "method": "POST",
                "url": "/v1/chat/completions",
                "body": _body(item, model=model),
            }
        )
        for index, item in enumerate(items)
    ]
    return ("\n".join(lines) + "\n").encode()


async def _submit(client: AsyncOpenAI, items: list[PromptInput]) -> Batch:
    uploaded = await client.files.create(file=("input.jsonl", _jsonl(items)), purpose="batch")
    return await client.batches.create(
        input_file_id=uploaded.id,
        endpoint="/v1/chat/completions",
        completion_window="24h",
        metadata={"run": "test"},
    )


async def _wait(client: AsyncOpenAI, batch_id: str, until: set[str] = TERMINAL) -> Batch:
    for _ in range(200):
        batch = await client.batches.retrieve(batch_id)
        if batch.status in until:
            return batch
        await asyncio.sleep(STEP_S / 2)
    raise AssertionError(f"batch {batch_id} never reached {until}")


async def _lines(client: AsyncOpenAI, file_id: str | None) -> list[dict[str, Any]]:
    if file_id is None:
        return []
    content = await client.files.content(file_id)
    return [json.loads(line) for line in content.text.splitlines() if line.strip()]


def _cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


# --- chat completions ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
async def test_every_prompt_kind_answers_in_a_shape_the_parser_accepts(
    client: AsyncOpenAI, kind: str
) -> None:
    model = "gpt-5" if kind == "detailed" else "gpt-4o-mini" if kind == "fallback" else "gpt-5-mini"
    completion = await client.chat.completions.create(**_body(ITEMS[0], kind, model))

    assert completion.object == "chat.completion"
    assert completion.model == model
    assert completion.system_fingerprint
    assert completion.choices[0].finish_reason == "stop"
    content = completion.choices[0].message.content
    assert content is not None
    raw = json.loads(content)
    expected_keys = {
        "batch": {"b", "m", "a", "cf"},
        "minimal": {"brand", "model", "attrs", "conf"},
        "standard": {"brand", "model", "attributes", "confidence"},
        "fallback": {"brand", "model", "attributes", "confidence"},
        "detailed": {"brand", "model", "attributes", "confidence"},
    }[kind]
    assert expected_keys <= raw.keys()
    answer = parse_answer(content)
    assert 0.0 <= answer.confidence <= 0.99
    usage = completion.usage
    assert usage is not None
    assert usage.prompt_tokens > 10
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    details = usage.completion_tokens_details
    reasoning = details.reasoning_tokens if details else 0
    if model.startswith("gpt-5"):
        assert reasoning and 0 < reasoning < usage.completion_tokens
    else:
        assert not reasoning


@pytest.mark.parametrize("kind", KINDS)
async def test_canonical_attributes_are_mapped_to_the_prompt_keys(
    client: AsyncOpenAI, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    extracted = brain.ExtractedListing(
        brand="APPLE",
        model="iPhone 15 Pro Max",
        normalized_name="Apple iPhone 15 Pro Max 1TB Negro",
        category="smartphones_premium",
        attributes={
            "storage_gb": 1024,
            "color": "negro",
            "screen_in": 6.7,
            "ram_gb": 8,
            "network": "5G",
            "panel": "OLED",
        },
        confidence=0.97,
    )
    monkeypatch.setattr(brain, "_extract", lambda title, category: extracted)
    completion = await client.chat.completions.create(**_body(ITEMS[0], kind, "gpt-5"))
    answer = parse_answer(completion.choices[0].message.content)

    assert (answer.brand, answer.model) == ("APPLE", "iPhone 15 Pro Max")
    assert answer.confidence == 0.99  # the full model's bonus, capped
    attributes = answer.attributes
    assert (attributes["capacity"], attributes["color"], attributes["size"]) == (
        "1TB",
        "negro",
        "6.7",
    )
    assert attributes["storage_gb"] == 1024 and attributes["screen_in"] == 6.7
    if kind == "detailed":
        assert (attributes["ram"], attributes["network"], attributes["screen_type"]) == (
            "8GB",
            "5G",
            "OLED",
        )
        assert answer.normalized_name == extracted.normalized_name
        assert answer.category_suggestion == "smartphones_premium"
    else:
        assert attributes["ram_gb"] == 8 and attributes["panel"] == "OLED"


async def test_a_prompt_that_is_not_ours_gets_a_generic_low_confidence_answer(
    client: AsyncOpenAI,
) -> None:
    completion = await client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "Say hello in JSON"}],
        response_format={"type": "json_object"},
    )
    content = completion.choices[0].message.content
    assert content is not None
    assert json.loads(content) == {
        "brand": None,
        "model": None,
        "attributes": {},
        "confidence": 0.1,
    }


async def test_reasoning_models_reject_max_tokens(client: AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await client.chat.completions.create(
            model="gpt-5-mini",
            messages=[{"role": "user", "content": "hola"}],
            max_tokens=250,
        )
    assert caught.value.code == "unsupported_parameter"
    assert "max_completion_tokens" in caught.value.message


async def test_reasoning_models_reject_a_non_default_temperature(client: AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await client.chat.completions.create(
            model="gpt-5-mini", messages=[{"role": "user", "content": "hola"}], temperature=0.1
        )
    assert caught.value.code == "unsupported_value"
    # The default value is accepted.
    await client.chat.completions.create(
        model="gpt-5-mini", messages=[{"role": "user", "content": "hola"}], temperature=1
    )


async def test_classic_models_accept_temperature_and_max_tokens(client: AsyncOpenAI) -> None:
    completion = await client.chat.completions.create(
        model="gpt-4o-mini",
        messages=build_messages("fallback", ITEMS[2]),  # type: ignore[call-overload]
        temperature=0.1,
        max_tokens=250,
        response_format={"type": "json_object"},
    )
    parse_answer(completion.choices[0].message.content)
    with pytest.raises(openai.BadRequestError) as caught:
        await client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "hola"}],
            reasoning_effort="low",
        )
    assert caught.value.param == "reasoning_effort"


async def test_json_object_requires_the_word_json(client: AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "Normaliza: iPhone 15"}],
            response_format={"type": "json_object"},
        )
    assert "json" in caught.value.message


async def test_unknown_model_and_missing_key_are_rejected(start: Starter) -> None:
    handle, client = await start()
    with pytest.raises(openai.NotFoundError):
        await client.chat.completions.create(
            model="gpt-9", messages=[{"role": "user", "content": "hola"}]
        )
    basic = {"Authorization": "Basic c2stdGVzdA=="}
    async with AsyncOpenAI(
        base_url=handle.base_url, api_key="sk-test", default_headers=basic, max_retries=0
    ) as anonymous:
        with pytest.raises(openai.AuthenticationError):
            await anonymous.models.list()


async def test_a_tight_completion_budget_is_spent_on_reasoning(client: AsyncOpenAI) -> None:
    body = _body(ITEMS[0])
    body.update(reasoning_effort="medium", max_completion_tokens=300)
    completion = await client.chat.completions.create(**body)
    assert completion.choices[0].finish_reason == "length"
    assert completion.choices[0].message.content == ""


async def test_models_are_listed(client: AsyncOpenAI) -> None:
    names = {model.id async for model in client.models.list()}
    assert {"gpt-5-mini", "gpt-5", "gpt-4o-mini", "text-embedding-3-small"} <= names


# --- embeddings ---------------------------------------------------------------------------


async def test_embeddings_shape_dimensions_and_similarity(client: AsyncOpenAI) -> None:
    texts = [
        "iPhone 15 Pro Max 256GB Negro",
        "Apple iPhone 15 Pro Max 256 GB negro",
        "Detergente líquido Omo 3L",
    ]
    # The SDK asks for base64 by default and decodes it.
    response = await client.embeddings.create(model="text-embedding-3-small", input=texts)
    vectors = [item.embedding for item in response.data]
    assert [len(vector) for vector in vectors] == [1536] * 3
    assert all(math.isclose(_cosine(v, v), 1.0, rel_tol=1e-4) for v in vectors)
    assert _cosine(vectors[0], vectors[1]) > _cosine(vectors[0], vectors[2]) + 0.3
    assert response.usage.prompt_tokens > 0

    floats = await client.embeddings.create(
        model="text-embedding-3-small", input=texts[0], encoding_format="float"
    )
    assert floats.data[0].embedding == pytest.approx(vectors[0], abs=1e-6)

    short = await client.embeddings.create(
        model="text-embedding-3-large", input=texts[0], dimensions=256
    )
    assert len(short.data[0].embedding) == 256
    large = await client.embeddings.create(model="text-embedding-3-large", input=texts[0])
    assert len(large.data[0].embedding) == 3072


# --- files --------------------------------------------------------------------------------


async def test_files_upload_retrieve_content_list_delete(client: AsyncOpenAI) -> None:
    data = _jsonl(ITEMS[:2])
    uploaded = await client.files.create(file=("input.jsonl", data), purpose="batch")
    assert uploaded.bytes == len(data)
    assert uploaded.purpose == "batch"
    assert (await client.files.retrieve(uploaded.id)).filename == "input.jsonl"
    assert (await client.files.content(uploaded.id)).content == data
    assert uploaded.id in {item.id async for item in client.files.list(purpose="batch")}
    deleted = await client.files.delete(uploaded.id)
    assert deleted.deleted
    with pytest.raises(openai.NotFoundError):
        await client.files.retrieve(uploaded.id)


async def test_invalid_batch_files_are_rejected_on_upload(client: AsyncOpenAI) -> None:
    line = {"custom_id": "x", "method": "POST", "url": "/v1/chat/completions", "body": {}}
    duplicated = (json.dumps(line) + "\n" + json.dumps(line)).encode()
    with pytest.raises(openai.BadRequestError) as caught:
        await client.files.create(file=("dup.jsonl", duplicated), purpose="batch")
    assert "custom_id" in caught.value.message
    wrong_url = json.dumps({**line, "url": "/v1/responses"}).encode()
    with pytest.raises(openai.BadRequestError):
        await client.files.create(file=("url.jsonl", wrong_url), purpose="batch")


async def test_oversized_batch_files_are_rejected(start: Starter) -> None:
    _, client = await start(max_batch_lines=2, max_file_bytes=4096)
    with pytest.raises(openai.BadRequestError):
        await client.files.create(file=("lines.jsonl", _jsonl(ITEMS[:3])), purpose="batch")
    with pytest.raises(openai.BadRequestError) as caught:
        await client.files.create(file=("big.jsonl", b"x" * 5000), purpose="batch")
    assert caught.value.code == "file_too_large"


# --- batches ------------------------------------------------------------------------------


async def test_batch_lifecycle_to_completed(client: AsyncOpenAI) -> None:
    batch = await _submit(client, ITEMS)
    assert batch.status == "validating"
    assert batch.completion_window == "24h"
    seen: set[str] = {batch.status}
    for _ in range(200):
        batch = await client.batches.retrieve(batch.id)
        seen.add(batch.status)
        if batch.status == "completed":
            break
        await asyncio.sleep(STEP_S / 5)
    assert batch.status == "completed"
    assert {"validating", "in_progress", "completed"} <= seen
    assert batch.request_counts is not None
    assert batch.request_counts.model_dump() == {"total": 6, "completed": 6, "failed": 0}
    assert batch.model == "gpt-5-mini"
    assert batch.in_progress_at and batch.finalizing_at and batch.completed_at
    assert batch.usage is not None and batch.usage.output_tokens_details.reasoning_tokens > 0
    assert batch.error_file_id is None

    output = await _lines(client, batch.output_file_id)
    by_id = {line["custom_id"]: line for line in output}
    assert len(output) == len(by_id) == len(ITEMS)
    assert set(by_id) == {f"item-{index}" for index in range(len(ITEMS))}
    for line in output:
        assert line["error"] is None
        assert line["response"]["status_code"] == 200
        body = line["response"]["body"]
        assert body["object"] == "chat.completion"
        parse_answer(body["choices"][0]["message"]["content"])

    listed = [item.id async for item in client.batches.list(limit=1)]
    assert batch.id in listed


async def test_batches_are_paginated_newest_first(client: AsyncOpenAI) -> None:
    first = await _submit(client, ITEMS[:1])
    second = await _submit(client, ITEMS[:1])
    page = await client.batches.list(limit=1)
    assert [item.id for item in page.data] == [second.id]
    assert page.has_more
    after = await client.batches.list(limit=5, after=second.id)
    assert [item.id for item in after.data] == [first.id]


async def test_item_errors_go_to_the_error_file(start: Starter) -> None:
    _, client = await start(faults=Faults(batch_item_error_rate=0.5, seed=7))
    bad = {
        "custom_id": "bad-params",
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {**_body(ITEMS[0]), "max_tokens": 250},
    }
    data = _jsonl(ITEMS) + json.dumps(bad).encode() + b"\n"
    uploaded = await client.files.create(file=("input.jsonl", data), purpose="batch")
    batch = await client.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    batch = await _wait(client, batch.id)

    assert batch.status == "completed"
    output = await _lines(client, batch.output_file_id)
    errors = await _lines(client, batch.error_file_id)
    ids = [line["custom_id"] for line in output + errors]
    assert sorted(ids) == sorted([*(f"item-{index}" for index in range(len(ITEMS))), "bad-params"])
    assert batch.request_counts is not None
    assert batch.request_counts.completed == len(output)
    assert batch.request_counts.failed == len(errors) >= 2
    statuses = {line["custom_id"]: line["response"]["status_code"] for line in errors}
    assert statuses.pop("bad-params") == 400
    assert set(statuses.values()) <= {400, 500}
    assert all(line["response"]["body"]["error"]["message"] for line in errors)


async def test_failed_batch_reports_errors(start: Starter) -> None:
    _, client = await start(faults=Faults(batch_fail_rate=1.0))
    batch = await _wait(client, (await _submit(client, ITEMS)).id)
    assert batch.status == "failed"
    assert batch.failed_at is not None
    assert batch.errors is not None and batch.errors.data
    assert batch.errors.data[0].code == "token_limit_exceeded"
    assert batch.output_file_id is None


async def test_mixed_models_fail_validation(client: AsyncOpenAI) -> None:
    data = _jsonl(ITEMS[:1], model="gpt-5-mini") + _jsonl(ITEMS[1:2], model="gpt-5").replace(
        b"item-0", b"item-1"
    )
    uploaded = await client.files.create(file=("mixed.jsonl", data), purpose="batch")
    batch = await client.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    batch = await _wait(client, batch.id)
    assert batch.status == "failed"
    assert batch.errors is not None and batch.errors.data


async def test_expired_batch_keeps_partial_results(start: Starter) -> None:
    _, client = await start(faults=Faults(batch_expire_rate=1.0))
    batch = await _wait(client, (await _submit(client, ITEMS)).id)
    assert batch.status == "expired"
    assert batch.expired_at is not None
    output = await _lines(client, batch.output_file_id)
    errors = await _lines(client, batch.error_file_id)
    assert len(output) == len(ITEMS) // 2
    assert len(output) + len(errors) == len(ITEMS)
    assert {line["error"]["code"] for line in errors} == {"batch_expired"}
    assert all(line["response"] is None for line in errors)
    assert batch.request_counts is not None
    assert batch.request_counts.completed == len(output)
    assert batch.request_counts.failed == len(errors)


async def test_cancelled_batch(start: Starter) -> None:
    _, client = await start(batch_step_s=0.3)
    items = ITEMS * 5
    batch = await _submit(client, items)
    await _wait(client, batch.id, until={"in_progress"})
    await asyncio.sleep(0.1)
    cancelling = await client.batches.cancel(batch.id)
    assert cancelling.status == "cancelling"
    batch = await _wait(client, batch.id)
    assert batch.status == "cancelled"
    assert batch.cancelled_at is not None
    output = await _lines(client, batch.output_file_id)
    assert 0 < len(output) < len(items)
    assert batch.request_counts is not None
    assert batch.request_counts.completed == len(output)
    with pytest.raises(openai.ConflictError):
        await client.batches.cancel(batch.id)


async def test_embeddings_batch(client: AsyncOpenAI) -> None:
    lines = [
        json.dumps(
            {
                "custom_id": f"e-{index}",
                "method": "POST",
                "url": "/v1/embeddings",
                "body": {"model": "text-embedding-3-small", "input": item.title, "dimensions": 64},
            }
        )
        for index, item in enumerate(ITEMS[:3])
    ]
    uploaded = await client.files.create(
        file=("emb.jsonl", "\n".join(lines).encode()), purpose="batch"
    )
    batch = await client.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/embeddings", completion_window="24h"
    )
    batch = await _wait(client, batch.id)
    assert batch.status == "completed"
    output = await _lines(client, batch.output_file_id)
    assert {len(line["response"]["body"]["data"][0]["embedding"]) for line in output} == {64}


async def test_unknown_batch_is_not_found(client: AsyncOpenAI) -> None:
    with pytest.raises(openai.NotFoundError):
        await client.batches.retrieve("batch_missing")


# --- faults -------------------------------------------------------------------------------


async def test_rate_limit_fault_raises_rate_limit_error(start: Starter) -> None:
    _, client = await start(faults=Faults(error_rate_429=1.0, retry_after_s=2))
    with pytest.raises(openai.RateLimitError) as caught:
        await client.chat.completions.create(**_body(ITEMS[0]))
    assert caught.value.response.headers["retry-after"] == "2"
    assert caught.value.code == "rate_limit_exceeded"


async def test_server_error_fault_only_for_the_chosen_model(start: Starter) -> None:
    _, client = await start(faults=Faults(per_model={"gpt-5": FaultConfig(error_rate_500=1.0)}))
    with pytest.raises(openai.InternalServerError):
        await client.chat.completions.create(**_body(ITEMS[0], "detailed", "gpt-5"))
    await client.chat.completions.create(**_body(ITEMS[0], "batch", "gpt-5-mini"))


async def test_malformed_json_fault_fails_the_parser(start: Starter) -> None:
    _, client = await start(faults=Faults(malformed_json_rate=1.0, seed=3))
    reasons = set()
    for item in ITEMS * 2:
        completion = await client.chat.completions.create(**_body(item, "standard"))
        with pytest.raises(AnswerError) as caught:
            parse_answer(completion.choices[0].message.content)
        reasons.add(caught.value.reason)
    assert len(reasons) >= 2


async def test_faults_are_reproducible_with_a_seed(start: Starter) -> None:
    async def pattern() -> list[bool]:
        _, client = await start(faults=Faults(malformed_json_rate=0.5, seed=11))
        outcomes = []
        for item in ITEMS * 2:
            completion = await client.chat.completions.create(**_body(item))
            try:
                parse_answer(completion.choices[0].message.content)
                outcomes.append(True)
            except AnswerError:
                outcomes.append(False)
        return outcomes

    first = await pattern()
    assert first == await pattern()
    assert True in first and False in first


async def test_low_confidence_fault(start: Starter) -> None:
    _, client = await start(faults=Faults(low_confidence_rate=1.0))
    completion = await client.chat.completions.create(**_body(ITEMS[0], "minimal"))
    assert parse_answer(completion.choices[0].message.content).confidence == 0.3


async def test_timeout_fault_surfaces_as_a_client_timeout(start: Starter) -> None:
    _, client = await start(faults=Faults(timeout_rate=1.0, timeout_s=5))
    with pytest.raises(openai.APITimeoutError):
        await client.chat.completions.create(**_body(ITEMS[0]), timeout=0.2)


async def test_faults_can_be_replaced_at_run_time(start: Starter) -> None:
    handle, client = await start()
    async with AsyncOpenAI(base_url=handle.url, api_key="sk-test", max_retries=0) as admin:
        await admin.post("/_emulator/faults", body={"error_rate_500": 1.0}, cast_to=object)
        with pytest.raises(openai.InternalServerError):
            await client.chat.completions.create(**_body(ITEMS[0]))
        await admin.post("/_emulator/faults", body={}, cast_to=object)
        await client.chat.completions.create(**_body(ITEMS[0]))
        with pytest.raises(openai.BadRequestError):
            await admin.post("/_emulator/faults", body={"error_rate_500": 2}, cast_to=object)
        stats: Any = await admin.get("/_emulator/stats", cast_to=object)
    assert stats["requests_by_endpoint"]["chat.completions"] == 2
    assert stats["requests_by_model"]["gpt-5-mini"] == 2
    assert stats["faults"]["http_500"] == 1
    assert stats["tokens"]["prompt_tokens"] > 0


# --- persistence --------------------------------------------------------------------------


async def test_a_restart_with_a_data_dir_keeps_batches(start: Starter, tmp_path: Path) -> None:
    first, client = await start(data_dir=tmp_path)
    batch = await _submit(client, ITEMS[:3])
    await first.stop()

    second, client = await start(data_dir=tmp_path)
    batch = await _wait(client, batch.id)
    assert batch.status == "completed"
    output = await _lines(client, batch.output_file_id)
    assert {line["custom_id"] for line in output} == {"item-0", "item-1", "item-2"}
    assert (await client.files.retrieve(batch.input_file_id)).purpose == "batch"
    await second.stop()

    _, client = await start(data_dir=tmp_path)
    again = await client.batches.retrieve(batch.id)
    assert again.model_dump() == batch.model_dump()
    assert await _lines(client, again.output_file_id) == output
