"""Plugin route times: a histogram in plain ints that Prometheus reads as ``le`` buckets."""

from __future__ import annotations

import math

from kafka_pipeline._observability.timing import Timings


def test_a_time_counts_in_the_first_bucket_whose_bound_it_does_not_exceed() -> None:
    timings = Timings(bounds=(0.001, 0.01, 0.1))

    timings.observe(0.001)
    timings.observe(0.002)
    timings.observe(0.5)

    assert timings.counts == [1, 1, 0, 1]


def test_the_snapshot_is_cumulative_and_ends_with_every_observation_and_their_sum() -> None:
    timings = Timings(bounds=(0.001, 0.01, 0.1))
    for seconds in (0.0005, 0.005, 0.005, 2.0):
        timings.observe(seconds)

    buckets, total = timings.snapshot()

    assert buckets == [(0.001, 1), (0.01, 3), (0.1, 3), (math.inf, 4)]
    assert math.isclose(total, 2.0105)
