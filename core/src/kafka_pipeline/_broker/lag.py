"""Consumer lag: how far each assigned partition's position is behind its high watermark.

Refreshed once per poll from what the consumer already knows: the high
watermark that came with the last fetch response (``consumer.highwater``, no
request of its own) and the position after the records just processed. So
the figure is as fresh as the last fetch of that partition. It is not read
from ``ListOffsets`` (``end_offsets()``), which costs a request and which
some brokers (the embedded Tansu) answer with a batch's base offset instead
of the end.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any, Final

from aiokafka.errors import IllegalStateError

from kafka_pipeline._observability.stats import WorkerStats

#: Longest wait for a partition's position; past it the partition's lag is left out this time.
POSITION_WAIT_SECONDS: Final = 0.5


class LagTracker:
    """Keeps ``stats.consumer_lag`` for the consumer's current assignment."""

    def __init__(self, stats: WorkerStats) -> None:
        self._stats = stats
        #: Next offset to process per partition, as this worker last saw it.
        self._positions: dict[Any, int] = {}

    async def update(self, consumer: Any, records: Mapping[Any, Sequence[Any]] | None = None) -> None:
        """Note the positions after ``records`` (processed), then recompute every assigned partition's lag.

        ``consumer.position`` is only asked for a partition that has a high
        watermark, i.e. was fetched, so it usually has a valid position and
        answers without a round trip. During a rebalance it may have none and
        wait for the group: the lag is a metric, so that partition is left out
        this time instead of holding up the loop.
        """
        positions = self._positions
        if records:
            for tp, partition_records in records.items():
                if partition_records:
                    positions[tp] = partition_records[-1].offset + 1
        lag: dict[tuple[str, int], int] = {}
        assigned = consumer.assignment()
        for tp in assigned:
            highwater = consumer.highwater(tp)
            if highwater is None:
                continue
            position = positions.get(tp)
            if position is None:
                try:
                    asked: int = await asyncio.wait_for(consumer.position(tp), POSITION_WAIT_SECONDS)
                except (TimeoutError, IllegalStateError):
                    continue
                position = positions[tp] = asked
            lag[(tp.topic, tp.partition)] = max(0, highwater - position)
        for tp in [tp for tp in positions if tp not in assigned]:
            del positions[tp]
        # One assignment: the metrics thread sees the old dict or the new one, never half of either.
        self._stats.consumer_lag = lag

    def forget(self) -> None:
        """Drop what is known of positions: after a rebalance the consumer may resume elsewhere."""
        self._positions.clear()
