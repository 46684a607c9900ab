"""``kafka-pipeline top`` against a real worker: the plain snapshot, and the live view in a real terminal."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from terminal import Terminal

from integration.served import ServedWorker, batch, serve_worker

pytestmark = pytest.mark.integration

#: The console script next to this interpreter: the command a user's shell finds.
COMMAND = str(Path(sys.executable).with_name("kafka-pipeline"))
NOBODY = "http://127.0.0.1:9/metrics"  # the discard port: nothing serves metrics there


@pytest.fixture(scope="module")
def served(
    bootstrap: str, parcels_site: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServedWorker]:
    worker = serve_worker(bootstrap, parcels_site, tmp_path_factory.mktemp("top"))
    try:
        yield worker
    finally:
        worker.stop()


def top(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([COMMAND, "top", *args], capture_output=True, text=True, timeout=60, check=False)


def rows(snapshot: str, section: str) -> dict[str, list[str]]:
    """The rows of one section of the plain snapshot, by their first cell."""
    lines = snapshot.split(f"\n{section}\n", 1)[1].split("\n\n", 1)[0].splitlines()
    return {line.split()[0]: line.split()[1:] for line in lines[1:]}


def test_once_prints_each_plugin_with_its_breaker_the_dlq_delta_and_lag(served: ServedWorker) -> None:
    result = top("--once", "--interval", "1", "--url", served.url)
    print(result.stdout)

    plugins, dlq, delta = (
        rows(result.stdout, "plugins"),
        rows(result.stdout, "dead-letter queue by reason"),
        rows(result.stdout, "Delta rows by table"),
    )
    lag = rows(result.stdout, "consumer lag by partition")
    assert (result.returncode, result.stderr) == (0, "")
    assert {name: (cells[0], cells[2], cells[4], cells[6]) for name, cells in plugins.items()} == {
        "express-router": ("4", "4", "0", "closed"),
        "fussy": ("3", "0", "2", "open"),
        "loss-alerter": ("2", "2", "0", "closed"),
    }
    assert {reason: cells[0] for reason, cells in dlq.items()} == {
        "circuit_open": "1",
        "invalid_json": "1",
        "plugin_error": "2",
        "schema": "0",
    }
    assert {table: cells[0] for table, cells in delta.items()} == {"parcels": "7", "parcels_failed": "2"}
    assert lag[served.names.source][2] == "0"
    assert "0.0/s" in plugins["express-router"]  # two scrapes: rates exist


def test_once_names_an_unreachable_worker_in_one_line_and_exits_1(served: ServedWorker) -> None:
    result = top("--once", "--interval", "0", "--url", served.url, "--url", NOBODY)

    assert (result.returncode, result.stdout, result.stderr.splitlines()) == (
        1,
        "",
        [
            f"Error: cannot scrape {NOBODY}: connection refused (is a worker serving metrics there? "
            "see 'worker --metrics-port')"
        ],
    )


def test_the_live_view_shows_rates_as_messages_flow_and_an_unreachable_worker(served: ServedWorker) -> None:
    with Terminal([COMMAND, "top", "--interval", "1", "--url", served.url, "--url", NOBODY]) as terminal:
        terminal.wait_for(r"express-router")
        served.feed(batch(express=40))
        # The rate is back to 0 a refresh after the burst; its sparkline keeps the peak in view.
        screen = terminal.wait_for(r"express-router\s+[\d.,]+/s ▁*[▂▃▄▅▆▇█]")
        print(screen)
        terminal.send_keys("C-c")
        status, after = terminal.exit_status(), terminal.screen()

    assert "unreachable: connection refused" in screen
    assert (status, "Traceback" in after) == (0, False)
