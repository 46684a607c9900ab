"""Three worker processes in one group over six partitions: Kafka spreads the work, Delta gets it once.

The workers join one after the other while the stream is flowing, so the
group rebalances under load: each revoke must finish and commit the revoked
partitions' work before their new owner reads the Delta versions.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

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

pytestmark = pytest.mark.integration

PARTITIONS = 6
WORKERS = 3
CHUNK = 2000


def chunk(n: int) -> list[tuple[bytes, bytes]]:
    return [
        (f"s{n}-{i}".encode(), encode(parcel(f"s{n}-{i}", "failed_permanent" if i % 5 == 0 else "completed")))
        for i in range(CHUNK)
    ]


SENT = [record for n in range(WORKERS) for record in chunk(n)]


@dataclass
class Run:
    statuses: list[int]
    outputs: list[str]
    consumed: list[int]
    parcels: pa.Table
    parcels_failed: pa.Table
    committed: dict[int, int | None]
    ends: dict[int, int]


@pytest.fixture(scope="module")
def run(bootstrap: str, parcels_site: Path, tmp_path_factory: pytest.TempPathFactory) -> Run:
    tmp_path = tmp_path_factory.mktemp("scale")
    names = make_names(tmp_path, "scale-out")
    asyncio.run(create_topics(bootstrap, names.source, names.dlq, partitions=PARTITIONS))
    # dawdle: a millisecond per message keeps every worker busy while the next one joins.
    data = config_data(bootstrap, names, {"dawdle": {}})
    data["worker"] |= {"batch_max_records": 100}
    data["kafka"] |= {"session_timeout_ms": 4000}
    args = ["--domain", "parcels", "--config", str(write_config(tmp_path / "worker.yaml", data))]
    args += ["--exit-when-idle", "4"]
    workers: list[WorkerProcess] = []
    try:
        for n in range(WORKERS):
            asyncio.run(produce(bootstrap, names.source, chunk(n)))
            worker = WorkerProcess(args, parcels_site, tmp_path / f"worker-{n}.log").start()
            workers.append(worker)
            wait_for(lambda worker=worker: "assigned" in worker.output(), 60, f"worker {n} to join")
        statuses = [w.wait(timeout=120) for w in workers]
    finally:
        for w in workers:
            w.kill()

    return Run(
        statuses=statuses,
        outputs=[w.output() for w in workers],
        consumed=[w.summary()["consumed"] for w in workers if w.proc and w.proc.returncode == 0],
        parcels=read_table(names.table("parcels")),
        parcels_failed=read_table(names.table("parcels_failed")),
        committed=asyncio.run(committed_offsets(bootstrap, names.group, names.source, PARTITIONS)),
        ends=asyncio.run(end_offsets(bootstrap, names.source)),
    )


def test_every_worker_stops_cleanly(run: Run) -> None:
    assert run.statuses == [0] * WORKERS, "\n\n".join(run.outputs)


def test_the_workers_together_consume_every_message(run: Run) -> None:
    assert sum(run.consumed) >= len(SENT)


def test_every_result_is_in_its_delta_table_exactly_once(run: Run) -> None:
    completed = sorted(k.decode() for k, v in SENT if b'"completed"' in v)
    lost = sorted(k.decode() for k, v in SENT if b'"failed_permanent"' in v)

    assert (
        sorted(run.parcels["trace_id"].to_pylist()),
        sorted(run.parcels_failed["trace_id"].to_pylist()),
    ) == (
        completed,
        lost,
    )


def test_no_source_offset_is_in_a_table_twice(run: Run) -> None:
    for table in (run.parcels, run.parcels_failed):
        positions = set(
            zip(table["_source_partition"].to_pylist(), table["_source_offset"].to_pylist(), strict=True)
        )
        assert len(positions) == table.num_rows


def test_the_group_has_committed_every_partition_to_its_end(run: Run) -> None:
    assert run.committed == run.ends
