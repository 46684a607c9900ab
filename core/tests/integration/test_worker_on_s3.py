"""A fleet on S3 (moto_server on loopback): three workers over six partitions, then a SIGKILL.

Every commit of several workers to one table must land, and each once:
deltalake commits to S3 by conditional put. If an upgrade, a setting or the
store changed that, rows would go missing here.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from integration.kit import (
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
    wait_for,
    write_config,
)
from integration.stores import S3

pytestmark = pytest.mark.integration

PARTITIONS = 6
WORKERS = 3
CHUNK = 1500


def chunk(label: str, n: int, size: int = CHUNK) -> list[tuple[bytes, bytes]]:
    return [
        (
            f"{label}{n}-{i}".encode(),
            encode(parcel(f"{label}{n}-{i}", "failed_permanent" if i % 5 == 0 else "completed")),
        )
        for i in range(size)
    ]


def trace_ids(sent: list[tuple[bytes, bytes]], status: str) -> list[str]:
    return sorted(k.decode() for k, v in sent if f'"{status}"'.encode() in v)


def positions(table: pa.Table) -> list[tuple[int, int]]:
    return list(zip(table["_source_partition"].to_pylist(), table["_source_offset"].to_pylist(), strict=True))


@dataclass
class FleetRun:
    sent: list[tuple[bytes, bytes]]
    statuses: list[int]
    outputs: list[str]
    parcels: pa.Table
    parcels_failed: pa.Table
    committed: dict[int, int | None]
    ends: dict[int, int]


@pytest.fixture(scope="module")
def fleet(bootstrap: str, parcels_site: Path, s3: S3, tmp_path_factory: pytest.TempPathFactory) -> FleetRun:
    tmp_path = tmp_path_factory.mktemp("s3-fleet")
    names = make_names(tmp_path, "s3-fleet")
    root = f"{s3.bucket()}/delta"
    asyncio.run(create_topics(bootstrap, names.source, names.dlq, partitions=PARTITIONS))
    data = config_data(bootstrap, names, {"dawdle": {}})
    data["delta"] |= {"root": root, "storage_options": s3.options}
    data["worker"] |= {"batch_max_records": 100}
    data["kafka"] |= {"session_timeout_ms": 4000}
    args = ["--domain", "parcels", "--config", str(write_config(tmp_path / "worker.yaml", data))]
    args += ["--exit-when-idle", "4"]
    sent: list[tuple[bytes, bytes]] = []
    workers: list[WorkerProcess] = []
    try:
        # Each worker joins while the stream flows: the group rebalances under load.
        for n in range(WORKERS):
            sent += chunk("s", n)
            asyncio.run(produce(bootstrap, names.source, chunk("s", n)))
            worker = WorkerProcess(args, parcels_site, tmp_path / f"worker-{n}.log").start()
            workers.append(worker)
            wait_for(lambda worker=worker: "assigned" in worker.output(), 60, f"worker {n} to join")
        statuses = [w.wait(timeout=180) for w in workers]
    finally:
        for w in workers:
            w.kill()
    return FleetRun(
        sent=sent,
        statuses=statuses,
        outputs=[w.output() for w in workers],
        parcels=read_table(f"{root}/parcels", s3.options),
        parcels_failed=read_table(f"{root}/parcels_failed", s3.options),
        committed=asyncio.run(committed_offsets(bootstrap, names.group, names.source, PARTITIONS)),
        ends=asyncio.run(end_offsets(bootstrap, names.source)),
    )


def test_three_workers_on_s3_stop_cleanly(fleet: FleetRun) -> None:
    assert fleet.statuses == [0] * WORKERS, "\n\n".join(fleet.outputs)


def test_three_workers_on_s3_store_every_result_exactly_once(fleet: FleetRun) -> None:
    assert (
        sorted(fleet.parcels["trace_id"].to_pylist()),
        sorted(fleet.parcels_failed["trace_id"].to_pylist()),
    ) == (trace_ids(fleet.sent, "completed"), trace_ids(fleet.sent, "failed_permanent"))


def test_no_source_offset_is_in_an_s3_table_twice(fleet: FleetRun) -> None:
    for table in (fleet.parcels, fleet.parcels_failed):
        assert len(set(positions(table))) == table.num_rows


def test_the_s3_fleet_committed_every_partition_to_its_end(fleet: FleetRun) -> None:
    assert fleet.committed == fleet.ends


# -- a worker killed on S3 ---------------------------------------------------------------

KILLS = 2


def s3_commits(s3: S3, table_uri: str) -> int:
    return sum(1 for key in s3.keys(f"{table_uri}/_delta_log/") if key.endswith(".json"))


@dataclass
class CrashRun:
    sent: list[tuple[bytes, bytes]]
    drained: int
    drain_output: str
    parcels: pa.Table


@pytest.fixture(scope="module")
def crash(bootstrap: str, parcels_site: Path, s3: S3, tmp_path_factory: pytest.TempPathFactory) -> CrashRun:
    tmp_path = tmp_path_factory.mktemp("s3-crash")
    names = make_names(tmp_path, "s3-crash")
    root = f"{s3.bucket()}/delta"
    table = f"{root}/parcels"
    asyncio.run(create_topics(bootstrap, names.source, names.dlq, partitions=3))
    data: dict[str, Any] = config_data(bootstrap, names, {"dawdle": {}})
    # The credentials come from the environment, as in production.
    data["delta"] |= {"root": root, "flush_max_rows": 200, "flush_max_seconds": 0.2}
    data["worker"] |= {"batch_max_records": 100}
    data["kafka"] |= {"session_timeout_ms": 4000}
    args = ["--domain", "parcels", "--config", str(write_config(tmp_path / "worker.yaml", data))]
    sent: list[tuple[bytes, bytes]] = []
    with pytest.MonkeyPatch.context() as env:
        env.setenv("KAFKA_PIPELINE_STORAGE_OPTIONS", json.dumps(s3.options))
        for n in range(KILLS):
            sent += chunk("c", n, 2500)
            asyncio.run(produce(bootstrap, names.source, chunk("c", n, 2500)))
            before = s3_commits(s3, table)
            worker = WorkerProcess(args, parcels_site, tmp_path / f"worker-{n}.log").start()
            try:
                wait_for(
                    lambda before=before: s3_commits(s3, table) > before + 1,
                    90,
                    f"Delta progress of worker {n} on S3",
                )
                time.sleep(0.3)
                worker.signal(signal.SIGKILL)  # mid-run: work in hand, work left
            finally:
                worker.kill()
        drain = WorkerProcess([*args, "--exit-when-idle", "3"], parcels_site, tmp_path / "drain.log").start()
        status = drain.wait(timeout=180)
    assert status == 0, drain.output()
    return CrashRun(sent, drain.summary()["consumed"], drain.output(), read_table(table, s3.options))


def test_the_kill_on_s3_left_work_for_the_restarted_worker(crash: CrashRun) -> None:
    assert crash.drained > 0


def test_every_result_is_in_the_s3_table_exactly_once_after_a_sigkill(crash: CrashRun) -> None:
    assert sorted(crash.parcels["trace_id"].to_pylist()) == trace_ids(crash.sent, "completed")
    assert len(set(positions(crash.parcels))) == crash.parcels.num_rows
