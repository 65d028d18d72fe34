"""The consume loop every service runs: at-least-once delivery that never skips a message.

One aiokafka consumer per service (group `{prefix}catalog-{service}`, auto-commit off) is
subscribed to every topic the service consumes. For each fetched batch, per topic:

1. decode every message with the topic's contract;
2. call the handler with the decoded messages (one result per input);
3. send every output and every dead letter, and await each delivery acknowledgement;
4. only then commit exactly this batch: the last offset + 1 of each partition.

The commit of a batch is sent at once but not waited for: the next batch is fetched and handled
while it is on its way, and its outcome is awaited before the next commit is sent (so commits
stay in order), before partitions are given up in a rebalance and at shutdown. A commit that
fails is retried, with backoff, until it succeeds (no message is at fault, so none is retried or
dead-lettered; the loop waits at the next commit), or until the partitions are revoked or the
loop stops. Its outputs were acknowledged before it was sent, so a commit given up only means a
replay.

The handler makes its own side effects durable before it returns (a database transaction, the
LLM store), so a commit always follows durable effects and acknowledged outputs. A failure
anywhere in 1-4 commits nothing: the batch's partitions are paused and rewound to the first
offset of the batch (the offset after the last committed one), and the batch is fetched and
processed again after a backoff. Effects are idempotent, so a retry changes nothing twice.

Failure policy (`catalog.kafka.failures.classify` places the exception):

- **Poison** can never succeed, and goes to `products.dlq.v1` (bounded, see
  `catalog.kafka.dead_letters`): a message that does not decode (`contract_error`, including
  one above the topic's size limit), one the handler rejects (`Rejected`), one whose output is
  larger than the producer accepts (`output_too_large`).
- **Transient** is a dependency or the broker failing (connection errors, timeouts, Postgres
  connection / shutdown / serialization errors, Redis down, retriable broker errors, an open LLM
  circuit) or an injected fault. It is waited out, forever, with capped exponential backoff, the
  partitions paused, `/health/ready` naming the dependency. It never dead-letters anything.
- **Unknown** (any other exception) is retried like a transient failure. If a batch fails
  `poison_attempts` times in a row, its messages are retried one at a time; a single message
  that then fails `poison_attempts` times in a row is dead-lettered as `processing_error` only
  if every required dependency passes its health check at that moment (otherwise it is an
  outage, and waited out).

Rebalances: when partitions are revoked, a batch being handled is given until the rebalance
timeout to finish and commit; a batch waiting out a failure is abandoned uncommitted (the next
owner starts from the committed offset). A rebalance that does not complete (no assignment for
longer than `kafka.rebalance_stall_limit_s` since the consumer subscribed or since its last
revocation) is a stuck coordinator or member: the consumer, which holds no partitions and no
batch by then, is closed and a new one joins as a new member. An empty assignment (more members
than partitions) completes a rebalance like any other.

Shutdown (SIGTERM): stop fetching, finish the batch in flight (or abandon it, uncommitted, if it
is waiting out a failure), then close the consumer. Where `leave_group_on_close` is on (prod), a
closing consumer leaves its group, so its partitions move at once; on the embedded broker it
does not (a leader leaving while a rebalance starts can leave the group stuck there, see
`catalog.settings.KAFKA_TUNING`), and its partitions move once its session expires, as after a
crash. `close_consumer` is the one place a consumer is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import CommitFailedError, IllegalStateError, MessageSizeTooLargeError
from aiokafka.producer.message_accumulator import BatchBuilder
from aiokafka.record.default_records import DefaultRecordBatchBuilder
from aiokafka.structs import ConsumerRecord, TopicPartition
from pydantic import BaseModel

from catalog import metrics
from catalog.kafka.codec import ContractError, decode, encode
from catalog.kafka.dead_letters import Original, OriginalStore, bounded_dead_letter
from catalog.kafka.failures import (
    TOO_LARGE,
    Backoff,
    Failure,
    FaultInjector,
    OutputTooLarge,
    classify,
    sleep_unless,
)
from catalog.kafka.partitioner import Murmur2Partitioner
from catalog.kafka.rebalance import RebalanceWatch
from catalog.kafka.topics import DLQ, TopicSpec
from catalog.observability import (
    ConsumerSpans,
    carried_headers,
    headers_to_dict,
    inject_headers,
    tracing_recording,
)
from catalog.settings import Settings

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)

IDLE_POLL_MS = 500
# How often a fetch blocked by a rebalance in progress checks the stall limit and shutdown.
REBALANCE_CHECK_S = 1.0


_MISSING = object()


async def close_consumer(consumer: AIOKafkaConsumer, leave_group: bool) -> None:
    """Stop a consumer of a group; without `leave_group`, its member stays in the group until
    its session expires instead of leaving it. A no-op on a consumer already stopped."""
    if not leave_group:
        _skip_leave_group(consumer)
    await consumer.stop()


def _skip_leave_group(consumer: AIOKafkaConsumer) -> None:
    """Make `consumer`'s next close send no LeaveGroup.

    aiokafka has no option for this; this relies on its 0.14 internals (pinned <0.15): `stop()`
    closes the consumer's `GroupCoordinator` (`_coordinator`, set by `start()`), whose `close()`
    lets the coordination task finish (a join in progress included), stops the heartbeat, then
    calls `_maybe_leave_group()`: LeaveGroup when it holds a generation, then
    `reset_generation()`. Only that last step is replaced, by the reset alone. Resetting the
    generation before `stop()` would not do: a join in progress when the close starts completes
    first and sets a new generation, which the LeaveGroup would then carry. Nothing is lost by
    skipping the step: offsets are committed by the loop, never on close (auto-commit is off).
    """
    coordinator: Any = getattr(consumer, "_coordinator", _MISSING)
    if coordinator is None:
        return  # never started, so never joined: there is no group to leave
    if not callable(getattr(coordinator, "_maybe_leave_group", None)) or not callable(
        getattr(coordinator, "reset_generation", None)
    ):
        log.warning(
            "cannot close the consumer without leaving its group; closing it normally",
            extra={"fields": {"coordinator": type(coordinator).__name__}},
        )
        return

    async def forget_generation() -> None:
        coordinator.reset_generation()

    coordinator._maybe_leave_group = forget_generation


class Rejected(Exception):
    """The processor refuses this message for good (bad content, not a passing outage)."""

    def __init__(self, error_type: str, reason: str) -> None:
        super().__init__(reason)
        self.error_type = error_type
        self.reason = reason


@dataclass(frozen=True)
class Incoming(Generic[M]):
    value: M
    key: bytes | None
    headers: dict[str, str]
    topic: str
    partition: int
    offset: int


@dataclass(frozen=True)
class Outgoing:
    topic: TopicSpec
    key: str
    value: BaseModel
    headers: dict[str, str] = field(default_factory=dict)


Result = Sequence[Outgoing] | Rejected
Handler = Callable[[Sequence[Incoming[Any]]], Awaitable[Sequence[Result]]]
# Names of the required dependencies that are down right now (empty: all healthy).
HealthProbe = Callable[[], Awaitable[list[str]]]


@dataclass(frozen=True)
class Send:
    """One record to produce; `source` is the index of the consumed message it comes from."""

    topic: str
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]
    source: int | None = None


class Sender:
    """The service's producer: every send is awaited until the broker acknowledges it."""

    def __init__(self, settings: Settings, faults: FaultInjector, client_id: str) -> None:
        self.settings = settings
        self.faults = faults
        self.client_id = client_id
        self._producer: AIOKafkaProducer | None = None
        # The producer's partitioner, also used to group records per partition before sending:
        # Kafka's default partition of each key (`catalog.kafka.partitioner`).
        self._partitioner = Murmur2Partitioner()
        self._max_request_bytes = settings.kafka.max_request_bytes

    @property
    def producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            raise RuntimeError("the producer is not started")
        return self._producer

    async def start(self) -> None:
        """Connect (created here: aiokafka binds its objects to the running event loop)."""
        if self._producer is not None:
            return
        tuning = self.settings.kafka.tuning(self.settings.environment)
        producer = AIOKafkaProducer(
            bootstrap_servers=self.settings.kafka.bootstrap,
            client_id=self.client_id,
            acks="all",
            linger_ms=tuning.linger_ms,
            max_batch_size=tuning.max_batch_bytes,
            max_request_size=self._max_request_bytes,
            partitioner=self._partitioner,
        )
        await producer.start()
        self._producer = producer

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    def record(
        self, out: Outgoing, source: int | None = None, carried: dict[str, str] | None = None
    ) -> Send:
        """Encode an output; call inside the span it should be traced under, or pass the trace
        headers it should carry (`carried`, when no span is recorded)."""
        if carried is None:
            headers = list(inject_headers(out.headers).items())
        else:
            headers = [(k, v.encode("latin-1")) for k, v in {**carried, **out.headers}.items()]
        return Send(
            topic=out.topic.full_name(self.settings.kafka),
            key=out.key.encode("utf-8"),
            value=encode(out.value),
            headers=headers,
            source=source,
        )

    async def send_all(self, records: Sequence[Send]) -> None:
        """Send `records` and return once the broker has acknowledged every one of them.

        The records are appended, in order, to one producer batch per topic and partition (the
        partition the producer's own partitioner gives the key, so a key keeps its partition and
        its order); a full batch is handed over and a new one started. Each batch is one
        request entry with one acknowledgement, instead of one future per record.

        Raises the first failure, after every batch handed to the producer has settled, so a
        retry never overlaps a send still in flight. A record the producer can never accept
        raises `OutputTooLarge` naming the message it came from; the records before a failure
        are still sent (as a per-record send would have), the ones after it are not.
        """
        fail_at = self.faults.send_fault_at(len(records))
        producer = self.producer
        partitions: dict[str, list[int]] = {}
        open_batches: dict[tuple[str, int], tuple[BatchBuilder, Send]] = {}
        handed: list[tuple[Send, asyncio.Future[Any]]] = []
        failure: BaseException | None = None
        for index, rec in enumerate(records):
            try:
                if index == fail_at:
                    self.faults.fail_send()
                size = DefaultRecordBatchBuilder.estimate_size_in_bytes(
                    rec.key, rec.value, rec.headers
                )
                if size > self._max_request_bytes:
                    raise MessageSizeTooLargeError(
                        f"The message is {size} bytes when serialized which is larger than "
                        "the maximum request size you have configured with the "
                        "max_request_size configuration"
                    )
                if rec.topic not in partitions:
                    partitions[rec.topic] = sorted(await producer.partitions_for(rec.topic))
                all_partitions = partitions[rec.topic]
                tp = (rec.topic, self._partitioner(rec.key, all_partitions, all_partitions))
                current = open_batches.get(tp)
                if current is not None and _append(current[0], rec):
                    continue
                if current is not None:
                    # Out of the open batches first: a batch is never handed over twice.
                    del open_batches[tp]
                    handed.append(await self._hand_over(current, tp))
                batch = producer.create_batch()
                if not _append(batch, rec):
                    raise RuntimeError("an empty producer batch refused its first record")
                open_batches[tp] = (batch, rec)
            except TOO_LARGE as exc:
                failure = OutputTooLarge(rec.source or 0, rec.topic, len(rec.value), str(exc))
                break
            except Exception as exc:
                failure = exc
                break
        # Whatever was appended before a failure goes out too, as a per-record send would have.
        for tp, current in open_batches.items():
            try:
                handed.append(await self._hand_over(current, tp))
            except Exception as exc:
                failure = failure or exc
                break
        outcomes = await asyncio.gather(*(f for _, f in handed), return_exceptions=True)
        if failure is None:
            for (first, _), outcome in zip(handed, outcomes, strict=True):
                if isinstance(outcome, TOO_LARGE):
                    failure = OutputTooLarge(
                        first.source or 0, first.topic, len(first.value), str(outcome)
                    )
                    break
                if isinstance(outcome, BaseException):
                    failure = outcome
                    break
        if failure is not None:
            raise failure

    async def _hand_over(
        self, current: tuple[BatchBuilder, Send], tp: tuple[str, int]
    ) -> tuple[Send, asyncio.Future[Any]]:
        """Close a batch and queue it for its partition; the future settles on its ack."""
        batch, first = current
        batch.close()
        future = await self.producer.send_batch(batch, tp[0], partition=tp[1])
        return first, future


def _append(batch: BatchBuilder, rec: Send) -> bool:
    """Append a record to a producer batch; False when the batch is full."""
    return (
        batch.append(timestamp=None, key=rec.key, value=rec.value, headers=rec.headers) is not None
    )


@dataclass
class LoopStatus:
    """What the loop is doing, for `/health/ready`."""

    waiting_on: str | None = None
    error: str | None = None
    since: float | None = None
    consecutive_failures: int = 0
    # The consumer's wait for its group's rebalance (kept across the failure fields' resets).
    rebalance: RebalanceWatch | None = None

    def report(self) -> dict[str, Any]:
        if self.waiting_on is None:
            waited = self.rebalance.waited_s() if self.rebalance is not None else None
            if self.rebalance is not None and waited is not None:
                # Subscribed but not assigned: nothing is consumed until the rebalance completes.
                return {
                    "state": "joining",
                    "for_s": round(waited, 1),
                    "limit_s": self.rebalance.limit_s,
                    "reopened": self.rebalance.reopened,
                }
            return {"state": "consuming"}
        return {
            "state": "retrying",
            "waiting_on": self.waiting_on,
            "error": self.error,
            "for_s": round(time.monotonic() - (self.since or time.monotonic()), 1),
            "failures": self.consecutive_failures,
        }


class _Abandoned(Exception):
    """The batch was given up uncommitted (partitions revoked, or shutting down)."""


class _Listener(ConsumerRebalanceListener):
    def __init__(self, loop: ConsumeLoop) -> None:
        self.loop = loop

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        await self.loop.on_revoked(revoked)

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        self.loop.on_assigned(assigned)


class ConsumeLoop:
    def __init__(
        self,
        service: str,
        settings: Settings,
        handlers: dict[TopicSpec, Handler],
        sender: Sender,
        originals: OriginalStore,
        unhealthy: HealthProbe,
        faults: FaultInjector,
    ) -> None:
        self.service = service
        self.settings = settings
        self.kafka = settings.kafka
        self.bindings = {spec.full_name(self.kafka): (spec, h) for spec, h in handlers.items()}
        self.sender = sender
        self.originals = originals
        self.unhealthy = unhealthy
        self.faults = faults
        self.rebalance = RebalanceWatch(self.kafka.rebalance_stall_limit_s)
        self._leave_group = self.kafka.tuning(settings.environment).leave_group_on_close
        self.status = LoopStatus(rebalance=self.rebalance)
        self.consumer: AIOKafkaConsumer | None = None
        self._backoff = Backoff(self.kafka.retry_base_s, self.kafka.retry_max_s)
        self._stopping = asyncio.Event()
        # Set while a rebalance or a shutdown wants the batch waiting out a failure to give up.
        self._interrupt = asyncio.Event()
        self._in_flight = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        # Failures of the same batch in a row; then messages one at a time, for this many.
        self._batch_failures = 0
        self._isolate = 0
        self._strikes: dict[tuple[str, int, int], int] = {}
        # The last batch's offset commit, sent and not yet awaited (`_commit`).
        self._committing: asyncio.Task[None] | None = None
        self._phase_seconds = {
            phase: metrics.LOOP_SECONDS.labels(service, phase)
            for phase in ("fetch", "handle", "send", "commit")
        }

    @property
    def group_id(self) -> str:
        return f"{self.kafka.prefix}catalog-{self.service}"

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> asyncio.Task[None]:
        self._task = asyncio.ensure_future(self.run())
        return self._task

    async def stop(self, grace_s: float = 15.0) -> None:
        """Stop fetching, let the batch in flight finish (or abandon it), close the consumer."""
        self._stopping.set()
        self._interrupt.set()
        task = self._task
        if task is None or task.done():
            return
        try:
            await asyncio.wait_for(asyncio.shield(task), grace_s)
        except TimeoutError:
            log.warning("batch in flight abandoned at shutdown", extra=self._fields())
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _fields(self, **more: Any) -> dict[str, Any]:
        return {"fields": {"service": self.service, **more}}

    async def _open(self) -> AIOKafkaConsumer:
        """A started consumer holding a completed assignment (possibly empty).

        A consumer whose first rebalance does not complete within the stall limit is closed
        and replaced, as in `run`. Raises `_Abandoned` when the loop is stopping.
        """
        tuning = self.kafka.tuning(self.settings.environment, self.service)
        while True:
            consumer = AIOKafkaConsumer(
                bootstrap_servers=self.kafka.bootstrap,
                group_id=self.group_id,
                client_id=f"{self.group_id}-consumer",
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                fetch_max_wait_ms=tuning.fetch_max_wait_ms,
                fetch_min_bytes=tuning.fetch_min_bytes,
                max_poll_records=self.kafka.batch_max,
                session_timeout_ms=int(self.kafka.session_timeout_s * 1000),
                heartbeat_interval_ms=max(100, int(self.kafka.session_timeout_s * 1000) // 5),
                rebalance_timeout_ms=int(self.kafka.rebalance_timeout_s * 1000),
            )
            consumer.subscribe(list(self.bindings), listener=_Listener(self))
            self.rebalance.subscribed()
            try:
                # aiokafka's start() returns once the first rebalance has assigned partitions.
                started = await self._until_stopping(
                    consumer.start(), self.rebalance.remaining_s() or 0.0
                )
            except Exception as exc:
                await self._close(consumer)
                failure = classify(exc)
                if not failure.transient:
                    raise
                self._note_failure(Failure("transient", "kafka", failure.error))
                if await sleep_unless(self._stopping, self._backoff.next_delay()):
                    raise _Abandoned("stopping") from exc
                continue
            if started:
                return consumer
            if self._stopping.is_set():
                await self._close(consumer)
                raise _Abandoned("stopping")
            await self._close_stalled(consumer)

    async def _until_stopping(self, step: Awaitable[None], timeout_s: float) -> bool:
        """Run `step` until it is done (True), the loop stops or `timeout_s` passes (False: the
        step was cancelled)."""
        task = asyncio.ensure_future(step)
        stopping = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait(
                {task, stopping}, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            stopping.cancel()
            if not task.done():
                task.cancel()
                await asyncio.wait({task})
        if task.cancelled():
            return False
        task.result()
        return True

    async def _close_stalled(self, consumer: AIOKafkaConsumer) -> None:
        """Close a consumer whose rebalance did not complete in time; the next consumer joins as
        a new member (a new member id)."""
        waited = self.rebalance.waited_s() or 0.0
        self.rebalance.reopened += 1
        metrics.CONSUMER_REOPENS.labels(self.service).inc()
        log.warning(
            "group rebalance not completed in time; reopening the consumer",
            extra=self._fields(
                group=self.group_id,
                waited_s=round(waited, 1),
                limit_s=self.rebalance.limit_s,
                reopened=self.rebalance.reopened,
            ),
        )
        await self._close(consumer)

    async def _close(self, consumer: AIOKafkaConsumer) -> None:
        """Close a consumer once the commit in flight is answered."""
        await self._settle_commit_quietly()
        await close_consumer(consumer, self._leave_group)

    async def run(self) -> None:
        try:
            consumer = self.consumer = await self._open()
        except _Abandoned:
            return
        self._cleared()
        try:
            while not self._stopping.is_set():
                if self.rebalance.overdue():
                    # No assignment since the last revocation, so no partition and no batch is
                    # held: the revocation gave up whatever was uncommitted, and this consumer
                    # can commit nothing more. A new member starts from the committed offsets.
                    await self._close_stalled(consumer)
                    try:
                        consumer = self.consumer = await self._open()
                    except _Abandoned:
                        return
                    self._cleared()
                    continue
                max_records = 1 if self._isolate > 0 else self.kafka.batch_max
                fetch_started = time.perf_counter()
                fetched = await self._fetch(consumer, max_records)
                self._phase_seconds["fetch"].inc(time.perf_counter() - fetch_started)
                if fetched and not self._stopping.is_set():
                    await self._process_fetch(consumer, fetched)
        finally:
            # A no-op on a consumer that is already closed.
            await self._close(consumer)
            log.info("consumer closed", extra=self._fields())

    async def _fetch(
        self, consumer: AIOKafkaConsumer, max_records: int
    ) -> dict[TopicPartition, list[ConsumerRecord]]:
        """The next fetch; nothing when a rebalance goes over the stall limit or the loop stops.

        aiokafka's `getmany` waits for a rebalance in progress to complete before it looks at
        its timeout, so a rebalance that never completes would hold it forever. Giving it up is
        safe: records it has not returned stay in the consumer's buffer.
        """
        fetching = asyncio.ensure_future(
            consumer.getmany(timeout_ms=IDLE_POLL_MS, max_records=max_records)
        )
        while True:
            done, _ = await asyncio.wait({fetching}, timeout=REBALANCE_CHECK_S)
            if done:
                return fetching.result()
            if self.rebalance.overdue() or self._stopping.is_set():
                fetching.cancel()
                await asyncio.wait({fetching})
                # A fetch that completed before the cancellation reached it has moved the
                # consumer's position: its records must be processed, never dropped.
                return {} if fetching.cancelled() else fetching.result()

    # -- rebalance ------------------------------------------------------------------------------

    async def on_revoked(self, revoked: list[TopicPartition]) -> None:
        self.rebalance.revoked()
        self._interrupt.set()
        try:
            # A batch being handled gets to finish and commit (its commit acknowledged); one
            # waiting out a failure was interrupted and gives up without committing.
            await asyncio.wait_for(self._finish_batch(), self.kafka.rebalance_timeout_s * 0.8)
        except TimeoutError:
            log.warning("batch still in flight at rebalance", extra=self._fields())

    async def _finish_batch(self) -> None:
        async with self._in_flight:
            pass
        await self._settle_commit_quietly()

    def on_assigned(self, assigned: list[TopicPartition]) -> None:
        self.rebalance.assigned()
        if not self._stopping.is_set():
            self._interrupt.clear()
        metrics.CONSUMPTION_PAUSED.labels(self.service).set(0)
        log.info(
            "partitions assigned",
            extra=self._fields(partitions=[f"{tp.topic}:{tp.partition}" for tp in assigned]),
        )

    # -- one fetch --------------------------------------------------------------------------

    async def _process_fetch(
        self, consumer: AIOKafkaConsumer, fetched: dict[TopicPartition, list[ConsumerRecord]]
    ) -> None:
        by_topic: dict[str, list[ConsumerRecord]] = {}
        for tp, records in fetched.items():
            if records:
                by_topic.setdefault(tp.topic, []).extend(records)
        pending = {tp: records[0].offset for tp, records in fetched.items() if records}
        for topic, records in by_topic.items():
            if self._interrupt.is_set():
                # Revoked or stopping: leave the rest uncommitted for whoever owns it next.
                break
            done = await self._process_topic(consumer, topic, records, pending)
            for tp in [tp for tp in pending if tp.topic == topic]:
                if done:
                    pending.pop(tp)
            if not done:
                break
        if pending:
            # Nothing after the failure was committed: rewind it all to be fetched again.
            self._rewind(consumer, pending)

    def _rewind(self, consumer: AIOKafkaConsumer, positions: dict[TopicPartition, int]) -> None:
        assigned = consumer.assignment()
        for tp, offset in positions.items():
            if tp in assigned:
                consumer.seek(tp, offset)

    async def _process_topic(
        self,
        consumer: AIOKafkaConsumer,
        topic: str,
        records: list[ConsumerRecord],
        pending: dict[TopicPartition, int],
    ) -> bool:
        """Process and commit one topic's records; False when they must be fetched again."""
        spec, handler = self.bindings[topic]
        started = time.perf_counter()
        try:
            async with self._in_flight:
                await self._attempt(spec, handler, records)
                committing = time.perf_counter()
                await self._commit(consumer, records)
                self._phase_seconds["commit"].inc(time.perf_counter() - committing)
        except Exception as exc:
            return await self._on_failure(consumer, spec, records, exc, pending)
        metrics.STAGE_SECONDS.labels(self.service).observe(time.perf_counter() - started)
        metrics.MESSAGES.labels(self.service, topic, "processed").inc(len(records))
        self._succeeded(records)
        return True

    async def _attempt(
        self, spec: TopicSpec, handler: Handler, records: Sequence[ConsumerRecord]
    ) -> None:
        handling = time.perf_counter()
        sends: list[Send] = []
        items: list[Incoming[Any]] = []
        sources: list[int] = []
        for index, rec in enumerate(records):
            try:
                value = decode(spec.model, rec.value, spec.max_message_bytes)
            except ContractError as exc:
                sends.append(await self._dead_letter(rec, "contract_error", str(exc)))
                continue
            items.append(
                Incoming(
                    value=value,
                    key=rec.key,
                    headers=headers_to_dict(rec.headers),
                    topic=rec.topic,
                    partition=rec.partition,
                    offset=rec.offset,
                )
            )
            sources.append(index)
        if items and not tracing_recording():
            # No span would be recorded: each output carries its message's trace headers as
            # they came (what a non-recording span passes on), without per-message span work.
            self.faults.before_handler()
            results = list(await handler(items))

            def untraced(position: int, index: int, outputs: Sequence[Outgoing]) -> list[Send]:
                carried = carried_headers(items[position].headers)
                return [self.sender.record(out, index, carried) for out in outputs]

            sends += await self._outputs(records, sources, results, untraced)
        elif items:
            self.faults.before_handler()
            spans = ConsumerSpans(items, self.group_id)

            def traced(position: int, index: int, outputs: Sequence[Outgoing]) -> list[Send]:
                with spans.message(position):
                    return [self.sender.record(out, index) for out in outputs]

            try:
                with spans.handling(records[0].topic):
                    results = list(await handler(items))
                sends += await self._outputs(records, sources, results, traced)
            except BaseException as exc:
                spans.end(exc)
                raise
            spans.end()
        sending = time.perf_counter()
        self._phase_seconds["handle"].inc(sending - handling)
        await self.sender.send_all(sends)
        self._phase_seconds["send"].inc(time.perf_counter() - sending)

    async def _outputs(
        self,
        records: Sequence[ConsumerRecord],
        sources: Sequence[int],
        results: Sequence[Result],
        record: Callable[[int, int, Sequence[Outgoing]], list[Send]],
    ) -> list[Send]:
        """The sends of a handled batch: `record(position, record index, outputs)` for each
        message the handler accepted, a dead letter for each it rejected."""
        if len(results) != len(sources):
            raise RuntimeError("handler returned a result count unlike its input")
        sends: list[Send] = []
        for position, (index, result) in enumerate(zip(sources, results, strict=True)):
            if isinstance(result, Rejected):
                sends.append(
                    await self._dead_letter(records[index], result.error_type, result.reason)
                )
            else:
                sends.extend(record(position, index, result))
        return sends

    async def _dead_letter(self, rec: ConsumerRecord, error_type: str, reason: str) -> Send:
        original = Original(
            service=self.service,
            topic=rec.topic,
            partition=rec.partition,
            offset=rec.offset,
            key=rec.key,
            value=rec.value,
            error_type=error_type,
            error=reason,
        )
        letter = await bounded_dead_letter(
            original, max_request_bytes=self.kafka.max_request_bytes, store=self.originals
        )
        log.warning(
            "dead-lettered",
            extra=self._fields(
                topic=rec.topic,
                partition=rec.partition,
                offset=rec.offset,
                error_type=error_type,
                error=letter.error,
                size=letter.value_size,
                truncated=letter.truncated,
            ),
        )
        metrics.DLQ.labels(self.service, error_type).inc()
        metrics.MESSAGES.labels(self.service, rec.topic, "dead_lettered").inc()
        return self.sender.record(Outgoing(DLQ, original.coordinates, letter))

    async def _commit(self, consumer: AIOKafkaConsumer, records: Sequence[ConsumerRecord]) -> None:
        """Send the commit of a batch whose outputs are acknowledged and effects durable.

        Waits for the previous commit first (raising its failure, so that the batch at hand
        goes through the failure policy), then sends this one without waiting for it.
        """
        offsets: dict[TopicPartition, int] = {}
        for rec in records:
            tp = TopicPartition(rec.topic, rec.partition)
            offsets[tp] = max(offsets.get(tp, 0), rec.offset + 1)
        await self._settle_commit()
        self._committing = asyncio.ensure_future(self._send_commit(consumer, offsets))

    async def _send_commit(
        self, consumer: AIOKafkaConsumer, offsets: dict[TopicPartition, int]
    ) -> None:
        """Commit, waiting out failures: no message is at fault when a commit fails, so none
        is retried or dead-lettered; the next batch's commit (and so the loop) waits for this
        one. Gives up only when the partitions are revoked or the loop stops: the batch is then
        replayed by whoever consumes next."""
        backoff = Backoff(self.kafka.retry_base_s, self.kafka.retry_max_s)
        failed = False
        while True:
            try:
                self.faults.before_commit()
                await consumer.commit(offsets)
            except (CommitFailedError, IllegalStateError) as exc:
                # The partitions moved during this batch: the new owner starts from the last
                # committed offset and replays it (harmless: effects are idempotent).
                log.warning("commit refused after a rebalance", extra=self._fields(error=str(exc)))
                return
            except Exception as exc:
                failure = classify(exc)
                failed = True
                self._note_failure(
                    Failure("transient", failure.dependency or "kafka", failure.error)
                )
                log.warning("commit failed; retrying", extra=self._fields(
                    dependency=failure.dependency, error=failure.error))  # fmt: skip
                if await sleep_unless(self._interrupt, backoff.next_delay()):
                    log.info("commit abandoned; its batch will be replayed", extra=self._fields())
                    return
                continue
            if failed:
                self._cleared()
            return

    async def _settle_commit(self) -> None:
        """Wait for the commit in flight, if any; raises its failure."""
        committing, self._committing = self._committing, None
        if committing is not None:
            await committing

    async def _settle_commit_quietly(self) -> None:
        """Wait for the commit in flight before the partitions or the consumer go away; a
        failure only means its batch is replayed by whoever consumes next."""
        try:
            await self._settle_commit()
        except Exception as exc:
            log.warning("commit failed; its batch will be replayed", extra=self._fields(
                error=classify(exc).error))  # fmt: skip

    # -- failures -------------------------------------------------------------------------------

    async def _on_failure(
        self,
        consumer: AIOKafkaConsumer,
        spec: TopicSpec,
        records: list[ConsumerRecord],
        exc: Exception,
        pending: dict[TopicPartition, int],
    ) -> bool:
        failure = classify(exc)
        if failure.dependency == "network":
            # A connection error that does not say to what: name the dependency that is down.
            down = await self.unhealthy()
            if down:
                failure = Failure("transient", down[0], failure.error)
        if failure.kind == "poison" and isinstance(exc, OutputTooLarge) and len(records) == 1:
            return await self._give_up(consumer, records[0], "output_too_large", failure.error)
        if failure.kind == "poison" or failure.kind == "unknown":
            if len(records) > 1:
                self._batch_failures += 1
                if failure.kind == "poison" or self._batch_failures >= self.kafka.poison_attempts:
                    # Find the message at fault: the same messages, one at a time.
                    self._isolate = len(records)
                    self._batch_failures = 0
            else:
                rec = records[0]
                key = (rec.topic, rec.partition, rec.offset)
                self._strikes[key] = self._strikes.get(key, 0) + 1
                if self._strikes[key] >= self.kafka.poison_attempts:
                    down = await self.unhealthy()
                    if not down:
                        return await self._give_up(consumer, rec, "processing_error", failure.error)
                    failure = Failure("transient", down[0], failure.error)
        log.warning(
            "batch failed; rewinding to retry",
            exc_info=failure.kind == "unknown",
            extra=self._fields(
                topic=spec.name, messages=len(records), kind=failure.kind,
                dependency=failure.dependency, error=failure.error,
            ),
        )  # fmt: skip
        metrics.MESSAGES.labels(self.service, records[0].topic, "retried").inc(len(records))
        await self._wait_out(consumer, failure, pending)
        return False

    async def _give_up(
        self, consumer: AIOKafkaConsumer, rec: ConsumerRecord, error_type: str, error: str
    ) -> bool:
        """Dead-letter one message that can never succeed, then commit past it."""
        try:
            async with self._in_flight:
                await self.sender.send_all([await self._dead_letter(rec, error_type, error)])
                await self._commit(consumer, [rec])
                await self._settle_commit()
        except Exception as exc:
            failure = classify(exc)
            log.warning("dead-lettering failed; retrying", extra=self._fields(error=failure.error))
            pending = {TopicPartition(rec.topic, rec.partition): rec.offset}
            await self._wait_out(
                consumer, Failure("transient", failure.dependency, failure.error), pending
            )
            return False
        self._succeeded([rec])
        return True

    def _note_failure(self, failure: Failure) -> None:
        status = self.status
        if status.since is None:
            status.since = time.monotonic()
        status.waiting_on = failure.dependency or "processing"
        status.error = failure.error
        status.consecutive_failures += 1
        reason = failure.dependency or ("output_too_large" if failure.kind == "poison" else "error")
        metrics.DELIVERY_RETRIES.labels(self.service, reason).inc()

    async def _wait_out(
        self,
        consumer: AIOKafkaConsumer,
        failure: Failure,
        pending: dict[TopicPartition, int],
    ) -> None:
        """Pause and rewind the partitions of what was not committed, back off, resume."""
        self._note_failure(failure)
        assigned = consumer.assignment()
        paused = [tp for tp in pending if tp in assigned]
        consumer.pause(*paused)
        self._rewind(consumer, pending)
        pending.clear()
        metrics.CONSUMPTION_PAUSED.labels(self.service).set(1)
        # A poison batch is split at once; anything else waits, longer each time.
        delay = 0.0 if failure.kind == "poison" else self._backoff.next_delay()
        interrupted = await sleep_unless(self._interrupt, delay)
        if interrupted:
            log.info("batch waiting out a failure abandoned", extra=self._fields())
        still = consumer.assignment()
        consumer.resume(*[tp for tp in paused if tp in still])
        metrics.CONSUMPTION_PAUSED.labels(self.service).set(0)

    def _succeeded(self, records: Sequence[ConsumerRecord]) -> None:
        for rec in records:
            self._strikes.pop((rec.topic, rec.partition, rec.offset), None)
        if self._isolate > 0:
            self._isolate = max(0, self._isolate - len(records))
        else:
            self._batch_failures = 0
        self._cleared()

    def _cleared(self) -> None:
        if self.status.waiting_on is not None:
            log.info(
                "consuming again",
                extra=self._fields(
                    after_s=round(time.monotonic() - (self.status.since or time.monotonic()), 1)
                ),
            )
        self.status = LoopStatus(rebalance=self.rebalance)
        self._backoff.reset()
