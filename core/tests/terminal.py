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
from pathlib import Path
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
        self._dir = Path(tempfile.mkdtemp(prefix="kp-terminal-"))
        self._status = self._dir / "status"
        # The pane stays after the command ends, to be read. The exit status goes to a file: tmux,
        # started from a test process, does not always reap the pane's process, and then never
        # learns it. The trap keeps the shell alive through Ctrl-C; unlike an ignored signal, a
        # trapped one is reset to its default in the command, which gets its KeyboardInterrupt.
        (self._dir / "tmux.conf").write_text("set -g remain-on-exit on\n")
        script = f"trap : INT; {shlex.join(command)}; echo $? > {shlex.quote(str(self._status))}"
        self._run("new-session", "-d", "-s", "t", "-x", str(width), "-y", str(height), script)
        self._socket_path = Path(self._run("display-message", "-p", "#{socket_path}").strip())

    def _run(self, *args: str) -> str:
        result = subprocess.run(
            [self._tmux, "-L", self._socket, "-f", str(self._dir / "tmux.conf"), *args],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "TERM": "xterm-256color"},
        )
        return result.stdout

    def exit_status(self, timeout: float = 30) -> int:
        """The command's exit status, once it has exited."""
        deadline = time.monotonic() + timeout
        while not (self._status.exists() and self._status.read_text().strip()):
            if time.monotonic() > deadline:
                pytest.fail(f"the command did not exit in {timeout:g}s; the terminal shows:\n{self.screen()}")
            time.sleep(0.1)
        return int(self._status.read_text())

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
        shutil.rmtree(self._dir, ignore_errors=True)
        self._socket_path.unlink(missing_ok=True)  # kill-server leaves it behind

    def __enter__(self) -> Terminal:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()
