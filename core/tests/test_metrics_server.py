"""The metrics endpoint: /metrics, /healthz and /readyz on one port, on a thread of its own."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from kafka_pipeline._observability.collector import metrics_registry
from kafka_pipeline._observability.server import MetricsServer, MetricsServerError, Readiness
from kafka_pipeline._observability.stats import WorkerStats


class Probe:
    """A readiness the test flips."""

    def __init__(self) -> None:
        self.state = Readiness(False, ("no partition of widgets.results assigned to this worker",))

    def __call__(self) -> Readiness:
        return self.state


@pytest.fixture
def probe() -> Probe:
    return Probe()


@pytest.fixture
def server(probe: Probe) -> Iterator[MetricsServer]:
    stats = WorkerStats()
    stats.consumed = 3
    with MetricsServer(metrics_registry(stats, "widgets"), probe, host="127.0.0.1", port=0) as running:
        yield running


def get(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read().decode()


def test_metrics_are_served_in_the_prometheus_text_format(server: MetricsServer) -> None:
    status, content_type, body = get(f"{server.url}/metrics")

    assert (status, content_type.split(";")[0]) == (200, "text/plain")
    assert 'kafka_pipeline_consumed_total{domain="widgets"} 3.0' in body


def test_healthz_answers_while_the_process_lives(server: MetricsServer) -> None:
    assert get(f"{server.url}/healthz")[0] == 200


def test_readyz_is_503_with_the_reasons_until_the_worker_is_ready(
    server: MetricsServer, probe: Probe
) -> None:
    status, _, body = get(f"{server.url}/readyz")

    assert status == 503
    assert json.loads(body) == {
        "ready": False,
        "reasons": ["no partition of widgets.results assigned to this worker"],
    }


def test_readyz_is_200_once_the_worker_is_ready(server: MetricsServer, probe: Probe) -> None:
    probe.state = Readiness(True)

    assert get(f"{server.url}/readyz")[0] == 200


def test_an_unknown_path_is_404_naming_the_known_ones(server: MetricsServer) -> None:
    status, _, body = get(f"{server.url}/stats")

    assert status == 404
    assert "/metrics" in body


def test_a_port_in_use_is_an_error_naming_the_port_and_the_setting(server: MetricsServer) -> None:
    second = MetricsServer(
        metrics_registry(WorkerStats(), "widgets"), Probe(), host="127.0.0.1", port=server.port
    )

    with pytest.raises(MetricsServerError, match=rf"127\.0\.0\.1:{server.port}.*metrics\.port"):
        second.start()
