"""commit_offsets: a commit the broker never answers is retried, then stops the worker; it never hangs.

aiokafka's ``commit`` waits for ever while the group coordinator is
unreachable (it retries the coordinator lookup without end). The stand-in
consumer below does the same, for a chosen number of attempts.
"""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import TopicPartition

from kafka_pipeline._broker.offsets import commit_offsets
from kafka_pipeline._errors import OffsetCommitError


class UnreachableCoordinator:
    """Stands in for ``AIOKafkaConsumer``: its first ``silent_attempts`` commits never return."""

    def __init__(self, silent_attempts: int) -> None:
        self.silent_attempts = silent_attempts
        self.committed: list[dict[TopicPartition, int]] = []

    def assignment(self) -> set[TopicPartition]:
        return {TopicPartition("parcels", 0)}

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        if self.silent_attempts:
            self.silent_attempts -= 1
            await asyncio.Event().wait()
        self.committed.append(offsets)


async def commit(consumer: UnreachableCoordinator) -> None:
    await commit_offsets(
        consumer,
        {("parcels", 0): 42},
        group_id="parcels-group",
        retries=2,
        backoff_seconds=0,
        timeout_seconds=0.01,
    )


async def test_an_offset_commit_never_answered_stops_the_worker_naming_the_group_and_the_wait() -> None:
    with pytest.raises(OffsetCommitError) as caught:
        await commit(UnreachableCoordinator(silent_attempts=3))

    assert str(caught.value).startswith(
        "could not commit offsets for group 'parcels-group' after 3 attempts: "
        "no answer from the group coordinator within 0.01s. Routed records and Delta rows are durable"
    )


async def test_an_offset_commit_not_answered_in_time_is_sent_again() -> None:
    consumer = UnreachableCoordinator(silent_attempts=2)

    await commit(consumer)

    assert consumer.committed == [{TopicPartition("parcels", 0): 42}]
