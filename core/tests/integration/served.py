"""A ``kafka-pipeline worker`` process serving ``/metrics``, with every kind of series in it.

For the tests that read a worker from the outside, as Prometheus, Grafana and
``kafka-pipeline top`` do: it has routed through three plugins (one of which
always fails, so its breaker is open), dead-lettered for every reason a
source record can have, stored in both tables and flushed, and it keeps
running until :meth:`ServedWorker.stop`.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import signal
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from integration.kit import (
    Names,
    WorkerProcess,
    config_data,
    create_topics,
    encode,
    make_names,
    parcel,
    produce,
    wait_for,
    write_config,
)

PARTITIONS = 2
_keys = itertools.count()


def batch(express: int = 4, lost: int = 2, fussy: int = 3) -> list[tuple[bytes, bytes]]:
    """Records for express-router, for loss-alerter, failing fussy, one retrying, one not JSON."""
    n = next(_keys)
    return [
        *((f"e{n}-{i}".encode(), encode(parcel(f"e{n}-{i}", carrier="express"))) for i in range(express)),
        *((f"l{n}-{i}".encode(), encode(parcel(f"l{n}-{i}", "failed_permanent"))) for i in range(lost)),
        *((f"f{n}-{i}".encode(), encode(parcel(f"f{n}-{i}", tags=["fussy"]))) for i in range(fussy)),
        (f"r{n}".encode(), encode(parcel(f"r{n}", "failed"))),
        (f"x{n}".encode(), b"{not json"),
    ]


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """One scrape of ``url`` (``.../metrics``): ``(name, sorted labels) -> value``."""
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def total(url: str, name: str) -> float:
    return sum(value for (n, _), value in scrape(url).items() if n == name)


@dataclass
class ServedWorker:
    """The running worker, where its metrics are, and how to give it more to do."""

    process: WorkerProcess
    names: Names
    bootstrap: str
    #: ``http://127.0.0.1:PORT/metrics``
    url: str
    sent: int = 0

    def feed(self, records: list[tuple[bytes, bytes]]) -> None:
        """Produce ``records`` and wait until the worker has consumed and flushed them."""
        flushed = total(self.url, "kafka_pipeline_flushes_total")
        asyncio.run(produce(self.bootstrap, self.names.source, records))
        self.sent += len(records)
        wait_for(
            lambda: (
                total(self.url, "kafka_pipeline_consumed_total") >= self.sent
                and total(self.url, "kafka_pipeline_flushes_total") > flushed
            ),
            60,
            f"{self.sent} records consumed and flushed",
        )

    def stop(self) -> int:
        if self.process.proc is not None and self.process.proc.poll() is None:
            self.process.signal(signal.SIGTERM)
        return self.process.wait(timeout=60)


def serve_worker(bootstrap: str, site: Path, tmp: Path) -> ServedWorker:
    """Start the worker on free ports, wait for its metrics URL, feed it one :func:`batch`."""
    names = make_names(tmp, "served")
    topics = [names.topic(t) for t in ("express", "alerts", "fussy")]
    asyncio.run(create_topics(bootstrap, names.source, names.dlq, partitions=PARTITIONS))
    asyncio.run(create_topics(bootstrap, *topics, partitions=1))
    plugins: dict[str, dict[str, Any]] = {
        "express-router": {"config": {"topic": names.topic("express")}},
        "loss-alerter": {"config": {"topic": names.topic("alerts")}},
        # Fails on every message; its breaker opens after the second and stays open.
        "fussy": {
            "config": {"topic": names.topic("fussy")},
            "max_retries": 0,
            "breaker_failure_threshold": 2,
            "breaker_reset_seconds": 3600,
        },
    }
    data = config_data(
        bootstrap,
        names,
        plugins,
        metrics={"host": "127.0.0.1", "port": 0, "route_timing_sample_every": 1},
    )
    config = write_config(tmp / "worker.yaml", data)
    process = WorkerProcess(["--domain", "parcels", "--config", str(config)], site, tmp / "worker.log")
    process.start()
    try:
        found: list[str] = []

        def announced() -> bool:
            match = re.search(r"metrics endpoint listening on ([\d.]+):(\d+)", process.output())
            if match:
                found.append(f"http://{match[1]}:{match[2]}/metrics")
            assert process.proc is not None
            assert process.proc.poll() is None, process.output()
            return bool(match)

        wait_for(announced, 60, "the worker to announce its metrics URL")
        worker = ServedWorker(process, names, bootstrap, found[0])
        wait_for(lambda: total(worker.url, "kafka_pipeline_ready") == 1, 60, "the worker to be ready")
        worker.feed(batch())
    except BaseException:
        process.kill()
        raise
    return worker
