"""Building OpenAI requests: the client, and the body each model family accepts.

Reasoning models (the gpt-5 family) take `max_completion_tokens` and `reasoning_effort` and
reject a non-default `temperature`; older chat models take `temperature` and `max_tokens`. The
family is configuration (`LLMSettings.params`), so a new model needs no code change.
"""

from __future__ import annotations

from typing import Any

from openai import AsyncOpenAI

from catalog.settings import LLMSettings, ModelParams


def make_client(llm: LLMSettings, *, max_retries: int | None = None) -> AsyncOpenAI:
    """The SDK client. The batch services pass `max_retries=0` and retry through
    `catalog.llm.resilience` instead, where every retry is observable."""
    return AsyncOpenAI(
        base_url=llm.base_url,
        api_key=llm.api_key.get_secret_value(),
        timeout=llm.timeout_s,
        max_retries=llm.max_retries if max_retries is None else max_retries,
    )


def params_for(llm: LLMSettings, model: str) -> ModelParams:
    if model in llm.params:
        return llm.params[model]
    reasoning = model.startswith(("gpt-5", "o1", "o3", "o4"))
    return ModelParams(reasoning=reasoning)


def chat_body(llm: LLMSettings, model: str, messages: list[dict[str, str]]) -> dict[str, Any]:
    """The JSON body of one chat-completions request, for the sync path and batch lines alike."""
    params = params_for(llm, model)
    body: dict[str, Any] = {
        "model": model,
        "messages": messages,
        "response_format": {"type": "json_object"},
    }
    if params.reasoning:
        body["max_completion_tokens"] = params.max_output_tokens
        body["reasoning_effort"] = params.reasoning_effort
    else:
        body["max_tokens"] = params.max_output_tokens
        body["temperature"] = params.temperature
    return body
