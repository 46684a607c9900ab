"""The supervisor of ``worker --processes N``: signals forwarded, crashes restarted, a crash loop given up on.

The children here are tiny Python scripts standing in for workers; the real
thing runs on a broker in ``integration/test_worker_processes.py``.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from prometheus_client.exposition import generate_latest

from kafka_pipeline._observability.aggregate import Child, children_registry
from kafka_pipeline._observability.collector import metrics_registry
from kafka_pipeline._observability.server import MetricsServer, Readiness
from kafka_pipeline._observability.stats import WorkerStats
from kafka_pipeline._worker.supervisor import RestartPolicy, Supervisor

QUICK = RestartPolicy(max_crashes=2, window_seconds=60, backoff_seconds=0.01)

# Writes each signal it gets to a file; exits 0 on SIGTERM.
LISTENER = """
import pathlib, signal, sys, time
out = pathlib.Path(sys.argv[1])
def note(sig, frame):
    with out.open("a") as f:
        f.write(signal.Signals(sig).name + "\\n")
    if sig == signal.SIGTERM:
        sys.exit(0)
signal.signal(signal.SIGTERM, note)
signal.signal(signal.SIGHUP, note)
out.write_text("")
while True:
    time.sleep(0.05)
"""


def python(*args: str) -> list[str]:
    return [sys.executable, *args]


async def test_a_child_that_keeps_crashing_is_restarted_then_given_up_on_with_exit_1() -> None:
    supervisor = Supervisor(1, lambda i, port: python("-c", "raise SystemExit(3)"), policy=QUICK)

    status = await asyncio.wait_for(supervisor.run(), 30)

    # Two crashes are tolerated within the window; the third is one too many.
    assert (status, supervisor.exit_codes) == (1, [[3, 3, 3]])


async def test_a_child_that_exits_0_by_itself_is_done_not_restarted() -> None:
    supervisor = Supervisor(2, lambda i, port: python("-c", "pass"), policy=QUICK)

    status = await asyncio.wait_for(supervisor.run(), 30)

    assert (status, supervisor.exit_codes) == (0, [[0], [0]])


async def test_a_crashed_child_is_restarted_with_the_same_index(tmp_path: Path) -> None:
    marker = tmp_path / "crashed-once"
    script = (
        f"import pathlib, sys\np = pathlib.Path({str(marker)!r})\nif not p.exists(): p.touch(); sys.exit(7)"
    )
    supervisor = Supervisor(1, lambda i, port: python("-c", script), policy=QUICK)

    status = await asyncio.wait_for(supervisor.run(), 30)

    assert (status, supervisor.exit_codes, supervisor.restarts) == (0, [[7, 0]], 1)


async def test_sighup_and_sigterm_to_the_supervisor_reach_every_child(tmp_path: Path) -> None:
    outputs = [tmp_path / f"child-{i}.txt" for i in range(2)]
    script = tmp_path / "listener.py"
    script.write_text(LISTENER)
    supervisor = Supervisor(2, lambda i, port: python(str(script), str(outputs[i])), policy=QUICK)
    running = asyncio.create_task(supervisor.run())
    while not all(p.exists() for p in outputs):  # noqa: ASYNC110 - a child's start is seen only in its file
        await asyncio.sleep(0.02)

    os.kill(os.getpid(), signal.SIGHUP)
    await asyncio.sleep(0.3)
    os.kill(os.getpid(), signal.SIGTERM)
    status = await asyncio.wait_for(running, 30)

    assert (status, [p.read_text().split() for p in outputs]) == (0, [["SIGHUP", "SIGTERM"]] * 2)


def serve(stats: WorkerStats) -> MetricsServer:
    """A child's metrics endpoint, started by ``with``."""
    registry = metrics_registry(stats, "widgets", lambda: True)
    return MetricsServer(registry, lambda: Readiness(True), host="127.0.0.1")


class Merged:
    """The supervisor's view of its children's metrics; ``children`` is what it scrapes next."""

    def __init__(self) -> None:
        self.children: Sequence[Child] = []
        self.registry = children_registry(lambda: self.children)

    def scrape(self, *children: Child) -> dict[str, float]:
        self.children = children
        text = generate_latest(self.registry).decode()
        return {
            line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line and not line.startswith("#")
        }


def test_counters_are_summed_and_gauges_kept_per_process_under_the_same_names() -> None:
    first, second = WorkerStats(), WorkerStats()
    first.consumed, second.consumed = 10, 32
    with serve(first) as a, serve(second) as b:
        merged = Merged().scrape(Child(0, 1, a.url), Child(1, 1, b.url))

    assert (
        merged['kafka_pipeline_consumed_total{domain="widgets"}'],
        merged['kafka_pipeline_ready{process="0"}'],
        merged['kafka_pipeline_ready{process="1"}'],
    ) == (42.0, 1.0, 1.0)


def test_a_restarted_childs_earlier_counts_are_kept_so_that_sums_never_go_down() -> None:
    before, after = WorkerStats(), WorkerStats()
    before.consumed, after.consumed = 100, 5
    merged = Merged()
    with serve(before) as old:
        merged.scrape(Child(0, 1, old.url))
    with serve(after) as new:
        sums = merged.scrape(Child(0, 2, new.url))

    assert sums['kafka_pipeline_consumed_total{domain="widgets"}'] == 105.0
