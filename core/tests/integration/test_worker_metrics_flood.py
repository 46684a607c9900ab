"""A flood of slow clients on the metrics port neither exhausts the worker nor stops its routing.

A worker process on the embedded broker serves metrics; 200 connections each
send half a request and then nothing. The worker's threads and file
descriptors (``/proc/<pid>``) stay within the endpoint's cap, messages
produced during the flood reach the routed topic and Delta, and ``/healthz``
answers again once the flood is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

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
    wait_for,
    write_config,
)
from kafka_pipeline._broker.embedded import free_port
from kafka_pipeline._observability.server import MAX_CONNECTIONS

pytestmark = pytest.mark.integration

FLOOD = 200
#: Threads and sockets a busy worker may open besides the endpoint's (a Delta flush, a reconnect).
SLACK = 8


@dataclass(frozen=True)
class Usage:
    """What a process holds: open file descriptors and threads."""

    fds: int
    threads: int

    @classmethod
    def of(cls, pid: int) -> Usage:
        status = Path(f"/proc/{pid}/status").read_text()
        threads = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("Threads:"))
        return cls(fds=len(list(Path(f"/proc/{pid}/fd").iterdir())), threads=threads)


@dataclass
class Run:
    before: Usage
    during: Usage
    rows_during_flood: int
    status: int
    output: str


def healthz(port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


def batch(prefix: str, count: int) -> list[tuple[bytes, bytes]]:
    return [
        (f"{prefix}{i}".encode(), encode(parcel(f"{prefix}{i}", carrier="express"))) for i in range(count)
    ]


@pytest.fixture(scope="module")
def run(bootstrap: str, parcels_site: Path, tmp_path_factory: pytest.TempPathFactory) -> Run:
    tmp_path = tmp_path_factory.mktemp("flood")
    names = make_names(tmp_path, "flood")
    table = names.table("parcels")
    asyncio.run(create_topics(bootstrap, names.source, names.dlq, names.topic("express"), partitions=1))
    port = free_port()
    data = config_data(
        bootstrap,
        names,
        {"express-router": {"config": {"topic": names.topic("express")}}},
        metrics={"host": "127.0.0.1", "port": port},
    )
    config = write_config(tmp_path / "worker.yaml", data)
    worker = WorkerProcess(["--domain", "parcels", "--config", str(config)], parcels_site, tmp_path / "w.log")
    worker.start()
    assert worker.proc is not None
    pid = worker.proc.pid
    try:
        wait_for(lambda: healthz(port) == 200, 60, "the metrics endpoint")
        asyncio.run(produce(bootstrap, names.source, batch("a", 10)))
        wait_for(lambda: read_table(table).num_rows == 10, 60, "the first batch in Delta")
        before = Usage.of(pid)

        with contextlib.ExitStack() as flood:
            for _ in range(FLOOD):
                client = flood.enter_context(socket.create_connection(("127.0.0.1", port), timeout=5))
                client.sendall(b"GET /metrics HTTP/1.1\r\nHost: flood\r\n")  # and never the blank line
            time.sleep(0.5)  # the worker accepts them
            during = [Usage.of(pid)]
            asyncio.run(produce(bootstrap, names.source, batch("b", 10)))
            deadline = time.monotonic() + 30
            while read_table(table).num_rows < 20 and time.monotonic() < deadline:
                during.append(Usage.of(pid))
                time.sleep(0.2)
            rows_during_flood = read_table(table).num_rows
        # Fails the module's tests when the endpoint does not come back.
        wait_for(lambda: healthz(port) == 200, 15, "/healthz after the flood")
        worker.signal(signal.SIGTERM)
        status = worker.wait(timeout=60)
    finally:
        worker.kill()
    return Run(
        before=before,
        during=Usage(max(u.fds for u in during), max(u.threads for u in during)),
        rows_during_flood=rows_during_flood,
        status=status,
        output=worker.output(),
    )


def test_the_flood_adds_at_most_the_endpoints_cap_of_threads(run: Run) -> None:
    print(f"threads before {run.before.threads}, during the flood {run.during.threads}")

    assert run.during.threads - run.before.threads <= MAX_CONNECTIONS + SLACK


def test_the_flood_adds_at_most_the_endpoints_cap_of_file_descriptors(run: Run) -> None:
    print(f"file descriptors before {run.before.fds}, during the flood {run.during.fds}")

    assert run.during.fds - run.before.fds <= MAX_CONNECTIONS + SLACK


def test_messages_produced_during_the_flood_reach_delta(run: Run) -> None:
    assert run.rows_during_flood == 20


def test_the_worker_stops_cleanly_without_a_traceback(run: Run) -> None:
    assert run.status == 0, run.output
    assert "Traceback" not in run.output


def test_the_log_says_where_the_endpoint_listens(run: Run) -> None:
    assert "metrics endpoint listening on 127.0.0.1:" in run.output
