"""A progress bar on stderr, drawn only when stderr is a terminal: one place for every command's.

A log file, a pipe or a test's captured output gets nothing from it: the
commands print their phases and summaries as plain lines anyway. On a
terminal it is a ``rich`` progress bar, imported only then.
"""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Any


class ProgressBar:
    """One bar; :meth:`update` draws it (the first call shows it), :meth:`close` leaves it as it is.

    ``live``: draw it; default: when stderr is a terminal.
    """

    def __init__(self, label: str, *, live: bool | None = None) -> None:
        self.label = label
        self.live = sys.stderr.isatty() if live is None else live
        self._progress: Any = None
        self._task: Any = None

    def update(self, done: int, total: int | None, detail: str = "") -> None:
        """``done`` of ``total`` (None: not known yet), and a short text after the bar."""
        if not self.live:
            return
        if self._progress is None:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._progress = Progress(
                TextColumn("  {task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("{task.fields[detail]}"),
                console=Console(stderr=True),
                transient=False,
            )
            self._progress.start()
            self._task = self._progress.add_task(self.label, total=total, detail=detail)
        self._progress.update(self._task, completed=done, total=total, detail=detail)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = self._task = None

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
