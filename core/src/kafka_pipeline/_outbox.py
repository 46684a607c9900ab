"""The outbox: routed and DLQ records on their way out, kept in order until they are handed over.

``send_to_topic`` lands in :meth:`Outbox.send`, which only encodes the
record and appends it to ``pending``: nothing waits for a broker. The
plugin engine marks ``len(pending)`` before each plugin attempt and cuts
back to the mark when the attempt fails, so a failed attempt sends nothing
and a retried one never sends twice. The worker's Kafka outbox hands
``pending`` to the producer after each poll batch; a dry run or a test
takes the records instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from kafka_pipeline._envelope import Headers, encode_routed


class OutgoingRecord(NamedTuple):
    """A record on its way out: routed by ``plugin``, or a DLQ record when ``plugin`` is None."""

    topic: str
    key: bytes | None
    value: bytes | None
    headers: Headers
    plugin: str | None


class Outbox:
    """Keeps the records that plugins send and the DLQ records of the engine, in order.

    Implements :class:`~kafka_pipeline._plugin.RouteSender`. This base class
    checks no topic and sends nothing: it is the whole outbox of a dry run
    (``kafka-pipeline route``, the test kit) and the buffer of the worker's
    :class:`~kafka_pipeline._broker.outbox.KafkaOutbox`.
    """

    def __init__(self) -> None:
        #: Records not yet handed over, in the order they were sent.
        self.pending: list[OutgoingRecord] = []

    def send(
        self,
        plugin: str,
        topic: str,
        payload: object,
        key: str | bytes | None,
        headers: Mapping[str, str | bytes] | None,
    ) -> None:
        key_bytes, value, record_headers = encode_routed(plugin, topic, payload, key, headers)
        self.pending.append(OutgoingRecord(topic, key_bytes, value, record_headers, plugin))

    def dead_letter(self, topic: str, key: bytes | None, value: bytes | None, headers: Headers) -> None:
        self.pending.append(OutgoingRecord(topic, key, value, headers, None))

    def rollback(self, mark: int) -> None:
        """Drop what was sent since ``len(pending)`` was ``mark``: that attempt failed."""
        del self.pending[mark:]

    @property
    def has_unchecked_topics(self) -> bool:
        """Whether the attempt in progress sent to a topic that :meth:`check_new_topics` must check."""
        return False

    async def check_new_topics(self) -> None:
        """Make sure every topic first sent to in this attempt exists; raises when one does not."""

    def take(self) -> list[OutgoingRecord]:
        """Every pending record, removed from the outbox."""
        taken, self.pending = self.pending, []
        return taken
