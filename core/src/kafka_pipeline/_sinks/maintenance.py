"""Table maintenance beside running workers: compact, checkpoint, clean the log, vacuum.

Workers append a few small files per table each second and never rewrite
any; left alone, a table is thousands of small files and a log that every
reader replays. :func:`maintain_table` fixes that, one step after another:

1. compaction rewrites small files into files of about
   ``delta.maintenance.target_file_size_mb`` (deltalake's ``optimize.compact``);
2. a checkpoint, so that readers start from it instead of replaying the log;
3. log cleanup: log entries older than the table's ``delta.logRetentionDuration``
   (30 days by default) and before the checkpoint are deleted;
4. vacuum deletes the files that compaction replaced, once no version of the
   last ``delta.maintenance.vacuum_retention_hours`` references them.

A worker's append only adds files, so it never conflicts with a compaction
(which only removes files the append does not touch); a step that does lose
a race (to another ``maintain``) is tried again on the new version. Every
row, and every offset the workers recorded (their ``txn`` actions), is the
same after as before. Blocking: the CLI runs it as it is.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

from deltalake import DeltaTable
from deltalake.exceptions import TableNotFoundError

from kafka_pipeline._config import MaintenanceSettings
from kafka_pipeline._errors import WorkerError

log = logging.getLogger("kafka_pipeline.maintenance")

T = TypeVar("T")


class MaintenanceError(WorkerError):
    """A maintenance step failed on every attempt; the table is as the last successful step left it."""


@dataclass(frozen=True, slots=True)
class TableMaintenance:
    """What :func:`maintain_table` did to one table."""

    table: str
    uri: str
    exists: bool
    files_before: int = 0
    files_after: int = 0
    version_before: int | None = None
    version: int | None = None
    seconds: float = 0.0
    files_compacted: int = 0
    files_written: int = 0
    checkpoint_version: int | None = None
    files_vacuumed: int = 0
    retries: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def line(self) -> str:
        """The one line ``maintain`` prints."""
        if not self.exists:
            return f"{self.table}: not created yet, nothing to do"
        return (
            f"{self.table}: {self.files_before} -> {self.files_after} files, version "
            f"{self.version_before} -> {self.version}, {self.seconds:.2f}s (compacted "
            f"{self.files_compacted} into {self.files_written}; checkpoint at "
            f"{self.checkpoint_version}; vacuumed {self.files_vacuumed} files)"
        )


def maintain_table(
    table: str,
    uri: str,
    storage_options: dict[str, str] | None,
    settings: MaintenanceSettings,
    *,
    allow_short_retention: bool = False,
    sleep: Callable[[float], None] = time.sleep,
) -> TableMaintenance:
    """Compact, checkpoint, clean the log and vacuum one table; see the module docstring.

    Raises :class:`MaintenanceError` naming the table and the step that failed.
    """
    started = time.perf_counter()
    try:
        handle = DeltaTable(uri, storage_options=storage_options)
    except TableNotFoundError:
        return TableMaintenance(table, uri, exists=False)
    files_before, version_before = len(handle.file_uris()), handle.version()
    retries = 0

    def step(name: str, action: Callable[[DeltaTable], T]) -> T:
        nonlocal retries
        for attempt in range(settings.conflict_retries + 1):
            try:
                handle.update_incremental()
                return action(handle)
            except Exception as exc:  # a lost commit race, or the store hiccuped: on a fresh version
                if attempt == settings.conflict_retries:
                    raise MaintenanceError(
                        f"maintenance of Delta table {table!r} at {uri} failed at the {name} step after "
                        f"{attempt + 1} attempts: {exc}. The table is intact; run maintain again, "
                        "and check the storage if it keeps failing"
                    ) from exc
                retries += 1
                delay = 0.2 * 2**attempt
                log.warning(
                    "%s of Delta table %s failed (%s); retry %d/%d in %.1fs",
                    name,
                    table,
                    exc,
                    attempt + 1,
                    settings.conflict_retries,
                    delay,
                )
                sleep(delay)
        raise AssertionError("unreachable")

    metrics = step(
        "compaction",
        lambda h: h.optimize.compact(target_size=settings.target_file_size_mb * 1024 * 1024),
    )

    def checkpoint(h: DeltaTable) -> int:
        h.create_checkpoint()
        return h.version()

    checkpoint_version = step("checkpoint", checkpoint)
    step("log cleanup", lambda h: h.cleanup_metadata())
    vacuumed = step(
        "vacuum",
        lambda h: h.vacuum(
            retention_hours=settings.vacuum_retention_hours,
            dry_run=False,
            enforce_retention_duration=not allow_short_retention,
        ),
    )
    handle.update_incremental()
    return TableMaintenance(
        table,
        uri,
        exists=True,
        files_before=files_before,
        files_after=len(handle.file_uris()),
        version_before=version_before,
        version=handle.version(),
        seconds=time.perf_counter() - started,
        files_compacted=int(metrics.get("numFilesRemoved", 0)),
        files_written=int(metrics.get("numFilesAdded", 0)),
        checkpoint_version=checkpoint_version,
        files_vacuumed=len(vacuumed),
        retries=retries,
    )
