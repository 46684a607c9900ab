"""Watching the configuration file: a worker reloads when it changes, and on SIGHUP.

No file-system notification library: once a second the worker compares the
file's modification time and size, and only when they moved does it read
the file and compare a hash of its bytes, so touching the file or saving it
unchanged reloads nothing. An editor that saves in place without changing
the time or the size is caught by SIGHUP (``kill -HUP <pid>``), which reloads
whatever the file holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from kafka_pipeline._config import PipelineConfig, load_config

log = logging.getLogger("kafka_pipeline.worker.config_watch")


class ConfigFile:
    """The file a worker's configuration came from, and the command-line overrides applied to it."""

    def __init__(self, path: str | Path, overrides: Mapping[str, Any] | None = None) -> None:
        self.path = Path(path)
        self.overrides = dict(overrides or {})
        self._stamp = self._stat()
        self._digest = self._hash()

    def _stat(self) -> tuple[int, int] | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size

    def _hash(self) -> str | None:
        try:
            return hashlib.sha256(self.path.read_bytes()).hexdigest()
        except OSError:
            return None

    def changed(self) -> bool:
        """Whether the file's content differs from when it was last loaded or looked at.

        A file that disappeared (an editor replacing it) counts as unchanged
        until it is back.
        """
        stamp = self._stat()
        if stamp is None or stamp == self._stamp:
            return False
        self._stamp = stamp
        digest = self._hash()
        if digest is None or digest == self._digest:
            return False
        self._digest = digest
        return True

    def load(self) -> PipelineConfig:
        """The file's configuration with the overrides; raises :class:`ConfigError`."""
        self._stamp, self._digest = self._stat(), self._hash()
        return load_config(self.path).with_overrides(**self.overrides)


async def watch_config(
    source: ConfigFile,
    reload: Callable[[str], Awaitable[object]],
    hangup: asyncio.Event,
    *,
    interval: float | None = 1.0,
) -> None:
    """Call ``reload(why)`` when ``source`` changes (checked every ``interval`` s) or ``hangup`` is set.

    ``interval=None`` watches for SIGHUP only. Runs until cancelled.
    """
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(hangup.wait(), interval)
        if hangup.is_set():
            hangup.clear()
            await reload("SIGHUP")
        elif source.changed():
            await reload(f"{source.path} changed")
