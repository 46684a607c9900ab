"""KafkaOutbox.drain: records the broker did not acknowledge are sent again with backoff, then given up on.

The broker is a stand-in for aiokafka's producer that fails every batch
while it is "down", as aiokafka does once a batch's request timeout passes
without a connection. The backoff sleeps are recorded, not slept, and the
outage ends after a chosen number of them.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any, cast

import pytest
from aiokafka.errors import KafkaTimeoutError

from kafka_pipeline._broker.outbox import KafkaOutbox
from kafka_pipeline._broker.topics import TopicAdmin
from kafka_pipeline._errors import DeliveryError
from kafka_pipeline._observability.stats import WorkerStats


class _Batch:
    def __init__(self) -> None:
        self.keys: list[bytes | None] = []

    def append(self, *, timestamp: int | None, key: bytes | None, value: bytes, headers: Any) -> object:
        self.keys.append(key)
        return object()  # aiokafka returns the record's metadata; None would mean "batch full"


class OutageBroker:
    """Stands in for ``AIOKafkaProducer``: fails every batch while :attr:`down`, else acknowledges it."""

    def __init__(self, *, heals_after_sleeps: int | None) -> None:
        self.down = True
        self.heals_after_sleeps = heals_after_sleeps
        self.sleeps: list[float] = []
        #: Keys of the records acknowledged, in order.
        self.acknowledged: list[bytes | None] = []

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if len(self.sleeps) == self.heals_after_sleeps:
            self.down = False

    async def partitions_for(self, topic: str) -> set[int]:
        return {0, 1, 2}

    def create_batch(self) -> _Batch:
        return _Batch()

    async def send_batch(self, batch: _Batch, topic: str, *, partition: int) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        # Answered later, as aiokafka answers once the broker did (or the timeout passed).
        if self.down:
            asyncio.get_running_loop().call_soon(future.set_exception, KafkaTimeoutError())
        else:
            self.acknowledged += batch.keys
            asyncio.get_running_loop().call_soon(future.set_result, None)
        return future


class _EveryTopicExists:
    async def require_routed(self, topic: str, plugin: str) -> None:
        return None


KEYS = [f"k-{i}".encode() for i in range(20)]


def routed_producer(broker: OutageBroker, retries: int) -> KafkaOutbox:
    producer = KafkaOutbox(
        broker,
        cast("TopicAdmin", _EveryTopicExists()),
        WorkerStats(),
        retries=retries,
        backoff_seconds=0.5,
        sleep=broker.sleep,
    )
    for key in KEYS:
        producer.send("express-router", "parcels.express", {"key": key.decode()}, key, None)
    return producer


async def test_records_not_acknowledged_are_sent_again_until_the_broker_takes_them() -> None:
    broker = OutageBroker(heals_after_sleeps=3)
    producer = routed_producer(broker, retries=5)

    delivered = await producer.drain()

    assert (delivered, Counter(broker.acknowledged)) == (len(KEYS), Counter(KEYS))


async def test_each_retry_waits_twice_as_long_as_the_one_before() -> None:
    broker = OutageBroker(heals_after_sleeps=3)

    await routed_producer(broker, retries=5).drain()

    assert broker.sleeps == [0.5, 1.0, 2.0]


async def test_delivery_gives_up_after_the_last_retry_and_says_nothing_was_committed() -> None:
    broker = OutageBroker(heals_after_sleeps=None)
    producer = routed_producer(broker, retries=2)

    with pytest.raises(DeliveryError) as caught:
        await producer.drain()

    assert str(caught.value).startswith(
        f"{len(KEYS)} records for parcels.express were not acknowledged after 3 attempts "
        "(last error: KafkaTimeoutError()). No offsets were committed"
    )


async def test_delivery_gives_up_at_once_after_the_last_attempt() -> None:
    broker = OutageBroker(heals_after_sleeps=None)

    with pytest.raises(DeliveryError):
        await routed_producer(broker, retries=2).drain()

    assert broker.sleeps == [0.5, 1.0]


class SilentBroker(OutageBroker):
    """An idempotent aiokafka producer during an outage: it never answers a batch, not even with an error."""

    async def send_batch(self, batch: _Batch, topic: str, *, partition: int) -> asyncio.Future[None]:
        return asyncio.get_running_loop().create_future()


async def test_a_broker_that_never_answers_is_given_up_on_instead_of_waited_for_forever() -> None:
    broker = SilentBroker(heals_after_sleeps=None)
    producer = KafkaOutbox(
        broker,
        cast("TopicAdmin", _EveryTopicExists()),
        WorkerStats(),
        retries=1,
        backoff_seconds=0.5,
        ack_timeout=0.05,
        sleep=broker.sleep,
    )
    producer.send("express-router", "parcels.express", {"key": "k"}, b"k", None)

    with pytest.raises(DeliveryError, match=r"not acknowledged within 0\.05s"):
        await asyncio.wait_for(producer.drain(), timeout=5)
