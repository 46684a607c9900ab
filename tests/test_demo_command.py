"""``kafka-pipeline demo --messages 200 --json`` with every real package installed, as the README runs it.

The demo starts and stops its own embedded broker, so its topics are gone
when it exits; that its counts equal what the topics held is core's
integration test (``core/tests/integration/test_demo.py``). Here: the real
domains and plugins all take part, the Delta tables hold what the summary
says, and the broker is stopped.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from deltalake import DeltaTable

pytestmark = pytest.mark.integration

MESSAGES = 200
PLUGINS = {
    "xact": {"esx-processor", "failure-alerter", "status-subtype-router", "generic-alerter"},
    "claimx": {"media-processor", "project-notifier", "generic-alerter"},
}
#: The routed topics of the design's plugins, at their default configuration.
ROUTED_TOPICS = {
    "xact": {
        "xact.esx.processing",
        "xact.alerts.failures",
        "xact.estimates.received",
        "xact.documents.received",
        "alerts.xact",
    },
    "claimx": {"claimx.media.processing", "claimx.projects.notifications", "alerts.claimx"},
}


@dataclass
class Run:
    returncode: int
    summary: dict[str, Any]
    stderr: str
    workdir: Path


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    workdir = tmp_path_factory.mktemp("demo")
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAFKA_PIPELINE_")}
    # The console script next to this interpreter: the entry point a user's shell finds.
    command = Path(sys.executable).with_name("kafka-pipeline")
    result = subprocess.run(
        [str(command), "demo", "--messages", str(MESSAGES), "--json"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    summary = json.loads(result.stdout) if result.stdout.strip() else {}
    return Run(result.returncode, summary, result.stderr, workdir)


def test_the_demo_drains_every_real_domain_and_exits_0(run: Run) -> None:
    domains = run.summary.get("domains", {})

    assert run.returncode == 0, run.stderr
    assert {name: (d["consumed"], d["drained"]) for name, d in domains.items() if name in PLUGINS} == {
        "xact": (MESSAGES, True),
        "claimx": (MESSAGES, True),
    }


@pytest.mark.parametrize("domain", sorted(PLUGINS))
def test_every_installed_plugin_of_a_domain_takes_part(run: Run, domain: str) -> None:
    assert set(run.summary["domains"][domain]["plugins"]) == PLUGINS[domain]


@pytest.mark.parametrize("domain", sorted(PLUGINS))
def test_the_plugins_send_to_the_topics_the_design_names_and_no_other(run: Run, domain: str) -> None:
    summary = run.summary["domains"][domain]

    assert set(summary["routed_topics"]) == ROUTED_TOPICS[domain]
    assert sum(summary["routed_topics"].values()) == sum(p["sent"] for p in summary["plugins"].values())


@pytest.mark.parametrize("domain", sorted(PLUGINS))
def test_each_delta_table_holds_the_rows_the_summary_counts(run: Run, domain: str) -> None:
    tables = run.summary["domains"][domain]["delta"]

    assert {name: DeltaTable(t["path"]).to_pyarrow_dataset().count_rows() for name, t in tables.items()} == {
        name: t["rows"] for name, t in tables.items()
    }


def test_the_delta_tables_go_to_demo_output_in_the_working_directory(run: Run) -> None:
    assert Path(run.summary["delta_root"]) == run.workdir / "demo-output" / "delta"


def test_the_broker_is_stopped_when_the_demo_exits(run: Run) -> None:
    host, _, port = run.summary["broker"].rpartition(":")

    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((host, int(port)), timeout=5).close()
