"""Scaling run: ``kafka-pipeline worker --processes 2`` against ``--processes 1``, on a 6-partition topic.

Each run is the real command, as an operator starts it: one process for
``--processes 1``, a supervisor and two worker processes in one group for
``--processes 2``. The parent watches the command's own ``/metrics``
(the supervisor's sums, for two), and once the group has consumed the whole
topic sends SIGTERM (each worker finishes its batch, flushes, commits and
exits 0; the command exits 0). The window runs from the first scrape that
shows a worker ready (partitions assigned) to the first that shows every
result consumed, so start-up and the initial rebalance count against the
pair, as they do in production. Each line also says how busy the machine
was: on 2 cores the workers share them with the embedded broker, which caps
what a second process can add. Outcomes are verified as in the main run.

Run alone with ``python benchmarks/scaling.py [MESSAGES]``.
"""

from __future__ import annotations

import asyncio
import os
import resource
import shutil
import signal
import socket
import statistics
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import dataset
import yaml
from framework import config_data
from spec import RunSpec
from verify import verify

__all__ = ["report"]

PARTITIONS: Final = 6
#: The issue's target: two processes at least this many times one.
TARGET: Final = 1.6
DEADLINE_SECONDS: Final = 300.0
#: How often the command's metrics are read: often enough to time a run of seconds, rarely enough
#: not to slow it.
SCRAPE_SECONDS: Final = 0.1


@dataclass(frozen=True)
class GroupRun:
    """What one run of the command took: its window, and the CPU and peak RSS of its processes."""

    started_at: float
    stopped_at: float
    cpu_seconds: float
    peak_rss_kib: int


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _metrics(url: str) -> tuple[float, float]:
    """(results consumed, workers ready) as the command's /metrics says now; zeros while it is not up."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            text = response.read().decode()
    except OSError:
        return 0.0, 0.0
    consumed = ready = 0.0
    for line in text.splitlines():
        if line.startswith("kafka_pipeline_consumed_total"):
            consumed += float(line.rsplit(" ", 1)[1])
        elif line.startswith("kafka_pipeline_ready"):
            ready += float(line.rsplit(" ", 1)[1])
    return consumed, ready


def _children_usage() -> tuple[float, int]:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss


async def run_group(spec: RunSpec, processes: int, expected: dataset.Expected, workdir: Path) -> GroupRun:
    """Run ``kafka-pipeline worker --processes N`` until the group consumed everything, then SIGTERM it."""
    await dataset.create_topics(
        spec.bootstrap_servers, spec.namespace.all_topics(), dataset.ROUTED_PARTITIONS
    )
    config = workdir / f"{spec.prefix}.yaml"
    config.write_text(yaml.safe_dump(config_data(spec)))
    port = _free_port()
    url = f"http://127.0.0.1:{port}/metrics"
    cpu_before, _ = _children_usage()
    command = [sys.executable, "-m", "kafka_pipeline._cli", "worker", "--domain", "xact"]
    command += ["--config", str(config), "--processes", str(processes), "--metrics-port", str(port)]
    child = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE, env=os.environ.copy()
    )
    started_at = stopped_at = 0.0
    try:
        async with asyncio.timeout(DEADLINE_SECONDS):
            while child.returncode is None:
                consumed, ready = await asyncio.to_thread(_metrics, url)
                now = time.time()
                if not started_at and (ready or consumed):
                    started_at = now
                if consumed >= expected.messages:
                    stopped_at = now
                    break
                await asyncio.sleep(SCRAPE_SECONDS)
    finally:
        if child.returncode is None:
            child.send_signal(signal.SIGTERM)
        assert child.stderr is not None
        err = (await child.stderr.read()).decode()
        status = await child.wait()
    if status != 0 or not stopped_at:
        raise RuntimeError(
            f"worker --processes {processes} exited {status} before the group finished:\n{err[-4000:]}"
        )
    problems = await verify(spec, expected)
    if problems:
        raise RuntimeError(
            f"worker --processes {processes} got the outcome wrong:\n  " + "\n  ".join(problems)
        )
    cpu_after, peak_rss = _children_usage()
    return GroupRun(started_at, stopped_at, cpu_after - cpu_before, peak_rss)


def _machine_jiffies() -> tuple[int, int]:
    """(busy, total) CPU time of the whole machine, every core, in clock ticks."""
    ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = ticks[3] + ticks[4]  # idle and iowait
    return sum(ticks) - idle, sum(ticks)


async def _sample_machine(samples: list[tuple[float, int, int]]) -> None:
    while True:
        samples.append((time.time(), *_machine_jiffies()))
        await asyncio.sleep(0.1)


def _busy_share(samples: list[tuple[float, int, int]], start: float, end: float) -> float:
    """How busy the machine's cores were between ``start`` and ``end``, 0 to 1."""
    inside = [s for s in samples if start <= s[0] <= end] or samples[-1:]
    first, last = inside[0], inside[-1]
    total = last[2] - first[2]
    return (last[1] - first[1]) / total if total else 0.0


async def report(messages: int, seed: int, workdir: Path, repetitions: int = 3) -> str:
    rates: dict[int, list[float]] = {1: [], 2: []}
    lines = [f"scaling: {messages} results on {PARTITIONS} partitions, worker --processes 1 vs 2"]
    samples: list[tuple[float, int, int]] = []
    sampler = asyncio.create_task(_sample_machine(samples))
    with dataset.broker() as broker:
        bootstrap = broker.bootstrap_servers
        for rep in range(repetitions):
            for processes in (1, 2):
                tag = f"scale-r{rep}-p{processes}"
                source = f"bench-{tag}.{dataset.SOURCE}"
                expected = await dataset.produce(bootstrap, source, messages, seed + rep, PARTITIONS)
                spec = RunSpec(
                    bootstrap_servers=bootstrap,
                    source_topic=source,
                    messages=0,
                    group_id=f"bench-{tag}",
                    prefix=f"bench-{tag}",
                    delta_root=str(workdir / tag),
                    partitions=PARTITIONS,
                )
                broker_cpu = broker.cpu_seconds()
                run = await run_group(spec, processes, expected, workdir)
                broker_cpu = broker.cpu_seconds() - broker_cpu
                shutil.rmtree(spec.delta_root, ignore_errors=True)
                rate = messages / (run.stopped_at - run.started_at)
                rates[processes].append(rate)
                busy = _busy_share(samples, run.started_at, run.stopped_at)
                lines.append(
                    f"  rep {rep + 1}: --processes {processes} {rate:>9,.0f}/s  processes "
                    f"{run.cpu_seconds / messages * 1e6:.1f} (start-up included) + broker "
                    f"{broker_cpu / messages * 1e6:.1f} µs CPU/result  machine {busy:.0%} busy  "
                    f"peak RSS {run.peak_rss_kib / 1024:.0f} MiB"
                )
    sampler.cancel()
    ratio = statistics.median(b / a for a, b in zip(rates[1], rates[2], strict=True))
    verdict = "meets" if ratio >= TARGET else "misses"
    lines.append(f"scaling_2_vs_1={ratio:.2f} ({verdict} the target of {TARGET}x)")
    return "\n".join(lines)


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory(prefix="kafka-pipeline-bench-") as tmp:
        count = int(sys.argv[1]) if len(sys.argv) > 1 else 400_000
        repetitions = int(sys.argv[2]) if len(sys.argv) > 2 else 3
        print(asyncio.run(report(count, 1, Path(tmp), repetitions)))
