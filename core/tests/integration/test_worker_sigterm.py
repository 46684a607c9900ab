"""SIGTERM: the worker finishes what it holds, commits it, stops its plugins and exits 0.

Flushing is set so far apart that nothing is durable before the signal:
whatever the tests find in Delta and in the committed offsets, the shutdown
put there.
"""

from __future__ import annotations

import asyncio
import signal
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pytest

from integration.kit import (
    Record,
    WorkerProcess,
    committed_offsets,
    config_data,
    create_topics,
    encode,
    end_offsets,
    make_names,
    parcel,
    produce,
    read_table,
    read_topic,
    wait_for,
    write_config,
)

pytestmark = pytest.mark.integration

PARTITIONS = 3
COUNT = 2000
SENT = [
    (f"t-{i}".encode(), encode(parcel(f"t-{i}", "completed", "express" if i % 2 else "post")))
    for i in range(COUNT)
]


@dataclass
class Run:
    status: int
    output: str
    tally: str
    committed: dict[int, int | None]
    ends: dict[int, int]
    parcels: pa.Table
    express: list[Record]


@pytest.fixture(scope="module")
def run(bootstrap: str, parcels_site: Path, tmp_path_factory: pytest.TempPathFactory) -> Run:
    tmp_path = tmp_path_factory.mktemp("sigterm")
    names = make_names(tmp_path, "sigterm")
    tally = tmp_path / "tally.txt"
    asyncio.run(create_topics(bootstrap, names.source, names.dlq, partitions=PARTITIONS))
    asyncio.run(create_topics(bootstrap, names.topic("express")))
    asyncio.run(produce(bootstrap, names.source, SENT))
    data = config_data(
        bootstrap,
        names,
        {
            "express-router": {"config": {"topic": names.topic("express")}},
            "tally": {"config": {"path": str(tally)}},
        },
    )
    data["delta"] |= {"flush_max_rows": 1_000_000, "flush_max_seconds": 3600}
    config = write_config(tmp_path / "worker.yaml", data)
    worker = WorkerProcess(["--domain", "parcels", "--config", str(config)], parcels_site, tmp_path / "w.log")
    worker.start()
    try:
        wait_for(lambda: tally.exists() and tally.read_text() == str(COUNT), 60, "every message routed")
        worker.signal(signal.SIGTERM)
        status = worker.wait(timeout=60)
    finally:
        worker.kill()

    return Run(
        status=status,
        output=worker.output(),
        tally=tally.read_text(),
        committed=asyncio.run(committed_offsets(bootstrap, names.group, names.source, PARTITIONS)),
        ends=asyncio.run(end_offsets(bootstrap, names.source)),
        parcels=read_table(names.table("parcels")),
        express=asyncio.run(read_topic(bootstrap, names.topic("express"))),
    )


def test_sigterm_makes_the_worker_exit_0(run: Run) -> None:
    assert run.status == 0, run.output


def test_sigterm_commits_the_offsets_of_everything_consumed(run: Run) -> None:
    assert run.committed == run.ends


def test_sigterm_appends_the_rows_in_hand_to_delta(run: Run) -> None:
    assert sorted(run.parcels["trace_id"].to_pylist()) == sorted(k.decode() for k, _ in SENT)


def test_sigterm_delivers_the_routed_records_in_hand(run: Run) -> None:
    assert sorted(r.key for r in run.express if r.key) == sorted(k for k, v in SENT if b'"express"' in v)


def test_sigterm_stops_every_plugin(run: Run) -> None:
    assert run.tally == f"{COUNT} stopped"


def test_sigterm_is_logged_as_the_reason_to_stop(run: Run) -> None:
    assert "SIGTERM received: finishing the batch in hand, then stopping" in run.output
