"""The fast partitioner keeps Kafka's key -> partition contract exactly."""

from __future__ import annotations

import random

import pytest
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.partitioner import murmur2 as aiokafka_murmur2

from kafka_pipeline._broker.partitioner import KeyPartitioner, murmur2


def _keys(count: int) -> list[bytes]:
    rng = random.Random(20240611)
    # Every tail length, empty keys, bytes >= 0x80 (where signed Java bytes differ).
    return [rng.randbytes(rng.randrange(0, 70)) for _ in range(count)]


def test_murmur2_equals_aiokafkas_on_many_keys() -> None:
    keys = _keys(20_000)

    mismatches = [k for k in keys if murmur2(k) != aiokafka_murmur2(k)]

    assert mismatches == []


@pytest.mark.parametrize(
    ("key", "partition"),
    # Partitions the Java client picks among 1000, as published by kafka-python.
    [(b"", 681), (b"a", 524), (b"ab", 434), (b"abc", 107), (b"123456789", 566), (b"\x00 ", 742)],
)
def test_partition_matches_the_java_client(key: bytes, partition: int) -> None:
    partitions = list(range(1000))

    assert KeyPartitioner()(key, partitions, partitions) == partition


@pytest.mark.parametrize("count", [1, 3, 6, 7, 32])
def test_every_key_lands_where_the_default_partitioner_puts_it(count: int) -> None:
    partitions = list(range(count))
    available = partitions[::2]
    ours, default = KeyPartitioner(), DefaultPartitioner()

    differing = [
        k for k in _keys(5_000) if ours(k, partitions, available) != default(k, partitions, available)
    ]

    assert differing == []


def test_a_repeated_key_keeps_its_partition_after_the_cache_is_recycled() -> None:
    partitioner = KeyPartitioner()
    partitions = list(range(12))
    first = partitioner(b"trace-1", partitions, partitions)
    for i in range(KeyPartitioner.CACHE_SIZE * 3):
        partitioner(f"other-{i}".encode(), partitions, partitions)

    assert partitioner(b"trace-1", partitions, partitions) == first


def test_a_keyless_record_goes_to_an_available_partition() -> None:
    chosen = {KeyPartitioner()(None, [0, 1, 2, 3], [1, 3]) for _ in range(200)}

    assert chosen == {1, 3}
