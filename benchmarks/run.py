"""``nox -s bench``: the framework worker against a hand-written pipeline and the naive one.

Starts the embedded broker (or uses ``KAFKA_BOOTSTRAP_SERVERS``), then per
repetition pre-produces the data set and measures, each in a child process of
its own: (a) the framework worker, (b) the hand-written baseline, alternating
A/B so drift on a shared machine hits both alike, and (c) the naive
``send_and_wait`` pipeline on a subset (it is slow; its per-result figures
are what is compared). Every run's outcome is verified before it counts.
Prints a table, the registry dispatch micro-benchmark, the scaling run, and
last a line ``ratio_vs_baseline=... ratio_vs_naive=... peak_rss_mib=...``.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import dataset
from measure import PROFILE_ENV
from spec import Figures, RunSpec
from verify import verify

__all__ = ["main"]

HERE: Final = Path(__file__).resolve().parent
LABELS: Final = {
    "framework": "(a) framework worker",
    "baseline": "(b) hand-written baseline",
    "naive": "(c) naive send_and_wait",
}


class BenchmarkError(RuntimeError):
    """A variant failed or produced the wrong outcome; its figures would be meaningless."""


@dataclass
class Results:
    runs: dict[str, list[Figures]] = field(default_factory=dict)

    def add(self, figures: Figures) -> None:
        self.runs.setdefault(figures.variant, []).append(figures)

    def rates(self, variant: str) -> list[float]:
        return [f.rate for f in self.runs.get(variant, [])]


def measure(variant: str, spec: RunSpec, profile_to: Path | None = None) -> Figures:
    """Run ``variant`` in a child process; returns what it measured."""
    env = dict(os.environ)
    if profile_to is not None:
        env[PROFILE_ENV] = str(profile_to)
    proc = subprocess.run(
        [sys.executable, str(HERE / "measure.py"), variant, spec.to_json()],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    if proc.returncode != 0:
        raise BenchmarkError(f"{variant} exited {proc.returncode}:\n{proc.stderr[-4000:]}")
    return Figures.from_json(proc.stdout.strip().splitlines()[-1])


async def measured_run(
    variant: str,
    *,
    bootstrap: str,
    source: str,
    partitions: int,
    expected: dataset.Expected,
    tag: str,
    workdir: Path,
    profile_dir: Path | None = None,
) -> Figures:
    spec = RunSpec(
        bootstrap_servers=bootstrap,
        source_topic=source,
        messages=expected.messages,
        group_id=f"bench-{tag}",
        prefix=f"bench-{tag}",
        delta_root=str(workdir / tag),
        partitions=partitions,
    )
    await dataset.create_topics(bootstrap, spec.namespace.all_topics(), dataset.ROUTED_PARTITIONS)
    figures = measure(variant, spec, profile_dir / f"{tag}.pstats" if profile_dir else None)
    problems = await verify(spec, expected)
    shutil.rmtree(spec.delta_root, ignore_errors=True)
    if problems:
        raise BenchmarkError(f"{variant} ({tag}) got the outcome wrong:\n  " + "\n  ".join(problems))
    return figures


async def repetition(rep: int, args: argparse.Namespace, results: Results, workdir: Path) -> None:
    variants = [v for v in ("framework", "baseline") if v in args.variants]
    with dataset.broker() as broker:
        bootstrap = broker.bootstrap_servers
        source = f"bench-r{rep}.{dataset.SOURCE}"
        expected = await dataset.produce(bootstrap, source, args.messages, args.seed + rep, args.partitions)
        for variant in variants:
            figures = await measured_run(
                variant,
                bootstrap=bootstrap,
                source=source,
                partitions=args.partitions,
                expected=expected,
                tag=f"r{rep}-{variant}",
                workdir=workdir,
                profile_dir=args.profile,
            )
            results.add(figures)
            print(f"  rep {rep + 1}: {fmt_run(results.runs[variant][-1])}", flush=True)
        if "naive" in args.variants:
            subset = min(args.naive_messages, args.messages)
            naive_source = f"bench-r{rep}-naive.{dataset.SOURCE}"
            naive_expected = await dataset.produce(
                bootstrap, naive_source, subset, args.seed + rep, args.partitions
            )
            figures = await measured_run(
                "naive",
                bootstrap=bootstrap,
                source=naive_source,
                partitions=args.partitions,
                expected=naive_expected,
                tag=f"r{rep}-naive",
                workdir=workdir,
            )
            results.add(figures)
            print(f"  rep {rep + 1}: {fmt_run(results.runs['naive'][-1])}", flush=True)


async def rss_run(args: argparse.Namespace, results: Results, workdir: Path) -> Figures:
    with dataset.broker() as broker:
        bootstrap = broker.bootstrap_servers
        source = f"bench-rss.{dataset.SOURCE}"
        expected = await dataset.produce(bootstrap, source, args.rss_messages, args.seed, args.partitions)
        return await measured_run(
            "framework",
            bootstrap=bootstrap,
            source=source,
            partitions=args.partitions,
            expected=expected,
            tag="rss-framework",
            workdir=workdir,
        )


def fmt_run(f: Figures) -> str:
    return (
        f"{f.variant:<9} {f.messages:>8} results {f.rate:>9,.0f}/s "
        f"{f.cpu_us_per_result:>6.1f} µs CPU/result  VmHWM {f.peak_rss_kib / 1024:.0f} MiB "
        f"(anon peak {f.peak_anon_kib / 1024:.0f}, files {f.rss_file_kib / 1024:.0f})"
    )


def spread(values: list[float], fmt: str) -> str:
    med = statistics.median(values)
    return f"{format(med, fmt)} ({format(min(values), fmt)}-{format(max(values), fmt)})"


def table(results: Results, naive_subset: bool) -> str:
    lines = [
        f"{'variant':<28}{'n':>4}  {'results/s median (min-max)':<30}"
        f"{'CPU µs/result':<24}{'VmHWM MiB':>10}{'anon peak':>11}",
    ]
    for variant, label in LABELS.items():
        runs = results.runs.get(variant)
        if not runs:
            continue
        note = " *" if variant == "naive" and naive_subset else ""
        lines.append(
            f"{label + note:<28}{len(runs):>4}  {spread([f.rate for f in runs], ',.0f'):<30}"
            f"{spread([f.cpu_us_per_result for f in runs], '.1f'):<24}"
            f"{max(f.peak_rss_kib for f in runs) / 1024:>10.0f}"
            f"{max(f.peak_anon_kib for f in runs) / 1024:>11.0f}"
        )
    if naive_subset:
        lines.append("  * measured on a subset of each data set; its per-result figures are compared")
    lines.append(
        "  VmHWM counts mapped library code too (RssFile: far more in a fresh venv); anon peak is\n"
        "  the memory the process allocated, sampled every 20 ms"
    )
    return "\n".join(lines)


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="benchmarks/run.py", description=__doc__.splitlines()[0])
    p.add_argument("--messages", type=int, default=200_000, help="results per data set (default 200000)")
    p.add_argument("--repetitions", type=int, default=3, help="A/B pairs to measure (default 3)")
    p.add_argument("--naive-messages", type=int, default=10_000, help="subset for (c) (default 10000)")
    p.add_argument(
        "--rss-messages",
        type=int,
        default=1_000_000,
        help="(a) once more on this many (default 1000000; 0: skip)",
    )
    p.add_argument("--partitions", type=int, default=3, help="source topic partitions (default 3)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--profile", type=Path, help="write a cProfile of each run's measured window here")
    p.add_argument(
        "--variants", default="framework,baseline,naive", type=lambda s: s.split(","), help="which to run"
    )
    p.add_argument("--no-dispatch", action="store_true", help="skip the registry dispatch micro-benchmark")
    p.add_argument("--no-scaling", action="store_true", help="skip the 2-process scaling run")
    p.add_argument(
        "--scaling-messages", type=int, default=400_000, help="results for the scaling run (default 400000)"
    )
    return p.parse_args(argv)


async def amain(args: argparse.Namespace) -> int:
    results = Results()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="kafka-pipeline-bench-") as tmp:
        workdir = Path(tmp)
        print(
            f"benchmark: {args.messages} XACT results x {args.repetitions} repetitions, "
            f"{args.partitions} partitions",
            flush=True,
        )
        for rep in range(args.repetitions):
            await repetition(rep, args, results, workdir)
        if args.rss_messages:
            print(f"RSS run: the framework worker on {args.rss_messages} results", flush=True)
            rss = await rss_run(args, results, workdir)
            print(f"  {fmt_run(rss)}", flush=True)
        print()
        print(table(results, naive_subset="naive" in args.variants and args.naive_messages < args.messages))
        if args.profile:
            for variant in ("framework", "baseline"):
                print(f"\nprofile of {variant}, first repetition (cProfile, by own time):")
                print(profile_summary(args.profile / f"r0-{variant}.pstats"))
        if not args.no_dispatch:
            # In a process of its own: nothing of this one's heap or event loop in the way.
            micro = await asyncio.to_thread(
                subprocess.run,
                [sys.executable, str(HERE / "dispatch.py")],
                capture_output=True,
                text=True,
                check=True,
            )
            print()
            print(micro.stdout.rstrip())
        if not args.no_scaling and "framework" in args.variants:
            import scaling

            print()
            print(await scaling.report(args.scaling_messages, args.seed, workdir))
        print(f"\n(took {time.perf_counter() - started:.0f}s)")
        print(ratio_line(results, rss if args.rss_messages else None))
    return 0


def profile_summary(path: Path, top: int = 15) -> str:
    if not path.exists():
        return "  (none)"
    out = io.StringIO()
    stats = pstats.Stats(str(path), stream=out)
    stats.strip_dirs().sort_stats("tottime").print_stats(top)
    lines = out.getvalue().splitlines()
    start = next((i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls")), 0)
    return "\n".join(lines[start:]).rstrip()


def ratio_line(results: Results, rss: Figures | None) -> str:
    a, b, c = results.rates("framework"), results.rates("baseline"), results.rates("naive")
    # Paired by repetition: each A/B pair ran back to back on the same data.
    vs_baseline = statistics.median(x / y for x, y in zip(a, b, strict=False)) if a and b else float("nan")
    vs_naive = statistics.median(a) / statistics.median(c) if a and c else float("nan")
    peaks = [f.peak_rss_kib for f in results.runs.get("framework", [])] + ([rss.peak_rss_kib] if rss else [])
    peak = max(peaks) / 1024 if peaks else float("nan")
    return f"ratio_vs_baseline={vs_baseline:.2f} ratio_vs_naive={vs_naive:.2f} peak_rss_mib={peak:.0f}"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        return asyncio.run(amain(args))
    except BenchmarkError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
