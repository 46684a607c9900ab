"""``Sink``: where the standard processing stores what the worker consumed.

The consumer loop hands each valid message that its domain stores (a table
for its status) to every sink, and asks them to flush before offsets are
committed; it knows nothing of what is behind them.
A sink must make a flush durable before it returns, and must skip on its
own what an earlier run already stored (after a crash the loop hands over
again everything since the last committed offset).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from kafka_pipeline._envelope import SourceRecord


@dataclass(frozen=True, slots=True)
class FlushResult:
    """What one flush stored: rows per destination, and rows skipped as already stored."""

    rows: Mapping[str, int]
    duplicates: Mapping[str, int]


class Sink(Protocol):
    """The interface between the consumer loop and one kind of storage."""

    async def prepare(self) -> None:
        """Before anything is consumed: raise if the storage cannot take what the worker will add."""
        ...

    def add(self, table: str, source: SourceRecord, routed_to: Sequence[str], ingested_at_us: int) -> None:
        """Keep ``source.message`` for ``table`` (the domain's table for its status) until the next flush.

        Called once per stored message, on the event loop: keep it cheap.
        ``routed_to``: the topics the plugins sent it to; ``ingested_at_us``:
        when its batch was consumed (microseconds since the epoch).
        """
        ...

    @property
    def pending_rows(self) -> int:
        """Messages kept since the last flush."""
        ...

    @property
    def pending_bytes(self) -> int:
        """Roughly the memory they hold."""
        ...

    async def flush(self) -> FlushResult:
        """Store every kept message durably; raise when that is impossible (nothing is committed then)."""
        ...

    async def on_assigned(self, partitions: Collection[int]) -> None:
        """These source partitions are this worker's now: read what is stored of them."""
        ...

    def on_revoked(self, partitions: Collection[int]) -> None:
        """These source partitions went elsewhere: forget what is known of them."""
        ...
