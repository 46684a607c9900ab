"""A plugin whose start or stop hangs (catching every cancellation) cannot hold a worker process.

Before ``resilience.lifecycle_timeout_seconds`` a hanging start kept the
worker silent for ever, and a hanging stop made it outlive two SIGTERMs.
"""

from __future__ import annotations

import asyncio
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from integration.kit import (
    Names,
    WorkerProcess,
    config_data,
    create_topics,
    encode,
    make_names,
    parcel,
    produce,
    read_table,
    read_topic,
    wait_for,
    write_config,
)

pytestmark = pytest.mark.integration

TIMEOUT = 1.0
SENT = [
    (f"p-{i}".encode(), encode(parcel(f"p-{i}", carrier="express", tags=["stubborn"]))) for i in range(20)
]


@dataclass
class Started:
    names: Names
    worker: WorkerProcess
    tally: Path


def start_worker(
    bootstrap: str, site: Path, tmp_path: Path, stubborn: dict[str, Any], *, idle: bool = True, **top: Any
) -> Started:
    names = make_names(tmp_path, f"lifecycle-{stubborn.get('hang_in', '')}")
    tally = tmp_path / "tally.txt"
    asyncio.run(create_topics(bootstrap, names.source, names.dlq, partitions=1))
    asyncio.run(create_topics(bootstrap, names.topic("express"), names.topic("stubborn")))
    asyncio.run(produce(bootstrap, names.source, SENT))
    plugins = {
        "express-router": {"config": {"topic": names.topic("express")}},
        "stubborn": {"config": {**stubborn, "topic": names.topic("stubborn")}},
        "tally": {"config": {"path": str(tally), "every": len(SENT)}},
    }
    data = config_data(bootstrap, names, plugins, resilience={"lifecycle_timeout_seconds": TIMEOUT}, **top)
    config = write_config(tmp_path / "worker.yaml", data)
    args = ["--domain", "parcels", "--config", str(config)] + (["--exit-when-idle", "2"] if idle else [])
    return Started(names, WorkerProcess(args, site, tmp_path / "w.log").start(), tally)


def test_a_start_that_hangs_is_given_up_and_the_worker_runs_without_that_plugin(
    bootstrap: str, parcels_site: Path, tmp_path: Path
) -> None:
    run = start_worker(bootstrap, parcels_site, tmp_path, {"hang_in": "start"})
    try:
        status = run.worker.wait(timeout=60)
    finally:
        run.worker.kill()
    output = run.worker.output()

    assert status == 0, output[-3000:]
    assert "plugin stubborn: start did not finish within 1s (resilience.lifecycle_timeout_seconds)" in output
    express = asyncio.run(read_topic(bootstrap, run.names.topic("express")))
    stubborn = asyncio.run(read_topic(bootstrap, run.names.topic("stubborn")))
    assert (len(express), stubborn, len(read_table(run.names.table("parcels")))) == (len(SENT), [], len(SENT))


def test_in_strict_mode_a_start_that_hangs_stops_the_worker_with_exit_1(
    bootstrap: str, parcels_site: Path, tmp_path: Path
) -> None:
    run = start_worker(bootstrap, parcels_site, tmp_path, {"hang_in": "start"}, strict=True)
    try:
        status = run.worker.wait(timeout=60)
    finally:
        run.worker.kill()

    assert (status, "plugins failed to start (strict mode): stubborn" in run.worker.output()) == (1, True)


def test_sigterm_ends_a_worker_whose_plugin_stop_hangs_within_the_timeout(
    bootstrap: str, parcels_site: Path, tmp_path: Path
) -> None:
    run = start_worker(bootstrap, parcels_site, tmp_path, {"hang_in": "stop"}, idle=False)
    try:
        wait_for(run.tally.exists, 60, "every message seen")
        asked = time.monotonic()
        run.worker.signal(signal.SIGTERM)
        status = run.worker.wait(timeout=60)
        took = time.monotonic() - asked
    finally:
        run.worker.kill()
    output = run.worker.output()

    assert status == 0, output[-3000:]
    assert "plugin stubborn: stop did not finish within 1s (resilience.lifecycle_timeout_seconds)" in output
    assert took < 15
    assert len(read_table(run.names.table("parcels"))) == len(SENT)


def test_sigterm_does_not_wait_for_a_start_that_hangs(
    bootstrap: str, parcels_site: Path, tmp_path: Path
) -> None:
    names = make_names(tmp_path, "lifecycle-sigterm-start")
    asyncio.run(create_topics(bootstrap, names.source, names.dlq, partitions=1))
    data = config_data(
        bootstrap,
        names,
        {"stubborn": {"config": {"hang_in": "start"}}},
        resilience={"lifecycle_timeout_seconds": 3600},
    )
    config = write_config(tmp_path / "worker.yaml", data)
    worker = WorkerProcess(["--domain", "parcels", "--config", str(config)], parcels_site, tmp_path / "w.log")
    worker.start()
    try:
        # The worker logs nothing at info level before its plugins have started: give it time to get there.
        time.sleep(3)
        asked = time.monotonic()
        worker.signal(signal.SIGTERM)
        status = worker.wait(timeout=60)
        took = time.monotonic() - asked
    finally:
        worker.kill()

    assert (status, "stop requested while plugins were starting" in worker.output()) == (0, True)
    assert took < 15
