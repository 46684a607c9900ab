"""``FlushTimings``: how long flushes take, as a histogram kept in plain ints.

A flush waits for every acknowledgement of its batch, appends to Delta and
commits offsets: milliseconds against a local disk, seconds against an object
store, minutes when delivery retries kick in. The worker observes each one
(once per flush, never per message) into the same kind of int buckets as
:class:`~kafka_pipeline._observability.timing.RouteTimings`, with bounds for that
range, and the Prometheus collector reads them at scrape time.
"""

from __future__ import annotations

from typing import Final

from kafka_pipeline._observability.timing import RouteTimings

#: Upper bounds (seconds, inclusive) of the buckets: a local Delta commit to retries past a minute.
FLUSH_SECONDS_BUCKETS: Final = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    120.0,
)


class FlushTimings(RouteTimings):
    """Bucket counts of flush durations; written by the worker's loop, read by the collector."""

    __slots__ = ()

    def __init__(self, bounds: tuple[float, ...] = FLUSH_SECONDS_BUCKETS) -> None:
        super().__init__(bounds)
