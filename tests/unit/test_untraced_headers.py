"""Without a tracer provider the consume loop skips per-message spans and each output carries
its message's trace headers: exactly what the non-recording spans injected before.

Run in a fresh interpreter: the tracer provider is process-wide and other unit tests set one."""

from __future__ import annotations

import json
import subprocess
import sys

SCRIPT = r"""
import json
from dataclasses import dataclass, field
from catalog.observability import (
    ConsumerSpans, carried_headers, inject_headers, tracing_recording,
)

@dataclass
class Message:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    headers: dict = field(default_factory=dict)

messages = [
    Message("t.raw", 0, 1, b"a:1", {
        "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "tracestate": "vendor=x", "attempt": "2",
    }),
    Message("t.raw", 0, 2, b"a:2", {
        "traceparent": "00-1af7651916cd43dd8448eb211c80319d-c7ad6b7169203332-00",
        "baggage": "tenant=lider",
    }),
    Message("t.raw", 0, 3, b"a:3", {}),
]
spans = ConsumerSpans(messages, "g")
through_spans = []
for i in range(len(messages)):
    with spans.message(i):
        through_spans.append({k: v.decode() for k, v in inject_headers({"x": "1"}).items()})
spans.end()
carried = [{**carried_headers(m.headers), "x": "1"} for m in messages]
print(json.dumps({"recording": tracing_recording(), "spans": through_spans, "carried": carried}))
"""


def test_carried_headers_equal_what_non_recording_spans_inject() -> None:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True
    ).stdout
    result = json.loads(out)
    assert result["recording"] is False
    assert result["carried"] == result["spans"]
    # The trace headers do pass through (the test would be empty otherwise).
    assert result["carried"][0]["traceparent"].startswith("00-0af76519")
    assert "attempt" not in result["carried"][0]
