"""``kafka-pipeline demo`` as a user runs it: on their own file, and keeping its broker for other commands.

Each test runs the command in a child process, which starts (and stops) an
embedded broker of its own, against the ``widgets`` test domain and its two
plugins installed in a site directory of the test's.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from fake_plugins import PERMANENT_FAILURES, RED_ROUTER, Site
from widget_domain import install_widgets

from kafka_pipeline._discovery import ENV_LOAD_PLUGINS

pytestmark = pytest.mark.integration

RED = '{"trace_id": "w-1", "status": "completed", "colour": "red"}'
LOST = '{"trace_id": "w-2", "status": "failed_permanent", "colour": "green"}'
GREEN = '{"trace_id": "w-3", "status": "completed", "colour": "green"}'
NOT_JSON = '{"trace_id": "w-4", "status": '
NO_COLOUR = '{"trace_id": "w-5", "status": "completed"}'
MINE = [RED, LOST, NOT_JSON, GREEN, NO_COLOUR]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = Site(tmp_path_factory.mktemp("demo-command-site"))
    install_widgets(site.root)
    site.install_plugin("red-router", RED_ROUTER, "RedRouter")
    site.install_plugin("permanent-failures", PERMANENT_FAILURES, "PermanentFailures")
    return site.root


def environment(site: Path) -> dict[str, str]:
    """The test site on the path, and only its plugins (the real ones may be installed too)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAFKA_PIPELINE_")}
    return {
        **env,
        "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]),
        ENV_LOAD_PLUGINS: "red-router,permanent-failures",
    }


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "kafka_pipeline._cli", *args]


def run(site: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command(*args),
        cwd=cwd,
        env=environment(site),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def jsonl(path: Path, lines: Sequence[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


# -- demo --input -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def summary_of_mine(site: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    work = tmp_path_factory.mktemp("demo-input")
    mine = jsonl(work / "mine.jsonl", MINE)
    result = run(site, work, "demo", "--input", str(mine), "--domain", "widgets", "--json")
    assert result.returncode == 0, result.stderr
    summary: dict[str, Any] = json.loads(result.stdout)
    return summary


def test_the_demo_produces_each_line_of_the_file_and_counts_it_by_what_it_is(
    summary_of_mine: dict[str, Any],
) -> None:
    widgets = summary_of_mine["domains"]["widgets"]

    assert widgets["produced"] == {"total": 5, "valid": 3, "not_json": 1, "schema": 1}
    assert (widgets["consumed"], widgets["drained"]) == (5, True)


def test_the_invalid_lines_of_the_file_go_to_the_dlq_as_usual(summary_of_mine: dict[str, Any]) -> None:
    assert summary_of_mine["domains"]["widgets"]["dlq"] == {
        "records": 2,
        "by_reason": {"invalid_json": 1, "schema": 1},
    }


def test_the_valid_lines_are_routed_and_stored_as_their_rules_say(summary_of_mine: dict[str, Any]) -> None:
    widgets = summary_of_mine["domains"]["widgets"]

    assert widgets["routed_topics"] == {"widgets.red": 1, "alerts.widgets": 1}
    assert {table: d["rows"] for table, d in widgets["delta"].items()} == {"widgets": 2, "widgets_failed": 1}


# -- demo --keep-broker -------------------------------------------------------------------


@dataclass
class Kept:
    """A ``demo --keep-broker`` child process and what it has printed so far."""

    proc: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)
    ready: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)

    def read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            if line.startswith("Try, in another terminal:"):
                self.ready.set()
        self.ready.set()  # it ended: whoever waits must look
        self.done.set()

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def config_path(self, cwd: Path) -> Path:
        line = next(line for line in self.lines if line.startswith("Its configuration, written to "))
        return cwd / line.removeprefix("Its configuration, written to ").rstrip(":")


@pytest.fixture
def kept(site: Path, tmp_path: Path) -> Iterator[Kept]:
    proc = subprocess.Popen(
        command("demo", "--keep-broker", "--domain", "widgets", "--messages", "20"),
        cwd=tmp_path,
        env=environment(site),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    demo = Kept(proc)
    reader = threading.Thread(target=demo.read, daemon=True)
    reader.start()
    try:
        assert demo.ready.wait(120), "demo --keep-broker printed no configuration within 120s"
        assert proc.poll() is None, f"demo --keep-broker ended early:\n{demo.output}"
        yield demo
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        reader.join(10)
        if proc.stdout is not None:
            proc.stdout.close()


def listening(address: str) -> bool:
    host, _, port = address.rpartition(":")
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex((host, int(port))) == 0


def test_produce_and_worker_work_against_the_kept_broker_with_the_printed_config(
    kept: Kept, site: Path, tmp_path: Path
) -> None:
    config = kept.config_path(tmp_path)
    mine = jsonl(tmp_path / "mine.jsonl", MINE)

    produced = run(site, tmp_path, "produce", "--config", str(config), "--domain", "widgets", str(mine))
    worker = run(
        site, tmp_path, "worker", "--config", str(config), "--domain", "widgets", "--exit-when-idle", "3"
    )

    assert produced.returncode == 0, produced.stderr
    assert worker.returncode == 0, worker.stderr
    stopped = next(line for line in worker.stderr.splitlines() if line.startswith("worker stopped: "))
    # Only the file's results: the printed group is the demo worker's, which consumed the samples.
    assert json.loads(stopped.removeprefix("worker stopped: "))["consumed"] == len(MINE)


def test_the_printed_config_names_the_running_broker_without_idempotence(kept: Kept, tmp_path: Path) -> None:
    config = yaml.safe_load(kept.config_path(tmp_path).read_text())

    assert config["kafka"]["enable_idempotence"] is False
    assert listening(config["kafka"]["bootstrap_servers"])


def test_ctrl_c_stops_the_kept_broker_and_exits_0(kept: Kept, tmp_path: Path) -> None:
    address = yaml.safe_load(kept.config_path(tmp_path).read_text())["kafka"]["bootstrap_servers"]

    kept.proc.send_signal(signal.SIGINT)
    status = kept.proc.wait(30)
    kept.done.wait(10)

    assert status == 0, kept.output
    assert "The embedded broker is stopped" in kept.output
    assert not listening(address)
