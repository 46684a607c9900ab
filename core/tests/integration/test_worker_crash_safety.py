"""A worker process killed mid-stream (SIGKILL, no goodbye) loses nothing and duplicates no Delta row."""

from __future__ import annotations

import asyncio
import random
import signal
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pytest

from integration.kit import (
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

PARTITIONS = 3
KILLS = 3
CHUNK = 3000


def chunk(n: int) -> list[tuple[bytes, bytes]]:
    ids = [f"c{n}-{i}" for i in range(CHUNK)]
    return [
        (
            t.encode(),
            encode(parcel(t, "failed" if i % 4 == 0 else "completed", "express" if i % 2 else "post")),
        )
        for i, t in enumerate(ids)
    ]


def commits(table: Path) -> int:
    log = table / "_delta_log"
    return len(list(log.glob("*.json"))) if log.is_dir() else 0


@dataclass
class Run:
    drained: int
    sent: list[tuple[bytes, bytes]]
    parcels: pa.Table
    routed: Counter[str]


@pytest.fixture(scope="module")
def run(bootstrap: str, parcels_site: Path, tmp_path_factory: pytest.TempPathFactory) -> Run:
    tmp_path = tmp_path_factory.mktemp("crash")
    names = make_names(tmp_path, "crash-safety")
    asyncio.run(create_topics(bootstrap, names.source, names.dlq, partitions=PARTITIONS))
    asyncio.run(create_topics(bootstrap, names.topic("express")))
    # dawdle: at least a millisecond per message, so that a kill finds work in hand and work left.
    plugins = {"express-router": {"config": {"topic": names.topic("express")}}, "dawdle": {}}
    data = config_data(bootstrap, names, plugins)
    data["delta"] |= {"flush_max_rows": 200, "flush_max_seconds": 0.2}
    data["worker"] |= {"batch_max_records": 100}  # flushes are decided between poll batches
    # A killed member is noticed when its session times out: keep that short.
    data["kafka"] |= {"session_timeout_ms": 4000}
    args = ["--domain", "parcels", "--config", str(write_config(tmp_path / "worker.yaml", data))]
    data["load"] = ["express-router"]
    drain_args = ["--domain", "parcels", "--config", str(write_config(tmp_path / "drain.yaml", data))]
    rng = random.Random(3)
    sent: list[tuple[bytes, bytes]] = []

    for n in range(KILLS):
        sent += chunk(n)
        asyncio.run(produce(bootstrap, names.source, chunk(n)))
        before = commits(names.table("parcels"))
        worker = WorkerProcess(args, parcels_site, tmp_path / f"worker-{n}.log").start()
        try:
            wait_for(
                lambda before=before: commits(names.table("parcels")) > before,
                90,
                f"Delta progress of worker {n}",
            )
            time.sleep(rng.uniform(0, 0.5))
            worker.signal(signal.SIGKILL)
        finally:
            worker.kill()
    drain = WorkerProcess([*drain_args, "--exit-when-idle", "2"], parcels_site, tmp_path / "drain.log")
    drain.start()
    assert drain.wait(timeout=120) == 0, drain.output()

    return Run(
        drained=drain.summary()["consumed"],
        sent=sent,
        parcels=read_table(names.table("parcels")),
        routed=Counter(
            r.key.decode() for r in asyncio.run(read_topic(bootstrap, names.topic("express"))) if r.key
        ),
    )


def test_the_kills_left_work_for_the_next_worker(run: Run) -> None:
    assert run.drained > 0


def test_every_completed_result_is_in_delta_after_the_kills(run: Run) -> None:
    completed = [k.decode() for k, v in run.sent if b'"completed"' in v]

    assert sorted(run.parcels["trace_id"].to_pylist()) == sorted(completed)


def test_no_source_offset_is_in_delta_twice_after_the_kills(run: Run) -> None:
    positions = list(
        zip(
            run.parcels["_source_partition"].to_pylist(),
            run.parcels["_source_offset"].to_pylist(),
            strict=True,
        )
    )

    assert len(set(positions)) == len(positions) == run.parcels.num_rows


def test_every_route_is_sent_at_least_once_after_the_kills(run: Run) -> None:
    express = {k.decode() for k, v in run.sent if b'"completed"' in v and b'"express"' in v}

    assert set(run.routed) == express
