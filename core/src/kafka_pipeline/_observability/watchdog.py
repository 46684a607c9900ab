"""``LoopWatchdog``: notices when something blocks the worker's event loop, and who.

A plugin that calls ``time.sleep`` (or any blocking I/O, or a long
computation) in a hook stops the whole worker: no timeout can interrupt it,
Kafka heartbeats and acknowledgements wait, and the call still counts as a
success. The event loop reschedules a heartbeat every ``interval`` seconds; a
thread of its own checks how late it is. While the loop is stalled the
thread looks at the loop thread's stack (nothing is recorded on the worker's
path for it) for the plugin being called: the outermost frame whose ``self``
is a :class:`~kafka_pipeline.RoutingPlugin`, and the line the loop is stuck on.

A stall of ``warn_seconds`` or more is logged (naming the plugin and the
duration) and counted; one of ``unhealthy_seconds`` or more makes
:meth:`LoopWatchdog.health` (``/healthz``) unhealthy for good, so that an
orchestrator restarts the worker.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Final

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from kafka_pipeline._observability.server import Readiness
from kafka_pipeline._observability.timing import STALL_SECONDS_BUCKETS, Timings
from kafka_pipeline._plugin import RoutingPlugin

log = logging.getLogger("kafka_pipeline.worker.watchdog")

#: How often the loop beats and the thread looks.
INTERVAL: Final = 0.1


@dataclass(frozen=True, slots=True)
class Culprit:
    """The plugin hook the loop was in when it stalled, and where it was stuck."""

    plugin: str
    hook: str
    where: str

    def __str__(self) -> str:
        return f"in plugin {self.plugin} ({self.hook}), at {self.where}"


def culprit_in(frame: FrameType | None) -> Culprit | None:
    """The outermost plugin hook on the stack that ends in ``frame``, with the innermost line."""
    innermost = frame
    found: Culprit | None = None
    while frame is not None:
        code = frame.f_code
        if code.co_argcount and code.co_varnames[0] == "self":
            owner = frame.f_locals.get("self")
            if isinstance(owner, RoutingPlugin):
                assert innermost is not None
                inner = innermost.f_code
                where = f"{Path(inner.co_filename).name}:{innermost.f_lineno} in {inner.co_name}"
                found = Culprit(str(owner.name), code.co_name, where)
        frame = frame.f_back
    return found


class LoopWatchdog:
    """Measures the lag of one event loop from a thread; see the module docstring.

    Counters are written by the loop (at the end of a stall) and read from
    any thread (the metrics endpoint), as plain ints and floats.
    """

    def __init__(self, *, warn_seconds: float, unhealthy_seconds: float, interval: float = INTERVAL) -> None:
        self.warn_seconds = warn_seconds
        self.unhealthy_seconds = unhealthy_seconds
        self.interval = interval
        #: Stalls of ``warn_seconds`` or more, and their durations.
        self.stalls = 0
        self.stall_seconds = Timings(STALL_SECONDS_BUCKETS)
        self.longest = 0.0
        #: Stalls per plugin that was running when the loop stalled.
        self.plugin_stalls: Counter[str] = Counter()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0
        self._handle: asyncio.TimerHandle | None = None
        self._beat = time.monotonic()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        # Written by the thread during a stall, read by the loop when it ends.
        self._stall_began: float | None = None
        self._culprit: Culprit | None = None
        self._unhealthy: str | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start beating on ``loop`` (call it on that loop's thread) and watching from a thread."""
        self._loop = loop
        self._loop_thread = threading.get_ident()
        self._beat = time.monotonic()
        self._handle = loop.call_later(self.interval, self._on_beat)
        self._thread = threading.Thread(target=self._watch, name="kafka-pipeline-watchdog", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def health(self) -> Readiness:
        """Alive, until the loop stalled ``unhealthy_seconds`` or more: then not, for good. Any thread."""
        return Readiness(False, (self._unhealthy,)) if self._unhealthy is not None else Readiness(True)

    # -- on the loop ---------------------------------------------------------------

    def _on_beat(self) -> None:
        now = time.monotonic()
        stalled = now - self._beat - self.interval
        self._beat = now
        if stalled >= self.warn_seconds:
            self._stalled(stalled)
        self._stall_began = None
        self._culprit = None
        assert self._loop is not None
        self._handle = self._loop.call_later(self.interval, self._on_beat)

    def _stalled(self, seconds: float) -> None:
        culprit = self._culprit
        self.stalls += 1
        self.stall_seconds.observe(seconds)
        self.longest = max(self.longest, seconds)
        if culprit is not None:
            self.plugin_stalls[culprit.plugin] += 1
        log.warning(
            "event loop stalled for %.1fs %s: blocking calls (time.sleep, blocking I/O, long "
            "computations) stop the whole worker; await, or run them in a thread",
            seconds,
            culprit or "outside any plugin",
            extra={"plugin": culprit.plugin} if culprit else {},
        )
        if seconds >= self.unhealthy_seconds:
            self._mark_unhealthy(seconds, culprit)

    # -- on the watchdog's thread -------------------------------------------------------

    def _watch(self) -> None:
        while not self._stopped.wait(self.interval):
            beat = self._beat
            stalled = time.monotonic() - beat - self.interval
            if stalled < min(self.warn_seconds, self.unhealthy_seconds) / 2:
                continue
            if self._stall_began != beat:
                self._stall_began = beat
                self._culprit = culprit_in(sys._current_frames().get(self._loop_thread))
            elif self._culprit is None:
                self._culprit = culprit_in(sys._current_frames().get(self._loop_thread))
            if stalled >= self.unhealthy_seconds and self._unhealthy is None:
                self._mark_unhealthy(stalled, self._culprit, ongoing=True)

    def _mark_unhealthy(self, seconds: float, culprit: Culprit | None, *, ongoing: bool = False) -> None:
        if self._unhealthy is not None:
            return
        self._unhealthy = (
            f"the event loop {'has been stalled' if ongoing else 'stalled'} for {seconds:.1f}s "
            f"{culprit or 'outside any plugin'}, more than worker.stall_unhealthy_seconds "
            f"({self.unhealthy_seconds:g}s); restart the worker"
        )
        log.error("unhealthy: %s", self._unhealthy, extra={"plugin": culprit.plugin} if culprit else {})


class WatchdogCollector(Collector):
    """The watchdog's counters as Prometheus metrics, read at scrape time."""

    def __init__(self, watchdog: LoopWatchdog) -> None:
        self._watchdog = watchdog

    def describe(self) -> Iterator[Metric]:
        yield from self._families()

    def collect(self) -> Iterator[Metric]:
        watchdog = self._watchdog
        stalls, seconds, per_plugin, healthy = self._families()
        stalls.add_metric([], watchdog.stalls)
        buckets, total = watchdog.stall_seconds.snapshot()
        seconds.add_metric([], [("+Inf" if b == float("inf") else repr(b), c) for b, c in buckets], total)
        for plugin, count in sorted(dict(watchdog.plugin_stalls).items()):
            per_plugin.add_metric([plugin], count)
        healthy.add_metric([], 1 if watchdog.health().ready else 0)
        yield from (stalls, seconds, per_plugin, healthy)

    @staticmethod
    def _families() -> tuple[
        CounterMetricFamily, HistogramMetricFamily, CounterMetricFamily, GaugeMetricFamily
    ]:
        return (
            CounterMetricFamily(
                "kafka_pipeline_loop_stalls",
                "Times the worker's event loop was blocked for worker.stall_warning_seconds or more.",
            ),
            HistogramMetricFamily(
                "kafka_pipeline_loop_stall_seconds", "How long each of those stalls blocked the event loop."
            ),
            CounterMetricFamily(
                "kafka_pipeline_plugin_stalls",
                "Event-loop stalls during which this plugin's hook was running.",
                labels=["plugin"],
            ),
            GaugeMetricFamily(
                "kafka_pipeline_healthy",
                "1 while /healthz answers 200; 0 once a stall passed worker.stall_unhealthy_seconds.",
            ),
        )
