"""``Timings``: how long things take, as a histogram kept in plain ints.

The worker keeps three: plugins' ``route`` calls, flushes and event-loop
stalls, each with bounds for its range. A plugin's ``route`` usually just
enqueues a record and takes microseconds,
so timing every call, let alone updating a ``prometheus_client.Histogram``
(a lock and a float per call), would cost more than the routing. Instead the
worker times one matched message in every ``sample_every`` per plugin
(the first match always), puts the seconds in a bucket of a list of ints,
and the Prometheus collector turns the counts into a histogram when it is
scraped. The distribution of a uniform sample is the distribution of the
whole; its ``_count`` is the number of timed calls, not of all calls
(``kafka_pipeline_plugin_matched_total`` counts those).
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Final

#: Upper bounds (seconds, inclusive) of the buckets: from a plain enqueue (tens of
#: microseconds) to a plugin that waits on I/O up to the default 5 s timeout and beyond.
ROUTE_SECONDS_BUCKETS: Final = (
    0.00001,
    0.000025,
    0.00005,
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
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
)

#: One matched message in this many is timed, per plugin.
DEFAULT_SAMPLE_EVERY: Final = 16


#: A flush waits for every acknowledgement of its batch, appends to Delta and commits offsets:
#: milliseconds against a local disk, seconds against an object store, minutes when retries kick in.
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

#: Upper bounds (seconds) of ``kafka_pipeline_loop_stall_seconds``: a stall is reported from a second on.
STALL_SECONDS_BUCKETS: Final = (1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)


class Timings:
    """Bucket counts, their sum and their number, written by the worker's loop only.

    :meth:`snapshot` may run on another thread (the metrics endpoint): it
    copies the list in one step, so it sees a consistent set of buckets,
    at worst one observation behind ``sum``.
    """

    __slots__ = ("bounds", "counts", "sum")

    def __init__(self, bounds: tuple[float, ...] = ROUTE_SECONDS_BUCKETS) -> None:
        self.bounds = bounds
        #: ``counts[i]``: observations in ``(bounds[i-1], bounds[i]]``; the last one is above every bound.
        self.counts = [0] * (len(bounds) + 1)
        self.sum = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect_left(self.bounds, seconds)] += 1
        self.sum += seconds

    @property
    def count(self) -> int:
        return sum(self.counts)

    def snapshot(self) -> tuple[list[tuple[float, int]], float]:
        """Cumulative ``(upper bound, count)`` pairs ending with ``(inf, total)``, and the sum."""
        counts, total = list(self.counts), self.sum
        cumulative: list[tuple[float, int]] = []
        running = 0
        for bound, count in zip((*self.bounds, float("inf")), counts, strict=True):
            running += count
            cumulative.append((bound, running))
        return cumulative, total
