"""``kafka-pipeline maintain`` on S3 while a worker appends: fewer files, the same rows, no worker error."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from deltalake import DeltaTable

from integration.kit import (
    WorkerProcess,
    config_data,
    create_topics,
    encode,
    make_names,
    parcel,
    produce,
    read_table,
    wait_for,
    write_config,
)
from integration.stores import S3

pytestmark = pytest.mark.integration

FIRST = 3200  # at 15 rows a flush: more than 200 small files before maintain runs
MORE = 2000  # appended while maintain runs


def results(label: str, count: int) -> list[tuple[bytes, bytes]]:
    return [(f"{label}-{i}".encode(), encode(parcel(f"{label}-{i}"))) for i in range(count)]


def maintain(site: Path, config: Path, *extra: str) -> tuple[int, str, str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, "-m", "kafka_pipeline._cli", "maintain", "--domain", "parcels"]
    done = subprocess.run(
        [*command, "--config", str(config), *extra],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return done.returncode, done.stdout, done.stderr


@dataclass
class Run:
    files_at_start: int
    status: int
    report: dict[str, Any]
    stderr: str
    worker_status: int
    worker_output: str
    rows: pa.Table
    sent: list[str]
    txn: int | None
    vacuum: tuple[int, str, str]
    rows_after_vacuum: pa.Table


@pytest.fixture(scope="module")
def run(bootstrap: str, parcels_site: Path, s3: S3, tmp_path_factory: pytest.TempPathFactory) -> Run:
    tmp_path = tmp_path_factory.mktemp("maintain")
    names = make_names(tmp_path, "maintain")
    root = f"{s3.bucket()}/delta"
    table = f"{root}/parcels"
    asyncio.run(create_topics(bootstrap, names.source, names.dlq, partitions=1))
    data = config_data(bootstrap, names, {})
    data["delta"] |= {
        "root": root,
        "storage_options": s3.options,
        "flush_max_rows": 15,
        "flush_max_seconds": 0.05,
        "maintenance": {"target_file_size_mb": 64},
    }
    data["worker"] |= {"batch_max_records": 15}
    config = write_config(tmp_path / "worker.yaml", data)
    asyncio.run(produce(bootstrap, names.source, results("first", FIRST)))
    worker = WorkerProcess(
        ["--domain", "parcels", "--config", str(config), "--exit-when-idle", "4"],
        parcels_site,
        tmp_path / "worker.log",
    ).start()
    try:

        def parquet_files() -> int:
            return sum(1 for k in s3.keys(f"{table}/") if k.endswith(".parquet"))

        wait_for(lambda: parquet_files() >= 200, 180, "200 small files in the table")
        files_at_start = parquet_files()
        # More results arrive while maintain works: the worker appends beside it.
        more = threading.Thread(
            target=asyncio.run, args=(produce(bootstrap, names.source, results("more", MORE)),)
        )
        more.start()
        status, out, err = maintain(parcels_site, config, "--json")
        more.join()
        worker_status = worker.wait(timeout=300)
    finally:
        worker.kill()
    short = {**data, "delta": {**data["delta"], "maintenance": {"vacuum_retention_hours": 0}}}
    vacuum = maintain(parcels_site, write_config(tmp_path / "short.yaml", short), "--allow-short-retention")
    handle = DeltaTable(table, storage_options=s3.options)
    return Run(
        files_at_start=files_at_start,
        status=status,
        report=json.loads(out) if status == 0 else {"stdout": out},
        stderr=err,
        worker_status=worker_status,
        worker_output=worker.output(),
        rows=read_table(table, s3.options),
        sent=sorted([f"first-{i}" for i in range(FIRST)] + [f"more-{i}" for i in range(MORE)]),
        txn=handle.transaction_version(f"{names.group}:{names.source}:0"),
        vacuum=vacuum,
        rows_after_vacuum=read_table(table, s3.options),
    )


def test_maintain_exits_0_beside_an_appending_worker(run: Run) -> None:
    assert run.status == 0, (run.report, run.stderr)


def test_maintain_compacts_the_small_files(run: Run) -> None:
    parcels = next(t for t in run.report["tables"] if t["table"] == "parcels")
    print(
        f"\nmaintain beside a worker: parcels {parcels['files_before']} -> {parcels['files_after']} files, "
        f"version {parcels['version_before']} -> {parcels['version']}, {parcels['seconds']:.2f}s"
    )

    assert parcels["files_before"] >= 200
    # Rewritten into one or two files; what the worker appended meanwhile stays as it came.
    assert (parcels["files_compacted"] >= 200, parcels["files_written"] <= 2) == (True, True)


def test_the_worker_never_failed_while_maintain_ran(run: Run) -> None:
    assert run.worker_status == 0, run.worker_output
    assert "append to Delta table" not in run.worker_output  # no append had to be retried


def test_every_row_is_in_the_table_once_after_maintain(run: Run) -> None:
    assert sorted(run.rows["trace_id"].to_pylist()) == run.sent


def test_the_offsets_the_worker_recorded_survive_maintain(run: Run) -> None:
    assert run.txn == FIRST + MORE - 1


def test_maintain_with_a_short_retention_vacuums_the_replaced_files(run: Run) -> None:
    status, out, err = run.vacuum

    assert status == 0, out + err
    assert "vacuumed 0 files" not in out.split("parcels:")[1].splitlines()[0]
    assert sorted(run.rows_after_vacuum["trace_id"].to_pylist()) == run.sent
