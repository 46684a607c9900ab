"""``worker --processes 2``: two worker processes in one group under one supervisor, on a real broker.

The supervisor serves the metrics of both (counters summed, gauges per
process); SIGTERM to the supervisor reaches both children, each finishes,
flushes and commits, and everything lands in Delta exactly once.
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
import socket
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from prometheus_client.parser import text_string_to_metric_families

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

PARTITIONS = 4
COUNT = 2000
SENT = [(f"p-{i}".encode(), encode(parcel(f"p-{i}", "completed"))) for i in range(COUNT)]


@dataclass
class Run:
    status: int
    output: str
    children_before_sigterm: list[int]
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float]
    ready: tuple[int, dict[str, Any]]
    committed: dict[int, int | None]
    ends: dict[int, int]
    parcels: pa.Table

    def child_summaries(self) -> list[dict[str, Any]]:
        return [
            json.loads(line.removeprefix("worker stopped: "))
            for line in self.output.splitlines()
            if line.startswith("worker stopped: ")
        ]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status), response.read().decode()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read().decode()
    except OSError:
        return 0, ""


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    status, body = get(url + "/metrics")
    if status != 200:
        return {}
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
    }


def consumed(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float]) -> float:
    return sum(v for (name, _), v in samples.items() if name == "kafka_pipeline_consumed_total")


@pytest.fixture(scope="module")
def run(bootstrap: str, parcels_site: Path, tmp_path_factory: pytest.TempPathFactory) -> Run:
    tmp_path = tmp_path_factory.mktemp("processes")
    names = make_names(tmp_path, "processes")
    asyncio.run(create_topics(bootstrap, names.source, names.dlq, partitions=PARTITIONS))
    asyncio.run(produce(bootstrap, names.source, SENT))
    data = config_data(bootstrap, names, {"tally": {"config": {"path": str(tmp_path / "tally.txt")}}})
    # Nothing is durable before SIGTERM: whatever Delta and the group hold, the shutdown put there.
    data["delta"] |= {"flush_max_rows": 1_000_000, "flush_max_seconds": 3600}
    config = write_config(tmp_path / "worker.yaml", data)
    port = free_port()
    args = ["--domain", "parcels", "--config", str(config), "--processes", "2", "--metrics-port", str(port)]
    worker = WorkerProcess(args, parcels_site, tmp_path / "w.log")
    url = f"http://127.0.0.1:{port}"
    worker.start()
    try:
        wait_for(lambda: consumed(scrape(url)) >= COUNT, 90, "both processes to consume everything")
        wait_for(lambda: get(url + "/readyz")[0] == 200, 30, "both processes ready")
        samples = scrape(url)
        status, body = get(url + "/readyz")
        children = sorted(
            int(dict(labels)["process"]) for name, labels in samples if name == "kafka_pipeline_ready"
        )
        worker.signal(signal.SIGTERM)
        exit_status = worker.wait(timeout=90)
    finally:
        worker.kill()
    return Run(
        status=exit_status,
        output=worker.output(),
        children_before_sigterm=children,
        samples=samples,
        ready=(status, json.loads(body)),
        committed=asyncio.run(committed_offsets(bootstrap, names.group, names.source, PARTITIONS)),
        ends=asyncio.run(end_offsets(bootstrap, names.source)),
        parcels=read_table(names.table("parcels")),
    )


def test_sigterm_to_the_supervisor_makes_both_children_finish_and_it_exits_0(run: Run) -> None:
    print("\n" + "\n".join(line for line in run.output.splitlines() if re.search(r"stopped|SIGTERM", line)))

    assert run.status == 0, run.output
    assert [s["consumed"] > 0 for s in run.child_summaries()] == [True, True]
    assert re.search(
        r'supervisor stopped: \{"processes": 2, "restarts": 0, "exit_codes": \[\[0\], \[0\]\]\}', run.output
    )


def test_the_two_children_share_the_partitions_and_consume_every_message_once(run: Run) -> None:
    assert sum(s["consumed"] for s in run.child_summaries()) == COUNT


def test_every_result_is_in_delta_exactly_once(run: Run) -> None:
    positions = set(
        zip(
            run.parcels["_source_partition"].to_pylist(),
            run.parcels["_source_offset"].to_pylist(),
            strict=True,
        )
    )

    assert (sorted(run.parcels["trace_id"].to_pylist()), len(positions)) == (
        sorted(k.decode() for k, _ in SENT),
        COUNT,
    )


def test_the_offsets_of_everything_consumed_are_committed(run: Run) -> None:
    assert run.committed == run.ends


def test_one_metrics_endpoint_sums_the_counters_of_both_children(run: Run) -> None:
    assert run.samples[("kafka_pipeline_consumed_total", (("domain", "parcels"),))] == COUNT


def test_gauges_are_reported_per_child_with_a_process_label(run: Run) -> None:
    ready = {
        dict(labels)["process"]: v
        for (name, labels), v in run.samples.items()
        if name == "kafka_pipeline_ready"
    }

    assert (run.children_before_sigterm, ready) == ([0, 1], {"0": 1.0, "1": 1.0})


def test_readyz_answers_for_both_children(run: Run) -> None:
    assert run.ready == (200, {"ready": True, "reasons": []})
