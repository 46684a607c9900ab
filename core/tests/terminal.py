"""A command in a real terminal: tmux runs it, tests type keys and read the screen.

Each :class:`Terminal` has a tmux server of its own (``tmux -L``), killed on
close, so tests never see or touch anyone else's sessions. Without tmux the
test is skipped, except in CI (``CI`` set), where it fails: .ci/run
installs it.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Sequence
from types import TracebackType

import pytest


def require_tmux() -> str:
    found = shutil.which("tmux")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("tmux is not installed; .ci/run installs it (Debian's tmux package)")
        pytest.skip("tmux is not installed (Debian: apt-get install tmux)")
    return found


class Terminal:
    """``command`` running in a ``width`` x ``height`` tmux pane, readable after it exits."""

    def __init__(self, command: Sequence[str], *, width: int = 140, height: int = 50) -> None:
        self._tmux = require_tmux()
        self._socket = f"kp-test-{uuid.uuid4().hex[:12]}"
        # The pane stays after the command ends, to be read, with its exit status.
        self._config = tempfile.NamedTemporaryFile("w", prefix="tmux-", suffix=".conf", delete=False)  # noqa: SIM115
        self._config.write("set -g remain-on-exit on\n")
        self._config.close()
        self._run("new-session", "-d", "-s", "t", "-x", str(width), "-y", str(height), shlex.join(command))

    def _run(self, *args: str) -> str:
        result = subprocess.run(
            [self._tmux, "-L", self._socket, "-f", self._config.name, *args],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "TERM": "xterm-256color"},
        )
        return result.stdout

    def exit_status(self, timeout: float = 30) -> int:
        """The command's exit status, once it has exited."""
        deadline = time.monotonic() + timeout
        while True:
            dead, _, status = self._run(
                "display-message", "-p", "-t", "t", "#{pane_dead} #{pane_dead_status}"
            ).partition(" ")
            # The pane is dead once its terminal closes; the status follows when tmux has reaped the process.
            if dead == "1" and status.strip().isdigit():
                return int(status)
            if time.monotonic() > deadline:
                pytest.fail(f"the command did not exit in {timeout:g}s; the terminal shows:\n{self.screen()}")
            time.sleep(0.2)

    def screen(self) -> str:
        """What the pane shows now, as text."""
        return self._run("capture-pane", "-p", "-t", "t")

    def send_keys(self, *keys: str) -> None:
        self._run("send-keys", "-t", "t", *keys)

    def wait_for(self, pattern: str, timeout: float = 30) -> str:
        """The screen, once it matches ``pattern`` (a regex); fails showing the last screen."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.screen()
            if re.search(pattern, text):
                return text
            if time.monotonic() > deadline:
                pytest.fail(f"the terminal never showed {pattern!r} in {timeout:g}s; it shows:\n{text}")
            time.sleep(0.2)

    def close(self) -> None:
        subprocess.run([self._tmux, "-L", self._socket, "kill-server"], capture_output=True, check=False)
        os.unlink(self._config.name)

    def __enter__(self) -> Terminal:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()
