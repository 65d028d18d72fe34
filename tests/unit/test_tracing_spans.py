"""The consumer spans of the consume loop, trace headers, and provider-call client spans,
recorded by the SDK's in-memory exporter."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from catalog.llm.resilience import Resilience
from catalog.observability import ConsumerSpans, current_traceparent, inject_headers
from catalog.settings import LLMSettings

EXPORTER = InMemorySpanExporter()


@pytest.fixture(autouse=True)
def spans() -> Iterator[InMemorySpanExporter]:
    # The global provider can be set once per process; the library tracers are proxies to it.
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(EXPORTER))
        trace.set_tracer_provider(provider)
    EXPORTER.clear()
    yield EXPORTER
    EXPORTER.clear()


@dataclass
class Message:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    headers: dict[str, str] = field(default_factory=dict)


TRACE = "0af7651916cd43dd8448eb211c80319c"
PARENT = "b7ad6b7169203331"


def test_one_message_is_processed_in_its_own_span(spans: InMemorySpanExporter) -> None:
    message = Message("t.products.raw.v1", 1, 42, b"falabella:F-1", {
        "traceparent": f"00-{TRACE}-{PARENT}-01"
    })  # fmt: skip
    consumer = ConsumerSpans([message], "t.catalog-router")
    with consumer.handling(message.topic):
        inside_handler = current_traceparent()
    with consumer.message(0):
        headers = inject_headers({"attempt": "1"})
    consumer.end()

    (span,) = spans.get_finished_spans()
    assert span.name == "t.products.raw.v1 process"
    assert span.kind == SpanKind.CONSUMER
    assert f"{span.context.trace_id:032x}" == TRACE
    assert span.parent is not None and f"{span.parent.span_id:016x}" == PARENT
    assert dict(span.attributes or {}) == {
        "messaging.system": "kafka",
        "messaging.operation.type": "process",
        "messaging.operation.name": "process",
        "messaging.destination.name": "t.products.raw.v1",
        "messaging.consumer.group.name": "t.catalog-router",
        "messaging.destination.partition.id": "1",
        "messaging.kafka.offset": 42,
        "messaging.kafka.message.offset": 42,
        "messaging.kafka.message.key": "falabella:F-1",
    }
    own = f"00-{TRACE}-{span.context.span_id:016x}-01"
    # The handler's client calls and what the message produces are children of its span.
    assert inside_handler == own
    assert headers == {"traceparent": own.encode(), "attempt": b"1"}


def test_a_batch_is_handled_in_a_span_linked_to_each_message(
    spans: InMemorySpanExporter,
) -> None:
    messages = [
        Message("t.llm.results.v1", 0, offset, None, {"traceparent": f"00-{trace_id}-{PARENT}-01"})
        for offset, trace_id in ((7, TRACE), (8, "1" * 32))
    ]
    consumer = ConsumerSpans(messages, "t.catalog-validator")
    with consumer.handling("t.llm.results.v1"):
        pass
    consumer.end(RuntimeError("handler failed"))

    finished = {s.name + str((s.attributes or {}).get("messaging.kafka.offset")): s for s in
                spans.get_finished_spans()}  # fmt: skip
    batch = finished["t.llm.results.v1 processNone"]
    first, second = finished["t.llm.results.v1 process7"], finished["t.llm.results.v1 process8"]
    assert (batch.attributes or {})["messaging.batch.message_count"] == 2
    assert [link.context.span_id for link in batch.links] == [
        first.context.span_id,
        second.context.span_id,
    ]
    # Each message stays in its own listing's trace.
    assert f"{first.context.trace_id:032x}" == TRACE
    assert f"{second.context.trace_id:032x}" == "1" * 32
    assert first.status.status_code == second.status.status_code == StatusCode.ERROR


def test_an_explicit_traceparent_wins_over_the_current_span() -> None:
    stored = f"00-{TRACE}-{PARENT}-01"
    with trace.get_tracer("test").start_as_current_span("timer"):
        assert inject_headers({"traceparent": stored})["traceparent"] == stored.encode()
        assert inject_headers()["traceparent"] != stored.encode()


async def test_files_and_batch_calls_get_client_spans_chat_calls_do_not(
    spans: InMemorySpanExporter,
) -> None:
    resilience = Resilience(LLMSettings())

    async def answer() -> str:
        return "ok"

    assert await resilience.call("gpt-5-mini", "files.create", answer) == "ok"
    # Chat completions are traced by the OpenAI instrumentation itself.
    assert await resilience.call("gpt-5-mini", "chat", answer) == "ok"

    (span,) = spans.get_finished_spans()
    assert span.name == "files.create gpt-5-mini"
    assert span.kind == SpanKind.CLIENT
    assert dict(span.attributes or {}) == {
        "gen_ai.system": "openai",
        "gen_ai.operation.name": "files.create",
        "gen_ai.request.model": "gpt-5-mini",
    }
