"""``Supervisor``: ``worker --processes N``, N worker processes in one consumer group, run as one.

Each child is a plain ``kafka-pipeline worker`` process with the same
arguments, in the same consumer group, so Kafka spreads the partitions
among them exactly as among separately started workers. The supervisor

- forwards SIGTERM, SIGINT and SIGHUP to every child (each finishes its
  batch, flushes and commits; or reloads its configuration), and exits 0
  once they all exited 0;
- restarts a child that crashed (exited non-zero, or was killed) after a
  backoff that doubles with each crash of that child in the window (1s, 2s,
  4s, up to 30s); a child that exits 0 by itself (``--exit-when-idle``) is
  done, and is not restarted;
- gives up when the children keep failing: more than ``max_crashes`` (5)
  crashes in all within ``window_seconds`` (60): it stops the others as on
  SIGTERM and exits 1;
- with metrics on, serves one ``/metrics``, ``/healthz`` and ``/readyz``
  for all of them (see :mod:`kafka_pipeline._observability.aggregate`),
  each child serving its own on a free port of the same host.

The children run in process groups of their own, so that a Ctrl-C on the
terminal reaches them once, through the supervisor; and each asks the kernel
(Linux) for SIGTERM should the supervisor die without forwarding one.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import logging
import os
import signal
import socket
import sys
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from kafka_pipeline._observability.aggregate import Child, children_registry, scrape
from kafka_pipeline._observability.server import MetricsServer, Readiness

log = logging.getLogger("kafka_pipeline.worker.supervisor")

#: Set in a child's environment: the supervisor's pid, and the child's index.
ENV_SUPERVISOR_PID: Final = "KAFKA_PIPELINE_SUPERVISOR_PID"
ENV_PROCESS_INDEX: Final = "KAFKA_PIPELINE_PROCESS"
_PR_SET_PDEATHSIG: Final = 1
FORWARDED: Final = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)

#: Builds a child's command line: its index, and the metrics port it serves on (None: none).
Command = Callable[[int, int | None], Sequence[str]]


@dataclass(frozen=True)
class RestartPolicy:
    """When a crashed child is restarted, and when the supervisor gives up."""

    #: More crashes than this, of all children together, within ``window_seconds``: give up.
    max_crashes: int = 5
    window_seconds: float = 60.0
    #: The wait before the first restart of a child; doubled for each further crash in the window.
    backoff_seconds: float = 1.0
    max_backoff_seconds: float = 30.0

    def backoff(self, crashes: int) -> float:
        """The wait before restarting a child that crashed ``crashes`` times in the window."""
        return float(min(self.max_backoff_seconds, self.backoff_seconds * 2 ** max(0, crashes - 1)))


@dataclass
class _Slot:
    index: int
    generation: int = 0
    process: asyncio.subprocess.Process | None = None
    port: int | None = None
    exit_codes: list[int] = field(default_factory=list)
    crashes: deque[float] = field(default_factory=deque)


@dataclass(frozen=True)
class MetricsAddress:
    """Where the supervisor serves the merged metrics; children serve theirs on the same host."""

    host: str
    port: int


class Supervisor:
    """Runs ``processes`` children made by ``command``; see the module docstring."""

    def __init__(
        self,
        processes: int,
        command: Command,
        *,
        metrics: MetricsAddress | None = None,
        policy: RestartPolicy | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        if processes < 1:
            raise ValueError(f"processes must be at least 1, not {processes}")
        self.processes = processes
        self.policy = policy or RestartPolicy()
        self.metrics_address = metrics
        #: The merged metrics endpoint while :meth:`run` runs.
        self.metrics: MetricsServer | None = None
        self._command = command
        self._env = dict(os.environ if env is None else env)
        self._slots = [_Slot(i) for i in range(processes)]
        self._crashes: deque[float] = deque()
        self._stopping = asyncio.Event()
        self._gave_up = False

    @property
    def restarts(self) -> int:
        return sum(max(0, len(slot.exit_codes) - 1) for slot in self._slots)

    @property
    def exit_codes(self) -> list[list[int]]:
        """Each child's exit statuses, in order (a negative one: killed by that signal)."""
        return [list(slot.exit_codes) for slot in self._slots]

    def pids(self) -> list[int | None]:
        """The running children's process ids (None: not running now)."""
        return [
            s.process.pid if s.process is not None and s.process.returncode is None else None
            for s in self._slots
        ]

    async def run(self) -> int:
        """Run until the children are done or stopped; returns the exit status (0 or 1)."""
        loop = asyncio.get_running_loop()
        installed = []
        for sig in FORWARDED:
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self._on_signal, sig)
                installed.append(sig)
        if self.metrics_address is not None:
            address = self.metrics_address
            self.metrics = MetricsServer(
                children_registry(self._children), self._readiness, host=address.host, port=address.port
            )
            self.metrics.start()
        try:
            await asyncio.gather(*(self._keep(slot) for slot in self._slots))
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)
            if self.metrics is not None:
                await asyncio.to_thread(self.metrics.stop)
        failed = any(slot.exit_codes[-1:] != [0] for slot in self._slots)
        return 1 if self._gave_up or failed else 0

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> None:
        """Stop restarting; send ``sig`` to every running child. Call it on the loop."""
        self._stopping.set()
        self._send(sig)

    def _on_signal(self, sig: signal.Signals) -> None:
        if sig == signal.SIGHUP:
            log.info("SIGHUP: forwarded to %d worker processes", self.processes)
            self._send(sig)
            return
        log.warning("%s received: forwarded to every worker process; waiting for them to finish", sig.name)
        self.stop(sig)

    def _send(self, sig: signal.Signals) -> None:
        for slot in self._slots:
            if slot.process is not None and slot.process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    slot.process.send_signal(sig)

    async def _keep(self, slot: _Slot) -> None:
        """Run the child of ``slot``, restarting it after a crash, until it is done or stopped."""
        while not self._stopping.is_set():
            slot.port = _free_port(self.metrics_address.host) if self.metrics_address is not None else None
            slot.generation += 1
            env = {**self._env, ENV_SUPERVISOR_PID: str(os.getpid()), ENV_PROCESS_INDEX: str(slot.index)}
            slot.process = await asyncio.create_subprocess_exec(
                *self._command(slot.index, slot.port),
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                process_group=0,
            )
            log.info("worker process %d started (pid %d)", slot.index, slot.process.pid)
            code = await slot.process.wait()
            slot.exit_codes.append(code)
            if code == 0 or self._stopping.is_set():
                log.info("worker process %d exited with status %d", slot.index, code)
                return
            now = time.monotonic()
            for crashes in (slot.crashes, self._crashes):
                crashes.append(now)
                while crashes and now - crashes[0] > self.policy.window_seconds:
                    crashes.popleft()
            if len(self._crashes) > self.policy.max_crashes:
                log.error(
                    "worker processes keep failing: %d crashes within %gs (the last: process %d, %s); "
                    "stopping the others and giving up",
                    len(self._crashes),
                    self.policy.window_seconds,
                    slot.index,
                    _describe(code),
                )
                self._gave_up = True
                self.stop()
                return
            wait = self.policy.backoff(len(slot.crashes))
            log.error("worker process %d %s; restarting it in %gs", slot.index, _describe(code), wait)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), wait)

    def _children(self) -> list[Child]:
        url = None
        if self.metrics_address is not None:
            host = self.metrics_address.host
            url = f"http://{'127.0.0.1' if host in {'', '0.0.0.0'} else host}"
        return [
            Child(
                s.index,
                s.generation,
                f"{url}:{s.port}" if url and s.port and s.process and s.process.returncode is None else None,
            )
            for s in self._slots
        ]

    def _readiness(self) -> Readiness:
        """Ready when every child is running and ready."""
        reasons: list[str] = []
        if self._stopping.is_set():
            reasons.append("stopping")
        for child in self._children():
            if child.url is None:
                reasons.append(f"process {child.index}: not running")
                continue
            try:
                status, body = scrape(child.url, "/readyz")
            except OSError as exc:
                reasons.append(f"process {child.index}: not answering ({exc})")
                continue
            if status != 200:
                try:
                    why = json.loads(body).get("reasons") or [f"status {status}"]
                except ValueError:
                    why = [f"status {status}"]
                reasons += [f"process {child.index}: {reason}" for reason in why]
        return Readiness(not reasons, tuple(reasons))


def _describe(code: int) -> str:
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"was killed by {signal.Signals(-code).name}"
    return f"exited with status {code}"


def _free_port(host: str) -> int:
    """A port free on ``host`` now, for a child to serve its metrics on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host or "0.0.0.0", 0))
        return int(probe.getsockname()[1])


def supervised_index() -> int | None:
    """In a child of a supervisor: its index; and it gets SIGTERM should the supervisor die. Else None.

    Without this, a supervisor killed by SIGKILL would leave its children running.
    """
    index = os.environ.get(ENV_PROCESS_INDEX)
    parent = os.environ.get(ENV_SUPERVISOR_PID)
    if index is None or parent is None:
        return None
    if sys.platform == "linux":
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM))
    if str(os.getppid()) != parent:  # it died before prctl took effect
        os.kill(os.getpid(), signal.SIGTERM)
    return int(index)
