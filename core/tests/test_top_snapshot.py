"""``top``'s numbers: counters summed over workers, rates between two scrapes, who holds what."""

from __future__ import annotations

from kafka_pipeline._top.scrape import Labels, Scrape, ScrapeError
from kafka_pipeline._top.snapshot import Count, LagRow, snapshot
from kafka_pipeline._top.text import render_text
from kafka_pipeline._top.trend import Trends, sparkline

A, B = "http://10.0.0.1:9108/metrics", "http://10.0.0.2:9108/metrics"


def scrape(url: str, at: float, **values: float) -> Scrape:
    """A scrape from ``name__label=value`` keywords, e.g. ``plugin_matched_total__plugin_red=3``."""
    samples: dict[tuple[str, Labels], float] = {}
    for key, value in values.items():
        name, _, labels = key.partition("__")
        pairs = [p.split("_", 1) for p in labels.split("__") if p]
        samples[(f"kafka_pipeline_{name}", tuple(sorted((label, v) for label, v in pairs)))] = value
    return Scrape(url, at, samples)


def test_a_rate_is_the_increase_between_two_scrapes_per_second() -> None:
    before = scrape(A, 10.0, plugin_matched_total__plugin_red=10)
    after = scrape(A, 12.0, plugin_matched_total__plugin_red=30)

    (red,) = snapshot({A: after}, {A: before}).plugins

    assert red.matched == Count("red", 30, 10.0)


def test_a_counter_that_went_down_counts_from_zero_after_a_restart() -> None:
    before = scrape(A, 10.0, dlq_total__reason_schema=100)
    after = scrape(A, 12.0, dlq_total__reason_schema=6)

    assert snapshot({A: after}, {A: before}).dlq == (Count("schema", 6, 3.0),)


def test_without_a_previous_scrape_rates_are_not_available() -> None:
    view = snapshot({A: scrape(A, 1.0, delta_rows_total__table_t=5)}, {})

    assert (view.delta, view.window) == ((Count("t", 5, None),), None)


def test_several_workers_are_summed_and_their_rates_added() -> None:
    previous = {
        A: scrape(A, 0.0, delta_rows_total__table_t=0),
        B: scrape(B, 0.0, delta_rows_total__table_t=0),
    }
    current = {
        A: scrape(A, 2.0, delta_rows_total__table_t=10),
        B: scrape(B, 2.0, delta_rows_total__table_t=30),
    }

    assert snapshot(current, previous).delta == (Count("t", 40, 20.0),)


def test_lag_and_open_breakers_name_the_worker_that_holds_them() -> None:
    current = {
        A: scrape(
            A,
            1.0,
            consumer_lag__topic_src__partition_0=5,
            circuit_open__plugin_red=1,
            plugin_errors_total__plugin_red=2,
        ),
        B: scrape(
            B,
            1.0,
            consumer_lag__topic_src__partition_1=7,
            circuit_open__plugin_red=0,
            plugin_errors_total__plugin_red=0,
        ),
    }

    view = snapshot(current, {})

    assert view.lag == (LagRow("src", 0, "10.0.0.1:9108", 5), LagRow("src", 1, "10.0.0.2:9108", 7))
    assert view.plugins[0].open_on == ("10.0.0.1:9108",)


def test_an_unreachable_worker_is_listed_with_its_reason_and_left_out_of_the_sums() -> None:
    current: dict[str, Scrape | ScrapeError] = {
        A: scrape(A, 1.0, dlq_total__reason_schema=4),
        B: ScrapeError(B, "connection refused"),
    }

    view = snapshot(current, {})

    assert [(w.worker, w.error) for w in view.workers] == [
        ("10.0.0.1:9108", None),
        ("10.0.0.2:9108", "connection refused"),
    ]
    assert view.dlq == (Count("schema", 4, None),)


def test_the_plain_snapshot_marks_rates_not_available_after_one_scrape() -> None:
    text = render_text(snapshot({A: scrape(A, 1.0, plugin_routed_total__plugin_red=1234, ready=1)}, {}))

    assert "rates n/a (one scrape)" in text
    assert "  red     0        n/a        1,234  n/a     0       n/a       closed" in text


def test_a_sparkline_scales_to_its_peak_and_keeps_zero_apart_from_a_trickle() -> None:
    assert (sparkline([0, 1, 2]), sparkline([0, 0]), sparkline([0, 0.01, 100])) == ("▁▅█", "▁▁", "▁▂█")


def test_trends_keep_the_last_values_of_each_rate() -> None:
    trends = Trends(width=3)
    for rate in [0.0, 10.0, 30.0, 60.0, 100.0]:
        trends.add(("delta", "t"), rate)

    assert trends.line("delta", "t") == "▄▆█"
