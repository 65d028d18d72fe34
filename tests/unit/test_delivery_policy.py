"""The pieces of the delivery policy: failure classification, backoff, fault injection, bounded
dead letters, size limits. The consume loop itself is exercised against the real broker in
tests/integration/test_delivery.py."""

from __future__ import annotations

import base64
import hashlib
import json
import random
from pathlib import Path

import asyncpg
import pytest
import redis.exceptions as redis_errors
from aiokafka.errors import (
    KafkaConnectionError,
    KafkaTimeoutError,
    MessageSizeTooLargeError,
    NotLeaderForPartitionError,
)
from pydantic import ValidationError

from catalog.cli.listing_files import read_listings
from catalog.kafka.codec import ContractError, decode, encode
from catalog.kafka.dead_letters import (
    KEY_MAX_BYTES,
    VALUE_PREFIX_BYTES,
    Original,
    build,
    fits_inline,
    inline_limit,
    record_size,
)
from catalog.kafka.failures import (
    Backoff,
    DependencyDown,
    FaultInjector,
    InjectedFault,
    OutputTooLarge,
    classify,
)
from catalog.kafka.topics import RAW, RAW_MAX_BYTES
from catalog.llm.resilience import CircuitOpenError
from catalog.settings import FaultSettings, Settings
from schemas.models import DeadLetter, RawListing

MAX_REQUEST = 1_048_576


# -- classification ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exc", "dependency"),
    [
        (InjectedFault("boom"), "injected"),
        (DependencyDown("postgres", ConnectionRefusedError(111, "refused")), "postgres"),
        (asyncpg.exceptions.CannotConnectNowError("starting up"), "postgres"),
        (asyncpg.exceptions.AdminShutdownError("terminating connection"), "postgres"),
        (asyncpg.exceptions.SerializationError("could not serialize"), "postgres"),
        (asyncpg.exceptions.DeadlockDetectedError("deadlock"), "postgres"),
        (asyncpg.exceptions.ConnectionDoesNotExistError("closed"), "postgres"),
        (asyncpg.InterfaceError("connection is closed"), "postgres"),
        (redis_errors.ConnectionError("refused"), "redis"),
        (redis_errors.TimeoutError("slow"), "redis"),
        (KafkaConnectionError("no broker"), "kafka"),
        (KafkaTimeoutError(), "kafka"),
        (NotLeaderForPartitionError(), "kafka"),
        (CircuitOpenError("gpt-5-mini", 3.0), "llm"),
        (ConnectionRefusedError(111, "refused"), "network"),
        (TimeoutError(), "network"),
    ],
)
def test_dependency_failures_are_transient(exc: BaseException, dependency: str) -> None:
    failure = classify(exc)
    assert failure.transient and failure.kind == "transient"
    assert failure.dependency == dependency


@pytest.mark.parametrize(
    "exc",
    [
        MessageSizeTooLargeError("too big"),
        OutputTooLarge(0, "products.routed.v1", 2_000_000, "too big"),
    ],
)
def test_a_record_that_can_never_be_sent_is_poison(exc: BaseException) -> None:
    assert classify(exc).kind == "poison"


@pytest.mark.parametrize(
    "exc",
    [
        KeyError("brand"),
        ValueError("bad data"),
        asyncpg.exceptions.UniqueViolationError("duplicate key"),
        asyncpg.exceptions.StringDataRightTruncationError("value too long"),
        FileNotFoundError(2, "no such file"),
    ],
)
def test_anything_else_is_unknown_and_left_to_the_health_checks(exc: BaseException) -> None:
    failure = classify(exc)
    assert failure.kind == "unknown" and failure.dependency is None


def test_classification_looks_through_the_cause_chain() -> None:
    try:
        try:
            raise ConnectionResetError(104, "reset by peer")
        except ConnectionResetError as inner:
            raise RuntimeError("could not store the batch") from inner
    except RuntimeError as outer:
        failure = classify(outer)
    assert failure.transient and failure.dependency == "network"
    assert failure.error.startswith("RuntimeError")


# -- backoff and faults -----------------------------------------------------------------------


def test_backoff_doubles_with_jitter_up_to_the_cap_and_resets() -> None:
    backoff = Backoff(0.2, 2.0, random.Random(7))
    delays = [backoff.next_delay() for _ in range(8)]
    nominal = [0.2, 0.4, 0.8, 1.6, 2.0, 2.0, 2.0, 2.0]
    for delay, want in zip(delays, nominal, strict=True):
        assert want / 2 <= delay <= want
    backoff.reset()
    assert backoff.next_delay() <= 0.2


def test_no_fault_is_injected_by_default() -> None:
    faults = FaultInjector(FaultSettings(), "router")
    for _ in range(1000):
        faults.before_handler()
        assert faults.send_fault_at(10) is None


def test_injected_faults_follow_their_rate() -> None:
    faults = FaultInjector(
        FaultSettings(handler_rate=0.25, send_rate=0.5), "router", random.Random(3)
    )
    raised = 0
    for _ in range(4000):
        try:
            faults.before_handler()
        except InjectedFault:
            raised += 1
    assert 850 < raised < 1150
    points = [faults.send_fault_at(10) for _ in range(4000)]
    hits = [p for p in points if p is not None]
    assert 1800 < len(hits) < 2200
    assert set(hits) == set(range(10))  # anywhere in the send phase, after part was sent
    with pytest.raises(InjectedFault):
        FaultInjector(FaultSettings(send_rate=1.0), "router").fail_send()


def test_fault_rates_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CATALOG_FAULTS__HANDLER_RATE", "0.05")
    monkeypatch.setenv("CATALOG_FAULTS__SEND_RATE", "0.02")
    settings = Settings()
    assert (settings.faults.handler_rate, settings.faults.send_rate) == (0.05, 0.02)
    assert Settings(_env_file=None).faults.handler_rate == 0.05  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        FaultSettings(handler_rate=1.5)


# -- bounded dead letters ---------------------------------------------------------------------


def original(value: bytes | None, key: bytes | None = b"jumbo:1") -> Original:
    return Original("router", "products.raw.v1", 3, 41, key, value, "contract_error", "bad")


def test_a_small_original_travels_whole_with_size_and_hash() -> None:
    value = b'{"broken'
    letter = build(original(value), max_request_bytes=MAX_REQUEST)
    assert base64.b64decode(letter.value_b64) == value
    assert letter.value_size == len(value)
    assert letter.value_sha256 == hashlib.sha256(value).hexdigest()
    assert not letter.truncated and letter.original_ref is None


def test_an_oversized_original_must_be_stored_before_its_record_is_built() -> None:
    big = original(b"x" * 1_000_075)
    assert not fits_inline(big, MAX_REQUEST)
    with pytest.raises(ValueError, match="stored first"):
        build(big, max_request_bytes=MAX_REQUEST)
    letter = build(big, max_request_bytes=MAX_REQUEST, original_ref="postgres:dead_letters/9")
    assert letter.truncated and letter.original_ref == "postgres:dead_letters/9"
    assert len(base64.b64decode(letter.value_b64)) == VALUE_PREFIX_BYTES
    assert letter.value_size == 1_000_075
    assert letter.value_sha256 == hashlib.sha256(b"x" * 1_000_075).hexdigest()
    assert record_size(letter, big.coordinates) < 20_000


def test_the_largest_inline_original_still_fits_the_request_limit() -> None:
    limit = inline_limit(MAX_REQUEST)
    key = b"k" * KEY_MAX_BYTES
    # Worst case for JSON: every error character escaped.
    edge = Original(
        "router",
        "products.raw.v1",
        0,
        1,
        key,
        b"\xff" * (limit - len(key)),
        "x" * 50,
        "\x01" * 5000,
    )
    assert fits_inline(edge, MAX_REQUEST)
    letter = build(edge, max_request_bytes=MAX_REQUEST)
    assert record_size(letter, edge.coordinates) <= MAX_REQUEST
    one_more = Original("router", "t", 0, 1, key, b"\xff" * (limit - len(key) + 1), "e", "e")
    assert not fits_inline(one_more, MAX_REQUEST)


def test_a_huge_key_is_kept_out_of_the_record_too() -> None:
    hostile = original(b"{}", key=b"k" * 50_000)
    assert not fits_inline(hostile, MAX_REQUEST)
    letter = build(hostile, max_request_bytes=MAX_REQUEST, original_ref="postgres:dead_letters/1")
    assert letter.key_b64 is not None and len(base64.b64decode(letter.key_b64)) == KEY_MAX_BYTES


def test_empty_and_null_values_make_valid_letters() -> None:
    for value in (None, b""):
        letter = build(original(value, key=None), max_request_bytes=MAX_REQUEST)
        assert letter.value_b64 == "" and letter.value_size == 0 and letter.key_b64 is None


def test_version_1_dead_letters_still_decode() -> None:
    old = {
        "schema_version": 1, "service": "router", "topic": "products.raw.v1", "partition": 0,
        "offset": 5, "key_b64": None, "value_b64": "", "error_type": "contract_error",
        "error": "bad", "failed_at": "2026-01-01T00:00:00Z",
    }  # fmt: skip
    letter = decode(DeadLetter, json.dumps(old).encode())
    assert letter.schema_version == 1 and letter.value_size is None and not letter.truncated


# -- size limits ------------------------------------------------------------------------------


def big_listing(attribute_bytes: int) -> RawListing:
    return RawListing(
        retailer="jumbo", sku="huge-1", name="Leche Colun 1L", price=990,
        attributes={"descripcion": "a" * attribute_bytes},
    )  # fmt: skip


def test_the_raw_topic_refuses_messages_above_its_maximum() -> None:
    fine = encode(big_listing(RAW_MAX_BYTES - 1000))
    assert len(fine) <= RAW_MAX_BYTES
    assert decode(RAW.model, fine, RAW.max_message_bytes).sku == "huge-1"
    too_big = encode(big_listing(RAW_MAX_BYTES))
    with pytest.raises(ContractError, match=f"maximum of {RAW_MAX_BYTES}"):
        decode(RAW.model, too_big, RAW.max_message_bytes)


def test_publish_refuses_a_listing_larger_than_the_raw_topic_allows(tmp_path: Path) -> None:
    feed = tmp_path / "feed.jsonl"
    lines = [
        big_listing(10).model_dump_json(),
        big_listing(1_000_000).model_dump_json(),
        RawListing(retailer="lider", sku="2", name="Arroz Tucapel 1 kg", price=1290)
        .model_dump_json(),
    ]  # fmt: skip
    feed.write_text("\n".join(lines) + "\n", encoding="utf-8")
    read = read_listings(feed)
    assert [x.sku for x in read.listings] == ["huge-1", "2"]
    assert len(read.errors) == 1
    number, problem = read.errors[0]
    assert number == 2
    assert "exceeds the 131,072-byte maximum of products.raw.v1" in problem
