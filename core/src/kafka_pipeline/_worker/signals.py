"""The signals a worker answers: SIGTERM and SIGINT stop it cleanly, SIGHUP reloads its configuration."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable

log = logging.getLogger("kafka_pipeline.worker")


class WorkerSignals:
    """Installs the handlers on the running loop; :meth:`remove` takes them down again.

    A second SIGTERM/SIGINT only logs that the worker is still finishing its
    batch. SIGHUP is taken over even when there is nothing to reload,
    because its default action would end the process.
    """

    def __init__(
        self, *, stop: Callable[[], None], stopping: Callable[[], bool], hangup: Callable[[], None]
    ) -> None:
        self._stop = stop
        self._stopping = stopping
        self._hangup = hangup
        self._installed: list[signal.Signals] = []

    def install(self) -> None:
        loop = asyncio.get_running_loop()
        handlers: list[tuple[signal.Signals, Callable[..., None], tuple[object, ...]]] = [
            (signal.SIGTERM, self._on_stop, (signal.SIGTERM,)),
            (signal.SIGINT, self._on_stop, (signal.SIGINT,)),
        ]
        if hasattr(signal, "SIGHUP"):
            handlers.append((signal.SIGHUP, self._hangup, ()))
        for sig, handler, args in handlers:
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, handler, *args)
                self._installed.append(sig)

    def remove(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in self._installed:
            loop.remove_signal_handler(sig)
        self._installed.clear()

    def _on_stop(self, sig: signal.Signals) -> None:
        if self._stopping():
            log.warning(
                "%s again: still finishing the batch in hand (SIGKILL aborts; nothing is lost)", sig.name
            )
            return
        log.warning("%s received: finishing the batch in hand, then stopping", sig.name)
        self._stop()
