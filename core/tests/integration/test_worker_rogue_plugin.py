"""Whatever a plugin raises is that plugin's failure for that message, never the worker's end.

SystemExit, KeyboardInterrupt and CancelledError raised by a hook, or a
``send_to_topic`` with a header name that is not a str, once made a worker
process exit (SystemExit(3): exit 3, no log line) or crash, restart, and crash
again on the same message. Here each one is parked in the DLQ for the plugin
(``plugin_error``), logged, and the worker drains the topic and exits 0.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pytest

from integration.kit import (
    Record,
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
    read_topic,
    write_config,
)

pytestmark = pytest.mark.integration

#: key (trace id) -> the tag that makes ``rogue`` misbehave, and what the failure is logged as.
ROGUE = {
    "exit": ("rogue:exit", "SystemExit: 3"),
    "interrupt": ("rogue:interrupt", "KeyboardInterrupt"),
    "cancel": ("rogue:cancel", "CancelledError"),
    "late-exit": ("rogue:late-exit", "SystemExit: 4"),
    "bad-header": ("rogue:bad-header", "TypeError: send_to_topic(headers=...): header name 1 must be a str"),
    "decision-exit": ("rogue-decision:exit", "SystemExit: 3"),
    "decision-interrupt": ("rogue-decision:interrupt", "KeyboardInterrupt"),
}
FINE = [f"ok-{i}" for i in range(20)]
SENT = [(k.encode(), encode(parcel(k, tags=["rogue:forward"]))) for k in FINE[:10]]
SENT += [(k.encode(), encode(parcel(k, tags=[tag]))) for k, (tag, _) in ROGUE.items()]
SENT += [(k.encode(), encode(parcel(k, tags=["rogue:forward"]))) for k in FINE[10:]]


@dataclass
class Run:
    status: int
    output: str
    dlq: list[Record]
    forwarded: list[Record]
    parcels: pa.Table
    committed: dict[int, int | None]
    ends: dict[int, int]


@pytest.fixture(scope="module")
def run(bootstrap: str, parcels_site: Path, tmp_path_factory: pytest.TempPathFactory) -> Run:
    tmp_path = tmp_path_factory.mktemp("rogue")
    names = make_names(tmp_path, "rogue-plugin")
    asyncio.run(create_topics(bootstrap, names.source, names.dlq, partitions=1))
    asyncio.run(create_topics(bootstrap, names.topic("rogue")))
    asyncio.run(produce(bootstrap, names.source, SENT))
    plugins = {
        "rogue": {"config": {"topic": names.topic("rogue")}, "breaker_failure_threshold": 100},
    }
    data = config_data(bootstrap, names, plugins, resilience={"retry_backoff_seconds": 0.01})
    config = write_config(tmp_path / "worker.yaml", data)
    args = ["--domain", "parcels", "--config", str(config), "--exit-when-idle", "2"]
    worker = WorkerProcess(args, parcels_site, tmp_path / "w.log")
    status = worker.run_to_end()
    return Run(
        status=status,
        output=worker.output(),
        dlq=asyncio.run(read_topic(bootstrap, names.dlq)),
        forwarded=asyncio.run(read_topic(bootstrap, names.topic("rogue"))),
        parcels=read_table(names.table("parcels")),
        committed=asyncio.run(committed_offsets(bootstrap, names.group, names.source, 1)),
        ends=asyncio.run(end_offsets(bootstrap, names.source)),
    )


def test_the_worker_drains_the_topic_and_exits_0(run: Run) -> None:
    assert run.status == 0, run.output[-3000:]


def test_each_misbehaving_message_is_parked_for_the_plugin_as_plugin_error(run: Run) -> None:
    parked = {
        r.key.decode(): (r.headers["x-dlq-reason"], r.headers["x-dlq-plugin"]) for r in run.dlq if r.key
    }
    assert parked == dict.fromkeys(ROGUE, ("plugin_error", "rogue"))


def test_each_failure_is_logged_naming_the_plugin_and_what_it_raised(run: Run) -> None:
    logged = [line for line in run.output.splitlines() if "plugin rogue failed in" in line]
    logged = [line for line in logged if "message parked in DLQ" in line]
    missing = [key for key, (_, error) in ROGUE.items() if not any(error in line for line in logged)]
    assert missing == []


def test_the_other_messages_are_forwarded(run: Run) -> None:
    assert sorted(r.key.decode() for r in run.forwarded if r.key) == sorted(FINE)


def test_every_result_is_stored_and_committed(run: Run) -> None:
    assert (len(run.parcels), run.committed) == (len(SENT), run.ends)
