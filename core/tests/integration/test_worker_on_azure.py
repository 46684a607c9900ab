"""One worker on Azure Blob (Azurite on loopback), end to end: every result once, also after a restart."""

from __future__ import annotations

import asyncio
import json
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
    write_config,
)
from integration.stores import Azure

pytestmark = pytest.mark.integration

PARTITIONS = 3


def batch(n: int, size: int = 1500) -> list[tuple[bytes, bytes]]:
    return [
        (f"a{n}-{i}".encode(), encode(parcel(f"a{n}-{i}", "failed" if i % 4 == 0 else "completed")))
        for i in range(size)
    ]


@dataclass
class AzureRun:
    sent: list[tuple[bytes, bytes]]
    statuses: list[int]
    outputs: list[str]
    parcels: pa.Table
    committed: dict[int, int | None]
    ends: dict[int, int]


@pytest.fixture(scope="module")
def run(
    bootstrap: str, parcels_site: Path, azure: Azure, tmp_path_factory: pytest.TempPathFactory
) -> AzureRun:
    tmp_path = tmp_path_factory.mktemp("azure")
    names = make_names(tmp_path, "azure")
    root = f"{azure.container()}/delta"
    asyncio.run(create_topics(bootstrap, names.source, names.dlq, partitions=PARTITIONS))
    data = config_data(bootstrap, names, {"express-router": {"config": {"topic": names.topic("express")}}})
    data["delta"] |= {"root": root, "flush_max_rows": 300}
    args = ["--domain", "parcels", "--config", str(write_config(tmp_path / "worker.yaml", data))]
    args += ["--create-topics", "--exit-when-idle", "2"]
    sent: list[tuple[bytes, bytes]] = []
    statuses, outputs = [], []
    with pytest.MonkeyPatch.context() as env:
        env.setenv("KAFKA_PIPELINE_STORAGE_OPTIONS", json.dumps(azure.options))
        # Two runs of one worker: the second starts from the offsets and Delta versions the first left.
        for n in range(2):
            sent += batch(n)
            asyncio.run(produce(bootstrap, names.source, batch(n)))
            worker = WorkerProcess(args, parcels_site, tmp_path / f"worker-{n}.log").start()
            statuses.append(worker.wait(timeout=180))
            outputs.append(worker.output())
    return AzureRun(
        sent=sent,
        statuses=statuses,
        outputs=outputs,
        parcels=read_table(f"{root}/parcels", azure.options),
        committed=asyncio.run(committed_offsets(bootstrap, names.group, names.source, PARTITIONS)),
        ends=asyncio.run(end_offsets(bootstrap, names.source)),
    )


def test_a_worker_on_azure_blob_stops_cleanly_twice(run: AzureRun) -> None:
    assert run.statuses == [0, 0], "\n\n".join(run.outputs)


def test_every_result_is_in_the_azure_table_exactly_once(run: AzureRun) -> None:
    completed = sorted(k.decode() for k, v in run.sent if b'"completed"' in v)
    partitions_offsets = set(
        zip(
            run.parcels["_source_partition"].to_pylist(),
            run.parcels["_source_offset"].to_pylist(),
            strict=True,
        )
    )

    assert sorted(run.parcels["trace_id"].to_pylist()) == completed
    assert len(partitions_offsets) == run.parcels.num_rows


def test_the_azure_worker_committed_every_partition_to_its_end(run: AzureRun) -> None:
    assert run.committed == run.ends
