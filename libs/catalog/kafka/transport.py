"""A faust transport whose consumer uses a configurable fetch wait.

faust's aiokafka driver hard-codes `fetch_max_wait_ms=1500`. Kafka answers a fetch as soon as
data is there, but the embedded Tansu broker holds every fetch for the full wait, which would
cost ~0.5 s per hop. This transport is registered as the `tunedkafka://` scheme.
"""

from __future__ import annotations

from typing import Any

from faust.transport.drivers import TRANSPORTS
from faust.transport.drivers import aiokafka as driver

FETCH_MAX_WAIT_MS = 20


class _ConsumerThread(driver.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS
        return consumer


class _Consumer(driver.Consumer):
    def _new_consumer_thread(self) -> driver.AIOKafkaConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class Transport(driver.Transport):
    Consumer = _Consumer


def register(fetch_max_wait_ms: int) -> str:
    """Register the scheme and set the wait; returns the URL scheme to use."""
    global FETCH_MAX_WAIT_MS
    FETCH_MAX_WAIT_MS = fetch_max_wait_ms
    TRANSPORTS.aliases["tunedkafka"] = f"{__name__}:Transport"
    return "tunedkafka"
