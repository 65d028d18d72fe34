"""Synchronous chat calls and batch JSONL lines, both rendered from an `LLMRequest`."""

from __future__ import annotations

import json
import time
from typing import IO, Any

from openai import AsyncOpenAI, OpenAIError

from catalog import metrics
from catalog.llm.client import chat_body
from catalog.llm.cost import cost_usd
from catalog.llm.prompts import PromptInput, build_messages
from catalog.llm.resilience import CircuitOpenError, Resilience
from catalog.llm.tokens import estimate_request
from catalog.settings import LLMSettings
from schemas.models import LLMRequest, LLMResult, PromptKind, Usage

BATCH_ENDPOINT = "/v1/chat/completions"


def prompt_input(request: LLMRequest) -> PromptInput:
    listing = request.routed.listing
    return PromptInput(
        title=listing.name,
        category=request.routed.category or listing.category or "",
        price=listing.price,
        retailer=listing.retailer,
        sku=listing.sku,
    )


def batch_kind(kind: PromptKind) -> PromptKind:
    """In a batch the compact prompts use the compressed batch format of the plan."""
    return "batch" if kind in ("minimal", "standard") else kind


def usage_from(raw: Any) -> Usage:
    if raw is None:
        return Usage()
    details = getattr(raw, "completion_tokens_details", None)
    if isinstance(raw, dict):
        details = raw.get("completion_tokens_details")
        reasoning = (details or {}).get("reasoning_tokens") or 0
        return Usage(
            prompt_tokens=raw.get("prompt_tokens") or 0,
            completion_tokens=raw.get("completion_tokens") or 0,
            reasoning_tokens=reasoning,
        )
    return Usage(
        prompt_tokens=raw.prompt_tokens or 0,
        completion_tokens=raw.completion_tokens or 0,
        reasoning_tokens=(getattr(details, "reasoning_tokens", 0) or 0) if details else 0,
    )


def account(llm: LLMSettings, model: str, mode: str, usage: Usage, ok: bool) -> float:
    cost = cost_usd(llm, model, usage, batch=mode == "batch")
    metrics.LLM_REQUESTS.labels(model, mode, "ok" if ok else "error").inc()
    metrics.LLM_TOKENS.labels(model, mode, "prompt").inc(usage.prompt_tokens)
    metrics.LLM_TOKENS.labels(model, mode, "completion").inc(usage.completion_tokens)
    metrics.LLM_TOKENS.labels(model, mode, "reasoning").inc(usage.reasoning_tokens)
    metrics.LLM_COST.labels(model, mode).inc(cost)
    return cost


def sync_body(llm: LLMSettings, request: LLMRequest) -> dict[str, Any]:
    return chat_body(llm, request.model, build_messages(request.prompt_kind, prompt_input(request)))


def batch_body(llm: LLMSettings, request: LLMRequest) -> dict[str, Any]:
    messages = build_messages(batch_kind(request.prompt_kind), prompt_input(request))
    return chat_body(llm, request.model, messages)


async def call_sync(
    client: AsyncOpenAI,
    llm: LLMSettings,
    request: LLMRequest,
    resilience: Resilience | None = None,
) -> LLMResult:
    """One synchronous chat call through the resilience layer.

    Raises `CircuitOpenError` when the model's breaker refuses the call (nothing was sent; the
    caller gives the item back). Any other failure, after retries, is an error result.
    """
    body = sync_body(llm, request)
    estimate = estimate_request(llm, body, batch=False)
    guard = resilience or Resilience(llm)
    started = time.perf_counter()
    try:
        response = await guard.call(
            request.model,
            "chat",
            lambda: client.chat.completions.create(**body),
            tokens=estimate.tokens,
        )
    except CircuitOpenError:
        raise
    except (OpenAIError, TimeoutError) as exc:
        account(llm, request.model, "sync", Usage(), ok=False)
        return LLMResult(
            custom_id=request.custom_id,
            request=request,
            mode="sync",
            ok=False,
            error=f"{type(exc).__name__}: {exc}"[:500],
            latency_ms=int((time.perf_counter() - started) * 1000),
        )
    metrics.LLM_ESTIMATED_COST.labels(request.model, "sync").inc(estimate.cost_usd)
    usage = usage_from(response.usage)
    cost = account(llm, request.model, "sync", usage, ok=True)
    return LLMResult(
        custom_id=request.custom_id,
        request=request,
        mode="sync",
        ok=True,
        content=response.choices[0].message.content if response.choices else None,
        usage=usage,
        cost_usd=cost,
        latency_ms=int((time.perf_counter() - started) * 1000),
    )


def batch_line(custom_id: str, body: dict[str, Any]) -> bytes:
    """One line of a batch input file."""
    line = {"custom_id": custom_id, "method": "POST", "url": BATCH_ENDPOINT, "body": body}
    return json.dumps(line, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def write_batch_line(out: IO[bytes], llm: LLMSettings, request: LLMRequest) -> int:
    """Append one request line to a batch input file; returns the bytes written."""
    data = batch_line(request.custom_id, batch_body(llm, request))
    out.write(data)
    return len(data)


def result_from_batch_line(
    llm: LLMSettings, request: LLMRequest, line: dict[str, Any]
) -> LLMResult:
    """One line of a batch output or error file -> the item's result."""
    response = line.get("response") or {}
    status = response.get("status_code")
    body = response.get("body") or {}
    if status == 200 and body.get("choices"):
        usage = usage_from(body.get("usage"))
        cost = account(llm, request.model, "batch", usage, ok=True)
        return LLMResult(
            custom_id=request.custom_id,
            request=request,
            mode="batch",
            ok=True,
            content=body["choices"][0].get("message", {}).get("content"),
            usage=usage,
            cost_usd=cost,
        )
    error = line.get("error") or body.get("error") or {"message": f"status {status}"}
    account(llm, request.model, "batch", Usage(), ok=False)
    return LLMResult(
        custom_id=request.custom_id,
        request=request,
        mode="batch",
        ok=False,
        error=json.dumps(error, ensure_ascii=False)[:500],
    )
