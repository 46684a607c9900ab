"""``/readyz`` of a worker: ready only while it consumes partitions it was assigned.

A running, assigned worker's answer is tested against the broker in
``integration/test_worker_metrics.py``.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

from kafka_pipeline import parse_config
from kafka_pipeline._observability.server import Readiness
from kafka_pipeline._registry import PluginRegistry
from kafka_pipeline._worker.runner import Worker


@pytest.fixture
def worker(widgets: ModuleType, tmp_path: Path) -> Worker:
    config = parse_config({"delta": {"root": str(tmp_path / "delta")}})
    return Worker(config, widgets.WIDGETS, PluginRegistry("widgets"))


def test_a_worker_that_has_not_started_consuming_is_not_ready_and_says_why(worker: Worker) -> None:
    assert worker.readiness() == Readiness(
        False, ("starting: not consuming yet", "no partition of widgets.results assigned to this worker")
    )


def test_a_worker_asked_to_stop_is_not_ready(worker: Worker) -> None:
    worker.request_stop()

    assert "stopping" in worker.readiness().reasons
