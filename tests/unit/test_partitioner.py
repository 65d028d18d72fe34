"""The producer's partitioner gives every key the partition aiokafka's (and Kafka's) gives it."""

from __future__ import annotations

import random

from aiokafka.partitioner import DefaultPartitioner
from aiokafka.partitioner import murmur2 as aiokafka_murmur2

from catalog.kafka.failures import FaultInjector
from catalog.kafka.loop import Sender
from catalog.kafka.partitioner import Murmur2Partitioner, murmur2
from catalog.settings import Settings


def _keys() -> list[bytes]:
    rng = random.Random(20261201)
    keys = [rng.randbytes(n) for n in range(0, 70) for _ in range(40)]
    keys += [bytes([255]) * n for n in range(12)] + [bytes([128 + n]) * n for n in range(12)]
    keys += [f"falabella:SKU-{i}".encode() for i in range(1_000)]
    keys += [f"{rng.getrandbits(128):032x}".encode() for _ in range(1_000)]
    keys += ["lápiz ñandú 漢字 emoji 🎧".encode()]
    return keys


def test_murmur2_is_kafkas_hash() -> None:
    keys = _keys()
    assert [murmur2.__wrapped__(k) for k in keys] == [aiokafka_murmur2(k) for k in keys]
    assert [murmur2(k) for k in keys] == [aiokafka_murmur2(k) for k in keys]  # remembered
    # Known values of the Java client's murmur2 (Kafka's `UtilsTest.testMurmur2`).
    assert murmur2(b"21") & 0xFFFFFFFF == -973932308 & 0xFFFFFFFF
    assert murmur2(b"foobar") & 0xFFFFFFFF == -790332482 & 0xFFFFFFFF
    assert murmur2(b"") & 0xFFFFFFFF == 275646681


def test_every_key_keeps_its_partition() -> None:
    ours, theirs = Murmur2Partitioner(), DefaultPartitioner()
    for count in (1, 2, 3, 4, 6, 12, 31):
        partitions = list(range(count))
        for key in _keys():
            assert ours(key, partitions, partitions) == theirs(key, partitions, partitions)
    # A record without a key goes to an available partition.
    assert all(ours(None, [0, 1, 2, 3], [2]) == 2 for _ in range(20))


def test_the_sender_partitions_with_it() -> None:
    settings = Settings(environment="test")
    sender = Sender(settings, FaultInjector(settings.faults, "test"), "test")
    assert isinstance(sender._partitioner, Murmur2Partitioner)
