"""Structured logs and trace propagation through Kafka headers.

Libraries only use the OpenTelemetry API; `configure` (called by service entry points) installs
the SDK and an OTLP exporter when an endpoint is configured. Trace context travels in W3C
`traceparent` headers so one listing is one trace across every hop.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace

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
    """Install log formatting and, when an OTLP endpoint is set, the tracing SDK."""
    handler = logging.StreamHandler(sys.stderr)
    if settings.observability.log_json:
        handler.setFormatter(JsonFormatter(service))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.observability.log_level)
    if settings.observability.otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
            OTLPSpanExporter,
        )
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        provider = TracerProvider(resource=Resource.create({"service.name": service}))
        provider.add_span_processor(
            BatchSpanProcessor(OTLPSpanExporter(endpoint=settings.observability.otlp_endpoint))
        )
        trace.set_tracer_provider(provider)


def headers_to_dict(
    headers: Mapping[str, bytes] | Iterable[tuple[str, bytes]] | None,
) -> dict[str, str]:
    if not headers:
        return {}
    items = headers.items() if isinstance(headers, Mapping) else headers
    return {k: (v.decode("latin-1") if isinstance(v, bytes) else str(v)) for k, v in items}


def extract_context(headers: Mapping[str, str]) -> otel_context.Context:
    return propagate.extract(headers)


def inject_headers(extra: Mapping[str, str] | None = None) -> dict[str, bytes]:
    """W3C trace headers for the current span, plus `extra`, encoded for Kafka."""
    carrier: dict[str, str] = dict(extra or {})
    propagate.inject(carrier)
    return {k: v.encode("latin-1") for k, v in carrier.items()}
