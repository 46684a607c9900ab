"""Scaling run: 2 worker processes against 1, same group, on a 6-partition topic.

Each worker is the real framework worker in a process of its own. The
parent waits until the workers have consumed the whole topic, then sends
SIGTERM (each worker finishes its batch, flushes, commits and exits 0). The
window runs from the first worker's partition assignment to the last worker's last flush, so start-up and the
initial rebalance count against the pair, as they do in production.
Each line also says how busy the machine was: on 2 cores the workers share
them with the embedded broker, which caps what a second process can add.
Outcomes are verified as in the main run.

Run alone with ``python benchmarks/scaling.py [MESSAGES]``.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import statistics
import sys
import time
from pathlib import Path
from typing import Final

import dataset
from spec import Figures, RunSpec
from verify import verify

__all__ = ["report"]

HERE: Final = Path(__file__).resolve().parent
PARTITIONS: Final = 6
#: The issue's target: two processes at least this many times one.
TARGET: Final = 1.6
DEADLINE_SECONDS: Final = 300.0


async def run_group(spec: RunSpec, processes: int, expected: dataset.Expected) -> list[Figures]:
    """Run ``processes`` workers until the group consumed everything; returns each one's figures.

    Each worker prints ``consumed N`` as it goes; once the counts add up to the
    data set, every worker gets SIGTERM, finishes its batch, flushes and
    commits, and prints its figures; ``verify`` then checks the commits.
    """
    await dataset.create_topics(
        spec.bootstrap_servers, spec.namespace.all_topics(), dataset.ROUTED_PARTITIONS
    )
    children = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            str(HERE / "measure.py"),
            "framework",
            spec.to_json(),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(processes)
    ]
    consumed = [0] * processes
    last_lines = [""] * processes
    done = asyncio.Event()

    async def follow(index: int, child: asyncio.subprocess.Process) -> None:
        assert child.stdout is not None
        async for raw in child.stdout:
            line = raw.decode().strip()
            last_lines[index] = line
            if line.startswith("consumed "):
                consumed[index] = int(line.split()[1])
                if sum(consumed) >= expected.messages:
                    done.set()

    followers = [asyncio.create_task(follow(i, c)) for i, c in enumerate(children)]
    try:
        async with asyncio.timeout(DEADLINE_SECONDS):
            await asyncio.wait(
                [asyncio.create_task(done.wait()), *followers], return_when=asyncio.FIRST_COMPLETED
            )
    finally:
        for child in children:
            if child.returncode is None:
                child.send_signal(signal.SIGTERM)
        await asyncio.gather(*followers)
    figures = []
    for child, line in zip(children, last_lines, strict=True):
        assert child.stderr is not None
        err = (await child.stderr.read()).decode()
        if await child.wait() != 0 or not done.is_set():
            raise RuntimeError(
                f"a worker exited {child.returncode} before the group finished:\n{err[-4000:]}"
            )
        figures.append(Figures.from_json(line))
    problems = await verify(spec, expected)
    if problems:
        raise RuntimeError(f"{processes} workers got the outcome wrong:\n  " + "\n  ".join(problems))
    return figures


def _rate(figures: list[Figures], messages: int) -> float:
    window = max(f.stopped_at for f in figures) - min(f.started_at for f in figures)
    return messages / window


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
    lines = [f"scaling: {messages} results on {PARTITIONS} partitions, 1 vs 2 worker processes"]
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
                figures = await run_group(spec, processes, expected)
                broker_cpu = broker.cpu_seconds() - broker_cpu
                shutil.rmtree(spec.delta_root, ignore_errors=True)
                rate = _rate(figures, messages)
                rates[processes].append(rate)
                cpu = sum(f.cpu_seconds for f in figures) / messages * 1e6
                rss = max(f.peak_rss_kib for f in figures) / 1024
                busy = _busy_share(
                    samples, min(f.started_at for f in figures), max(f.stopped_at for f in figures)
                )
                lines.append(
                    f"  rep {rep + 1}: {processes} process(es) {rate:>9,.0f}/s  workers "
                    f"{cpu:.1f} + broker {broker_cpu / messages * 1e6:.1f} µs CPU/result  "
                    f"machine {busy:.0%} busy  VmHWM {rss:.0f} MiB"
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
        print(asyncio.run(report(count, 1, Path(tmp))))
