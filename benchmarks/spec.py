"""What one measured run is given, and how it measures itself.

Each variant runs in a child process of its own so that its peak RSS (VmHWM)
and CPU time (getrusage, every thread of the process) are its own.
"""

from __future__ import annotations

import cProfile
import json
import resource
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

from dataset import Namespace

__all__ = ["BATCH_MAX_RECORDS", "AnonPeak", "Figures", "RunSpec", "Stopwatch", "peak_rss_kib", "rss_file_kib"]

#: Records per poll, the same for every variant (and the worker's default).
BATCH_MAX_RECORDS: Final = 5_000


@dataclass(frozen=True)
class RunSpec:
    """One variant run: read ``messages`` results from ``source_topic``, route into ``prefix``'d topics.

    ``messages=0`` (the scaling run) means: run until SIGTERM, as one of several workers.
    """

    bootstrap_servers: str
    source_topic: str
    messages: int
    group_id: str
    prefix: str
    delta_root: str
    partitions: int
    batch_max_records: int = BATCH_MAX_RECORDS

    @property
    def namespace(self) -> Namespace:
        return Namespace(self.prefix)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> RunSpec:
        return cls(**json.loads(text))


@dataclass(frozen=True)
class Figures:
    """What a child process reports about its run."""

    variant: str
    messages: int
    seconds: float
    cpu_seconds: float
    peak_rss_kib: int
    setup_seconds: float
    #: Wall-clock start and end of the window, comparable across processes.
    started_at: float = 0.0
    stopped_at: float = 0.0
    #: RssFile at the end: how much of the peak is mapped library code.
    rss_file_kib: int = 0
    #: The highest anonymous resident memory seen (sampled).
    peak_anon_kib: int = 0

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds else 0.0

    @property
    def cpu_us_per_result(self) -> float:
        return self.cpu_seconds / self.messages * 1e6 if self.messages else 0.0

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Figures:
        data: dict[str, Any] = json.loads(text)
        return cls(**data)


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1])
    return 0


def rss_file_kib() -> int:
    """The file-backed part of the resident set now (RssFile): library code that is resident
    because the page cache had it (a freshly installed venv maps far more), not allocations."""
    return _status_kib("RssFile:")


class AnonPeak:
    """The highest RssAnon seen, sampled every 20 ms: memory the process itself allocated.

    VmHWM also counts mapped library code, whose resident part depends on the
    page cache; this is the part that buffering and backpressure bound.
    """

    def __init__(self) -> None:
        self.kib = _status_kib("RssAnon:")
        threading.Thread(target=self._sample, name="anon-peak", daemon=True).start()

    def _sample(self) -> None:
        while True:
            self.kib = max(self.kib, _status_kib("RssAnon:"))
            time.sleep(0.02)


def peak_rss_kib() -> int:
    """This process's peak resident set size (VmHWM), in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # not Linux: best effort


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Stopwatch:
    """Wall and CPU time of the measured window: from the first poll to the last commit.

    Set-up (imports, plugin discovery, connecting) is outside the window and
    reported apart; it is paid once per process, not per result.
    """

    def __init__(self, profile_to: str | None = None) -> None:
        self._born = time.perf_counter()
        #: Where to write a cProfile of the measured window (``--profile``), if anywhere.
        self._profile_to = profile_to
        self._profiler = cProfile.Profile() if profile_to else None
        self._anon = AnonPeak()
        self._wall0 = self._cpu0 = 0.0
        self.seconds = self.cpu_seconds = self.setup_seconds = 0.0
        #: Wall-clock time of start/stop, comparable across processes (scaling run).
        self.started_at = self.stopped_at = 0.0

    def start(self) -> None:
        self.started_at = time.time()
        self._wall0 = time.perf_counter()
        self._cpu0 = _cpu()
        self.setup_seconds = self._wall0 - self._born
        if self._profiler is not None:
            self._profiler.enable()

    def stop(self) -> None:
        if self._profiler is not None and self._profile_to:
            self._profiler.disable()
            self._profiler.dump_stats(self._profile_to)
        self.stopped_at = time.time()
        self.seconds = time.perf_counter() - self._wall0
        self.cpu_seconds = _cpu() - self._cpu0

    def figures(self, variant: str, messages: int) -> Figures:
        return Figures(
            variant,
            messages,
            self.seconds,
            self.cpu_seconds,
            peak_rss_kib(),
            self.setup_seconds,
            self.started_at,
            self.stopped_at,
            rss_file_kib(),
            max(self._anon.kib, _status_kib("RssAnon:")),
        )
