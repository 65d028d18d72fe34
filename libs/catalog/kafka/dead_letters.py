"""Dead letters that always fit the dead-letter topic.

A dead-letter record carries the original message (base64, a third larger than the bytes) plus
the error. An original small enough travels whole. A larger one (or one with a huge key) would
make a record the producer refuses, so it is written whole to Postgres `dead_letters` first, and
the record carries its first bytes, its size, its SHA-256 and `original_ref`. The service that
dead-letters does that write before it commits the source offset; a replay rewrites the same row.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime

import asyncpg
from aiokafka.record.default_records import DefaultRecordBatchBuilder

from catalog.db.pool import close_pool
from catalog.kafka.codec import encode
from catalog.kafka.failures import DependencyDown
from catalog.settings import PostgresSettings
from schemas.models import DeadLetter, utcnow

ERROR_MAX_CHARS = 2000
# What a truncated record keeps of the original: enough to recognise it in `catalog dlq list`.
VALUE_PREFIX_BYTES = 4096
KEY_MAX_BYTES = 1024
# Room kept for the record's other fields, headers and the batch framing.
RECORD_OVERHEAD_BYTES = 64 * 1024


@dataclass(frozen=True)
class Original:
    """Where a message came from, its raw bytes and why it is dead-lettered."""

    service: str
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    error_type: str
    error: str

    @property
    def coordinates(self) -> str:
        return f"{self.topic}:{self.partition}:{self.offset}"


def _b64(data: bytes | None) -> str | None:
    return base64.b64encode(data).decode("ascii") if data is not None else None


def inline_limit(max_request_bytes: int) -> int:
    """The largest original (key + value) that travels whole in a record under the limit."""
    return max(0, (max_request_bytes - RECORD_OVERHEAD_BYTES) * 3 // 4)


def fits_inline(original: Original, max_request_bytes: int) -> bool:
    key = original.key or b""
    value = original.value or b""
    return len(key) <= KEY_MAX_BYTES and len(key) + len(value) <= inline_limit(max_request_bytes)


def build(
    original: Original,
    *,
    max_request_bytes: int,
    original_ref: str | None = None,
    failed_at: datetime | None = None,
) -> DeadLetter:
    """The record for the topic: whole when it fits, else a prefix with `original_ref`."""
    value = original.value or b""
    truncated = not fits_inline(original, max_request_bytes)
    if truncated and original_ref is None:
        raise ValueError("an original too large for the topic must be stored first")
    key = original.key
    if truncated:
        key = key[:KEY_MAX_BYTES] if key is not None else None
        value = value[:VALUE_PREFIX_BYTES]
    return DeadLetter(
        service=original.service,
        topic=original.topic,
        partition=original.partition,
        offset=original.offset,
        key_b64=_b64(key),
        value_b64=_b64(value) or "",
        error_type=original.error_type[:50],
        error=original.error[:ERROR_MAX_CHARS],
        failed_at=failed_at or utcnow(),
        value_size=len(original.value or b""),
        value_sha256=hashlib.sha256(original.value or b"").hexdigest(),
        truncated=truncated,
        original_ref=original_ref if truncated else None,
    )


def record_size(letter: DeadLetter, key: str) -> int:
    """What the producer will count for this record (headers aside)."""
    return int(DefaultRecordBatchBuilder.estimate_size_in_bytes(key.encode(), encode(letter), []))


class OriginalStore:
    """Writes oversized originals whole to `dead_letters`, through a small pool opened on first
    use (most services never need it, and some have no database otherwise)."""

    def __init__(self, pg: PostgresSettings) -> None:
        self.pg = pg
        self._pool: asyncpg.Pool | None = None
        self._lock = asyncio.Lock()

    async def _get_pool(self) -> asyncpg.Pool:
        async with self._lock:
            if self._pool is None:
                self._pool = await asyncpg.create_pool(
                    dsn=self.pg.dsn.get_secret_value(),
                    min_size=0,
                    max_size=1,
                    command_timeout=self.pg.command_timeout_s,
                )
            assert self._pool is not None
            return self._pool

    async def keep(self, original: Original, letter: DeadLetter) -> str:
        """Store the whole original (idempotent on the source coordinates); returns the
        reference the topic record carries."""
        try:
            return await self._keep(original, letter)
        except (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError) as exc:
            raise DependencyDown("postgres", exc) from exc

    async def _keep(self, original: Original, letter: DeadLetter) -> str:
        pool = await self._get_pool()
        row_id = await pool.fetchval(
            """INSERT INTO dead_letters (service, topic, partition, "offset", error_type, error,
                   key_b64, value_b64, failed_at, value_size, value_sha256, truncated_on_topic)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, TRUE)
               ON CONFLICT (topic, partition, "offset", service) DO UPDATE SET
                   key_b64 = EXCLUDED.key_b64, value_b64 = EXCLUDED.value_b64,
                   value_size = EXCLUDED.value_size, value_sha256 = EXCLUDED.value_sha256,
                   truncated_on_topic = TRUE
               RETURNING id""",
            original.service,
            original.topic,
            original.partition,
            original.offset,
            letter.error_type,
            letter.error,
            _b64(original.key),
            _b64(original.value) or "",
            letter.failed_at,
            letter.value_size,
            letter.value_sha256,
        )
        return f"postgres:dead_letters/{row_id}"

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await close_pool(pool)


async def bounded_dead_letter(
    original: Original, *, max_request_bytes: int, store: OriginalStore
) -> DeadLetter:
    """The record to send for `original`, storing the original first when it does not fit."""
    if fits_inline(original, max_request_bytes):
        letter = build(original, max_request_bytes=max_request_bytes)
        if record_size(letter, original.coordinates) <= max_request_bytes:
            return letter
    # Too large to travel whole (or, with a hostile error text, the whole record would not fit).
    failed_at = utcnow()
    draft = build(
        original, max_request_bytes=0, original_ref="pending", failed_at=failed_at
    )  # a truncated record, to fix the error text and time stored with the original
    ref = await store.keep(original, draft)
    return draft.model_copy(update={"original_ref": ref})
