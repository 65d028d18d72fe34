"""Structured logs and trace propagation through Kafka headers.

Libraries only use the OpenTelemetry API; `configure` (called by service entry points) installs
the SDK and an OTLP exporter when an endpoint is configured. Trace context travels in W3C
`traceparent` headers so one listing is one trace across every hop.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from typing import Any, Protocol

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.semconv._incubating.attributes import messaging_attributes as messaging
from opentelemetry.trace import Link, Span, SpanKind, Status, StatusCode

from catalog.settings import Settings

tracer = trace.get_tracer("catalog")


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        span = trace.get_current_span().get_span_context()
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if span.is_valid:
            entry["trace_id"] = f"{span.trace_id:032x}"
            entry["span_id"] = f"{span.span_id:016x}"
        extra = getattr(record, "fields", None)
        if isinstance(extra, dict):
            entry.update(extra)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure(service: str, settings: Settings) -> None:
    """Install log formatting and, when an OTLP endpoint is set, tracing."""
    handler = logging.StreamHandler(sys.stderr)
    if settings.observability.log_json:
        handler.setFormatter(JsonFormatter(service))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.observability.log_level)
    if tracing_enabled(settings):
        configure_tracing(service, settings.observability.otlp_endpoint)


def tracing_enabled(settings: Settings) -> bool:
    """Traces are exported when an OTLP endpoint is configured, by the standard variables
    (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) or the catalog setting,
    unless OTEL_SDK_DISABLED or OTEL_TRACES_EXPORTER=none say otherwise."""
    if os.environ.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return False
    if os.environ.get("OTEL_TRACES_EXPORTER", "otlp").lower() == "none":
        return False
    return bool(
        os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        or settings.observability.otlp_endpoint
    )


def configure_tracing(service: str, traces_endpoint: str | None = None) -> None:
    """The tracing SDK with an OTLP/HTTP exporter, and client spans for Postgres (asyncpg), Redis
    and the OpenAI SDK's chat completions and embeddings. (The SDK's Files and Batch API calls,
    which no maintained instrumentation covers, get their spans in `catalog.llm.resilience`.)

    The exporter reads the standard OTEL_EXPORTER_OTLP_* variables (endpoint, headers, timeout,
    compression); `traces_endpoint`, the full URL of the traces path, overrides the endpoint.
    The resource takes OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES; `service` is the name
    when OTEL_SERVICE_NAME is unset.
    """
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
    from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    protocol = os.environ.get(
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
    )
    if protocol not in (None, "", "http/protobuf"):
        logging.getLogger(__name__).warning(
            "OTLP protocol %r is not supported: traces are sent over http/protobuf", protocol
        )
    attributes = {} if os.environ.get("OTEL_SERVICE_NAME") else {SERVICE_NAME: service}
    provider = TracerProvider(resource=Resource.create(attributes))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=traces_endpoint)))
    trace.set_tracer_provider(provider)
    for instrumentor in (
        AsyncPGInstrumentor(),
        RedisInstrumentor(),
        OpenAIInstrumentor(),
    ):
        if not instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.instrument(tracer_provider=provider)


def headers_to_dict(
    headers: Mapping[str, bytes] | Iterable[tuple[str, bytes]] | None,
) -> dict[str, str]:
    if not headers:
        return {}
    items = headers.items() if isinstance(headers, Mapping) else headers
    return {k: (v.decode("latin-1") if isinstance(v, bytes) else str(v)) for k, v in items}


def extract_context(headers: Mapping[str, str]) -> otel_context.Context:
    return propagate.extract(headers)


BAGGAGE_FIELDS = frozenset(W3CBaggagePropagator().fields)


def tracing_recording() -> bool:
    """Whether spans are recorded at all: false until a tracer provider is set (tracing not
    configured), when every span is a non-recording wrapper of its parent's context."""
    provider = trace.get_tracer_provider()
    return not isinstance(provider, trace.ProxyTracerProvider | trace.NoOpTracerProvider)


def carried_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """A consumed message's trace context headers (`traceparent`, `tracestate`, or whatever the
    configured propagators use), for an output to carry on unchanged: what a non-recording span
    injects, without the per-message span work. Baggage is left out, as a span does not carry
    it either."""
    fields = propagate.get_global_textmap().fields - BAGGAGE_FIELDS
    return {k: headers[k] for k in fields if k in headers}


def inject_headers(extra: Mapping[str, str] | None = None) -> dict[str, bytes]:
    """W3C trace headers for the current span, plus `extra`, encoded for Kafka. A `traceparent`
    in `extra` wins: a message that continues a listing's trace stored earlier (an LLM result
    published by a timer, not while consuming the listing) names that trace itself."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    carrier.update(extra or {})
    return {k: v.encode("latin-1") for k, v in carrier.items()}


def current_traceparent() -> str | None:
    """The W3C `traceparent` of the current span, to store with work finished later."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get("traceparent")


PROCESS = messaging.MessagingOperationTypeValues.PROCESS.value


class ConsumedMessage(Protocol):
    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def headers(self) -> Mapping[str, str]: ...


class ConsumerSpans:
    """The `{topic} process` span of each consumed message, per the messaging semantic
    conventions, child of the context its producer put in the headers.

    The handler receives the messages as a batch: it runs inside the message's own span when the
    batch holds one message (so its Postgres, Redis and LLM client spans belong to that listing's
    trace), else inside a batch `{topic} process` span linked to every message's span. What each
    message produces is encoded inside its own span (`message(i)`), so the next hop continues it.
    """

    def __init__(self, messages: Sequence[ConsumedMessage], group: str) -> None:
        self.group = group
        self.spans: list[Span] = [self._start(m) for m in messages]

    def _attributes(self, topic: str) -> dict[str, Any]:
        return {
            messaging.MESSAGING_SYSTEM: messaging.MessagingSystemValues.KAFKA.value,
            messaging.MESSAGING_OPERATION_TYPE: PROCESS,
            messaging.MESSAGING_OPERATION_NAME: "process",
            messaging.MESSAGING_DESTINATION_NAME: topic,
            messaging.MESSAGING_CONSUMER_GROUP_NAME: self.group,
        }

    def _start(self, message: ConsumedMessage) -> Span:
        attributes = self._attributes(message.topic)
        attributes.update({
            messaging.MESSAGING_DESTINATION_PARTITION_ID: str(message.partition),
            messaging.MESSAGING_KAFKA_OFFSET: message.offset,
            # The name of the offset attribute before semantic conventions 1.27, still read by
            # many backends.
            messaging.MESSAGING_KAFKA_MESSAGE_OFFSET: message.offset,
        })  # fmt: skip
        if message.key is not None:
            attributes[messaging.MESSAGING_KAFKA_MESSAGE_KEY] = message.key.decode(
                "utf-8", "replace"
            )
        return tracer.start_span(
            f"{message.topic} process",
            context=extract_context(message.headers),
            kind=SpanKind.CONSUMER,
            attributes=attributes,
        )

    @contextmanager
    def handling(self, topic: str) -> Iterator[None]:
        """The context the batch handler runs in."""
        if len(self.spans) == 1:
            with trace.use_span(self.spans[0], end_on_exit=False):
                yield
            return
        attributes = self._attributes(topic)
        attributes[messaging.MESSAGING_BATCH_MESSAGE_COUNT] = len(self.spans)
        links = [Link(span.get_span_context()) for span in self.spans]
        with tracer.start_as_current_span(
            f"{topic} process", kind=SpanKind.CONSUMER, links=links, attributes=attributes
        ):
            yield

    def message(self, index: int) -> AbstractContextManager[Span]:
        return trace.use_span(self.spans[index], end_on_exit=False)

    def end(self, error: BaseException | None = None) -> None:
        for span in self.spans:
            if error is not None:
                span.record_exception(error)
                span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
            span.end()
