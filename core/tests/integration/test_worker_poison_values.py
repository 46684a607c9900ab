"""A valid result its Delta table cannot store goes to the DLQ (``schema``); the partition moves on.

``items: 10**30`` passes the model (pydantic's int is unbounded) but not an
int64 column; a timestamp in year 9999 with a negative offset is in year
10000 once in UTC, outside Delta's range. Before the value check either one
failed every append of its batch, on every restart, and blocked the partition.
"""

from __future__ import annotations

import asyncio
import json
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
    write_config,
)

pytestmark = pytest.mark.integration

POISON = {
    b"huge-items": encode(parcel("huge-items", items=10**30)),
    b"year-10000": encode(parcel("year-10000", sent_at="9999-12-31T23:00:00-05:00")),
    b"negative-huge": encode(parcel("negative-huge", status="failed_permanent", items=-(10**19))),
}
# 3000 valid results around the poison, so that each poison value sits in a
# batch of more than one row chunk, as it would in production.
VALID = [(f"v-{i}".encode(), encode(parcel(f"v-{i}"))) for i in range(3000)]
SENT = VALID[:1000] + [(k, POISON[k]) for k in list(POISON)[:1]] + VALID[1000:2500]
SENT += [(k, POISON[k]) for k in list(POISON)[1:]] + VALID[2500:]


@dataclass
class Run:
    status: int
    output: str
    dlq: dict[bytes, Record]
    parcels: pa.Table
    committed: dict[int, int | None]
    ends: dict[int, int]


@pytest.fixture(scope="module")
def run(bootstrap: str, parcels_site: Path, tmp_path_factory: pytest.TempPathFactory) -> Run:
    tmp_path = tmp_path_factory.mktemp("poison")
    names = make_names(tmp_path, "poison-values")
    asyncio.run(create_topics(bootstrap, names.source, names.dlq, partitions=1))
    asyncio.run(produce(bootstrap, names.source, SENT))
    data = config_data(bootstrap, names, {})
    data["delta"] |= {"flush_max_rows": 100_000, "flush_max_seconds": 3600}
    config = write_config(tmp_path / "worker.yaml", data)
    args = ["--domain", "parcels", "--config", str(config), "--exit-when-idle", "2"]
    worker = WorkerProcess(args, parcels_site, tmp_path / "w.log")
    status = worker.run_to_end()
    return Run(
        status=status,
        output=worker.output(),
        dlq={r.key: r for r in asyncio.run(read_topic(bootstrap, names.dlq)) if r.key},
        parcels=read_table(names.table("parcels")),
        committed=asyncio.run(committed_offsets(bootstrap, names.group, names.source, 1)),
        ends=asyncio.run(end_offsets(bootstrap, names.source)),
    )


def test_the_worker_exits_0(run: Run) -> None:
    assert run.status == 0, run.output[-3000:]


def test_each_poison_result_is_parked_with_reason_schema(run: Run) -> None:
    assert {key: r.headers["x-dlq-reason"] for key, r in run.dlq.items()} == dict.fromkeys(POISON, "schema")


def test_the_dlq_error_names_the_field_and_the_column_range(run: Run) -> None:
    error = run.dlq[b"huge-items"].headers["x-dlq-error"]
    assert error.startswith(f"items: {10**30} does not fit the int64 column")


def test_every_valid_result_around_the_poison_is_in_delta(run: Run) -> None:
    assert sorted(run.parcels["trace_id"].to_pylist()) == sorted(k.decode() for k, _ in VALID)


def test_the_poison_offsets_are_committed_with_the_rest(run: Run) -> None:
    assert run.committed == run.ends


def test_the_summary_counts_them_invalid(run: Run) -> None:
    summary = next(
        json.loads(line.removeprefix("worker stopped: "))
        for line in run.output.splitlines()
        if line.startswith("worker stopped: ")
    )
    assert (summary["messages"]["invalid"], summary["dlq_by_reason"]["schema"]) == (3, 3)
