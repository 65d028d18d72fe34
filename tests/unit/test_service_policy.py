"""The shared error policy of every service: dead-letter bad input, retry outages, isolate."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from catalog import service
from catalog.kafka.codec import encode
from catalog.kafka.topics import DLQ, RAW, ROUTED, TopicSpec
from catalog.service import (
    Handler,
    HealthCheck,
    Incoming,
    Outgoing,
    Publisher,
    Rejected,
    ServiceApp,
)
from catalog.settings import Settings
from schemas.models import DeadLetter, RawListing


@dataclass
class Message:
    value: bytes | None
    offset: int
    key: bytes | None = b"k"
    topic: str = "products.raw.v1"
    partition: int = 0
    headers: list[tuple[str, bytes]] = field(default_factory=list)


@dataclass
class Event:
    message: Message


class FlakyProcessor:
    """Fails `outages` times in a row, and always on listings whose sku starts with 'poison'."""

    def __init__(self, outages: int = 0) -> None:
        self.outages = outages
        self.calls = 0

    async def start(self, publish: Publisher) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def handle(
        self, batch: Sequence[Incoming[RawListing]]
    ) -> list[Sequence[Outgoing] | Rejected]:
        self.calls += 1
        if self.outages > 0:
            self.outages -= 1
            raise ConnectionError("database restarting")
        if any(i.value.sku.startswith("poison") for i in batch):
            raise RuntimeError("cannot handle this one")
        results: list[Sequence[Outgoing] | Rejected] = []
        for item in batch:
            if item.value.sku == "refuse":
                results.append(Rejected("business_rule", "price too low"))
            else:
                results.append([Outgoing(ROUTED, item.value.listing_key, item.value)])
        return results

    def handlers(self) -> dict[TopicSpec, Handler]:
        return {RAW: self.handle}

    def health_checks(self) -> dict[str, HealthCheck]:
        return {}

    def timers(self) -> list[tuple[float, Callable[[], Awaitable[None]]]]:
        return []


def raw(sku: str) -> bytes:
    return encode(RawListing(retailer="jumbo", sku=sku, name="Leche Colun 1L", price=990))


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> tuple[ServiceApp, FlakyProcessor, list[Outgoing]]:
    monkeypatch.setattr(service, "FIRST_RETRY_DELAY_S", 0.0)
    processor = FlakyProcessor()
    svc = ServiceApp("router", Settings(), processor)
    sent: list[Outgoing] = []

    async def capture(out: Outgoing) -> None:
        sent.append(out)

    monkeypatch.setattr(svc, "send", capture)
    return svc, processor, sent


async def test_undecodable_message_is_dead_lettered_and_the_rest_flow(app: Any) -> None:
    svc, processor, sent = app
    events = [Event(Message(b'{"broken', 1)), Event(Message(raw("ok-1"), 2))]
    await svc.handle_events(RAW, processor.handle, events)
    assert [o.topic for o in sent] == [DLQ, ROUTED]
    letter: DeadLetter = sent[0].value  # type: ignore[assignment]
    assert letter.error_type == "contract_error" and letter.offset == 1
    assert base64.b64decode(letter.value_b64) == b'{"broken'
    assert sent[0].key == "products.raw.v1:0:1"


async def test_rejected_items_are_dead_lettered_with_their_reason(app: Any) -> None:
    svc, processor, sent = app
    await svc.handle_events(RAW, processor.handle, [Event(Message(raw("refuse"), 5))])
    letter: DeadLetter = sent[0].value  # type: ignore[assignment]
    assert (letter.error_type, letter.error) == ("business_rule", "price too low")


async def test_outages_are_retried_without_losing_messages(app: Any) -> None:
    svc, processor, sent = app
    processor.outages = 2
    await svc.handle_events(RAW, processor.handle, [Event(Message(raw("a"), 1))])
    assert processor.calls == 3
    assert [o.topic for o in sent] == [ROUTED]


async def test_a_message_that_keeps_failing_is_isolated(app: Any) -> None:
    svc, processor, sent = app
    events = [Event(Message(raw("a"), 1)), Event(Message(raw("poison-1"), 2)),
              Event(Message(raw("b"), 3))]  # fmt: skip
    await svc.handle_events(RAW, processor.handle, events)
    assert [o.topic for o in sent] == [ROUTED, DLQ, ROUTED]
    letter: DeadLetter = sent[1].value  # type: ignore[assignment]
    assert letter.error_type == "processing_error" and "cannot handle" in letter.error
    assert letter.offset == 2
