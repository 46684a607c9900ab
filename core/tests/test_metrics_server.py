"""The metrics endpoint: /metrics, /healthz and /readyz on one port, on a thread of its own."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import struct
import time
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


def half_sent(server: MetricsServer) -> socket.socket:
    """A connection that has sent part of a request and then nothing."""
    client = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    client.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
    return client


@pytest.fixture
def small(probe: Probe) -> Iterator[MetricsServer]:
    """A server of two connections that drops a silent client after half a second."""
    registry = metrics_registry(WorkerStats(), "widgets")
    with MetricsServer(
        registry, probe, host="127.0.0.1", port=0, max_connections=2, timeout_seconds=0.5
    ) as running:
        yield running


def test_a_connection_beyond_the_cap_is_answered_503_at_once(small: MetricsServer) -> None:
    with contextlib.ExitStack() as held:
        for _ in range(2):
            held.enter_context(half_sent(small))
        time.sleep(0.1)

        status, _, body = get(f"{small.url}/healthz")

    assert (status, body) == (503, "too many connections to the metrics endpoint; try again\n")


def test_a_silent_client_is_dropped_and_its_slot_given_back(small: MetricsServer) -> None:
    with contextlib.ExitStack() as held:
        clients = [held.enter_context(half_sent(small)) for _ in range(2)]
        time.sleep(1.0)  # twice the timeout

        dropped = [client.recv(100) for client in clients]
        status = get(f"{small.url}/healthz")[0]

    assert (dropped, status) == ([b"", b""], 200)


def test_a_client_that_hangs_up_leaves_no_traceback(
    server: MetricsServer, capfd: pytest.CaptureFixture[str]
) -> None:
    for _ in range(20):
        client = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        client.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
        # Close with a reset (linger 0) before the answer is read.
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        client.close()
    time.sleep(0.3)

    assert get(f"{server.url}/healthz")[0] == 200
    assert "Traceback" not in capfd.readouterr().err


def test_the_log_says_when_the_endpoint_listens_on_every_interface(
    probe: Probe, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "kafka_pipeline.metrics.server")

    with MetricsServer(metrics_registry(WorkerStats(), "widgets"), probe, host="0.0.0.0", port=0) as running:
        pass

    assert f"listening on 0.0.0.0:{running.port} (all interfaces)" in caplog.text
