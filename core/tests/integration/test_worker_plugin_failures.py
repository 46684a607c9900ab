"""A plugin that raises or hangs fails alone: retried, parked in the DLQ, cut off by its breaker.

The breakers run on a clock the test moves, so when a breaker half-opens is
decided by the test, not by how fast the machine is.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass

import pyarrow as pa
import pytest

from integration.kit import (
    Names,
    Record,
    config_data,
    create_topics,
    encode,
    make_names,
    parcel,
    produce,
    read_table,
    read_topic,
)
from integration.ops import Progress
from kafka_pipeline import parse_config
from kafka_pipeline._observability.stats import WorkerStats
from kafka_pipeline._worker.runner import Worker

pytestmark = pytest.mark.integration

COOLDOWN = 60.0


class Clock:
    """A monotonic clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def batch(prefix: str, count: int, start: int = 1, tag: str | None = None) -> list[tuple[bytes, bytes]]:
    ids = [f"{prefix}{i}" for i in range(start, start + count)]
    return [(t.encode(), encode(parcel(t, carrier="express", tags=[tag] if tag else []))) for t in ids]


# Before the cooldown: fussy fails twice (its breaker opens), sleepy hangs twice, picky's decision raises.
PHASE_1 = (
    batch("f", 6, tag="fussy") + batch("s", 4, tag="sleepy") + batch("p", 3, tag="picky") + batch("ok", 5)
)
# After it: fussy has recovered (its trial succeeds); sleepy still hangs (its trial fails).
PHASE_2 = batch("f", 4, start=7, tag="fussy") + batch("s", 2, start=5, tag="sleepy")
SENT = {key.decode(): value for key, value in PHASE_1 + PHASE_2}


@dataclass
class Run:
    names: Names
    dlq: list[Record]
    express: list[Record]
    fussy: list[Record]
    sleepy: list[Record]
    parcels: pa.Table
    stats: WorkerStats

    def parked(self, plugin: str) -> dict[str, str]:
        """Trace id -> DLQ reason, for the records parked for ``plugin``."""
        return {
            r.key.decode(): r.headers["x-dlq-reason"]
            for r in self.dlq
            if r.key and r.headers.get("x-dlq-plugin") == plugin
        }


async def scenario(bootstrap: str, names: Names) -> Run:
    await create_topics(bootstrap, names.source, names.dlq, partitions=1)
    await create_topics(bootstrap, names.topic("express"), names.topic("fussy"))
    config = parse_config(
        config_data(
            bootstrap,
            names,
            {
                "express-router": {"config": {"topic": names.topic("express")}},
                "fussy": {
                    "config": {"topic": names.topic("fussy"), "fail_first": 2},
                    "max_retries": 0,
                    "breaker_failure_threshold": 2,
                },
                "sleepy": {
                    "config": {"topic": names.topic("sleepy")},
                    "timeout_seconds": 0.2,
                    "max_retries": 1,
                    "breaker_failure_threshold": 2,
                },
                "picky": {"breaker_failure_threshold": 100},
            },
            resilience={"retry_backoff_seconds": 0.01, "breaker_reset_seconds": COOLDOWN},
        )
    )
    clock = Clock()
    worker = Worker.from_config(config, "parcels", breaker_clock=clock)
    progress = Progress(worker)
    running = asyncio.create_task(worker.run())

    await produce(bootstrap, names.source, PHASE_1)
    await progress.consumed(len(PHASE_1))
    clock.now += COOLDOWN
    await produce(bootstrap, names.source, PHASE_2)
    await progress.consumed(len(PHASE_1) + len(PHASE_2))
    worker.request_stop()
    await asyncio.wait_for(running, 60)

    return Run(
        names=names,
        dlq=await read_topic(bootstrap, names.dlq),
        express=await read_topic(bootstrap, names.topic("express")),
        fussy=await read_topic(bootstrap, names.topic("fussy")),
        sleepy=await read_topic(bootstrap, names.topic("sleepy")),
        parcels=read_table(names.table("parcels")),
        stats=worker.stats,
    )


@pytest.fixture(scope="module")
def run(bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Run:
    return asyncio.run(
        scenario(bootstrap, make_names(tmp_path_factory.mktemp("failures"), "plugin-failures"))
    )


def test_failing_plugins_leave_the_other_plugins_alone(run: Run) -> None:
    assert sorted(r.key.decode() for r in run.express if r.key) == sorted(SENT)


def test_failing_plugins_leave_the_delta_rows_alone(run: Run) -> None:
    assert sorted(run.parcels["trace_id"].to_pylist()) == sorted(SENT)


def test_a_raising_plugin_is_parked_with_plugin_error_after_its_retries(run: Run) -> None:
    assert {t: r for t, r in run.parked("fussy").items() if r == "plugin_error"} == {
        "f1": "plugin_error",
        "f2": "plugin_error",
    }


def test_a_parked_record_holds_the_original_bytes_for_a_replay_to_that_plugin(run: Run) -> None:
    for record in run.dlq:
        assert record.key is not None
        assert record.value == SENT[record.key.decode()]


def test_the_dlq_error_says_which_stage_failed_and_how(run: Run) -> None:
    errors = {
        (r.headers["x-dlq-plugin"], r.key.decode()): r.headers["x-dlq-error"]
        for r in run.dlq
        if r.key and r.headers["x-dlq-reason"] == "plugin_error"
    }

    assert errors[("fussy", "f1")] == "route: RuntimeError: fussy refuses call 1"
    assert errors[("sleepy", "s1")] == "route: timed out after 0.2s"
    assert errors[("picky", "p1")] == "should_route: ValueError: picky cannot make up its mind"


def test_a_hanging_plugin_times_out_into_the_dlq(run: Run) -> None:
    assert run.parked("sleepy") == {
        "s1": "plugin_error",
        "s2": "plugin_error",
        "s3": "circuit_open",
        "s4": "circuit_open",
        "s5": "plugin_error",
        "s6": "circuit_open",
    }


def test_records_sent_by_a_failed_attempt_are_never_delivered(run: Run) -> None:
    assert (run.sleepy, sorted(r.key.decode() for r in run.fussy if r.key)) == (
        [],
        ["f10", "f7", "f8", "f9"],
    )


def test_an_exception_in_should_route_is_a_plugin_failure(run: Run) -> None:
    assert run.parked("picky") == {"p1": "plugin_error", "p2": "plugin_error", "p3": "plugin_error"}


def test_an_open_breaker_parks_the_plugins_matches_as_circuit_open(run: Run) -> None:
    assert run.parked("fussy") == {
        "f1": "plugin_error",
        "f2": "plugin_error",
        "f3": "circuit_open",
        "f4": "circuit_open",
        "f5": "circuit_open",
        "f6": "circuit_open",
    }


def test_the_breaker_closes_when_the_trial_after_the_cooldown_succeeds(run: Run) -> None:
    assert (run.stats.plugins["fussy"].breaker_state, run.stats.plugins["fussy"].sent) == ("closed", 4)


def test_a_failed_trial_opens_the_breaker_again(run: Run) -> None:
    sleepy = run.stats.plugins["sleepy"]

    assert (sleepy.breaker_state, sleepy.breaker_opened) == ("open", 2)


def test_a_parked_record_carries_the_source_and_trace_headers(run: Run) -> None:
    headers: dict[str, set[str]] = defaultdict(set)
    for record in run.dlq:
        for name in ("x-source-topic", "x-source-partition"):
            headers[name].add(record.headers[name])
        assert record.key is not None
        assert record.headers["x-trace-id"] == record.key.decode()

    assert headers == {"x-source-topic": {run.names.source}, "x-source-partition": {"0"}}


def test_the_stats_count_failures_retries_and_timeouts_per_plugin(run: Run) -> None:
    plugins = run.stats.plugins

    assert {name: (p.errors, p.dlq, p.retries, p.timeouts) for name, p in plugins.items()} == {
        "express-router": (0, 0, 0, 0),
        "fussy": (2, 6, 0, 0),
        "sleepy": (3, 6, 3, 6),
        "picky": (3, 3, 0, 0),
    }
