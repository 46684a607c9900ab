"""``kafka-pipeline top`` without a worker: addresses, what it says when it cannot scrape, its start-up cost.

Against a real worker (rates, plugins, lag, the live view as messages flow):
``integration/test_cli_top.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import Result
from prometheus_client import CollectorRegistry
from terminal import Terminal

from kafka_pipeline._observability.server import MetricsServer, Readiness
from kafka_pipeline._top.scrape import ScrapeError, fetch, metrics_url

COMMAND = str(Path(sys.executable).with_name("kafka-pipeline"))
NOBODY = "http://127.0.0.1:9/metrics"  # the discard port: nothing serves metrics there


@pytest.fixture
def not_a_worker() -> Iterator[str]:
    """An HTTP server that answers /metrics without any kafka_pipeline metric, /healthz with JSON."""
    server = MetricsServer(CollectorRegistry(), lambda: Readiness(True), host="127.0.0.1", port=0)
    with server:
        yield server.url


@pytest.mark.parametrize(
    ("address", "url"),
    [
        ("localhost:9108", "http://localhost:9108/metrics"),
        ("http://localhost:9108/", "http://localhost:9108/metrics"),
        ("https://w1.example:443/custom/metrics", "https://w1.example:443/custom/metrics"),
    ],
)
def test_an_address_becomes_the_metrics_url(address: str, url: str) -> None:
    assert metrics_url(address) == url


def test_an_endpoint_without_kafka_pipeline_metrics_is_refused(not_a_worker: str) -> None:
    with pytest.raises(
        ScrapeError, match="no kafka_pipeline_ metrics there; is it a kafka-pipeline worker's"
    ):
        fetch(f"{not_a_worker}/metrics", timeout=5)


def test_an_http_error_is_named(not_a_worker: str) -> None:
    with pytest.raises(ScrapeError, match=r"cannot scrape .*/nowhere: HTTP 404"):
        fetch(f"{not_a_worker}/nowhere", timeout=5)


def test_once_against_an_unreachable_worker_exits_1_with_one_line(cli: Callable[..., Result]) -> None:
    result = cli("top", "--once", "--url", NOBODY)

    assert (result.exit_code, result.stderr.splitlines()) == (
        1,
        [
            f"Error: cannot scrape {NOBODY}: connection refused "
            "(is a worker serving metrics there? see 'worker --metrics-port')"
        ],
    )


def test_a_url_that_is_no_http_address_is_a_usage_error(cli: Callable[..., Result]) -> None:
    result = cli("top", "--once", "--url", "ftp://w1:9108")

    assert (result.exit_code, "is not a worker's metrics address" in result.stderr) == (2, True)


def test_the_live_view_without_a_terminal_points_to_once(cli: Callable[..., Result]) -> None:
    result = cli("top", "--url", NOBODY)

    assert (result.exit_code, "use --once for a plain-text snapshot" in result.stderr) == (2, True)


def test_starting_any_command_imports_neither_rich_nor_the_metrics_parser() -> None:
    script = (
        "import json, sys, kafka_pipeline._cli\n"
        "heavy = {'rich', 'prometheus_client'}\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in heavy)))"
    )

    imported = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)

    assert json.loads(imported.stdout) == []


def test_the_live_view_shows_an_unreachable_worker_and_quits_on_ctrl_c() -> None:
    with Terminal([COMMAND, "top", "--interval", "0.5", "--url", NOBODY], width=120, height=20) as terminal:
        screen = terminal.wait_for("unreachable: connection refused")
        terminal.send_keys("C-c")
        status = terminal.exit_status()

    assert ("0 of 1 workers" in screen, status) == (True, 0)
