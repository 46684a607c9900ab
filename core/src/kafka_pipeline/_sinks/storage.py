"""The Delta root: which store it is, whether several writers commit safely there, and its tables.

Several workers append to one table at once. Delta stays consistent only
if a commit cannot silently replace another one committed at the same
version: the local file system refuses by an atomic rename, Azure and GCS by
a conditional put, and S3 by a conditional put (``If-None-Match``), which
deltalake >= 1.0 sends by default and which AWS S3 and the common
S3-compatible stores honour. A store that ignores the header loses commits
without an error. :func:`commit_safety` refuses the settings known to be
unsafe; :func:`probe_root` (``kafka-pipeline check --storage``) races real
writers on the store to see for itself.

:func:`prepare_tables` runs once at start-up, before the worker consumes:
settings, partition layout, schema evolution.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import version as installed_version

import pyarrow as pa
from deltalake import DeltaTable, write_deltalake
from deltalake.exceptions import TableNotFoundError
from deltalake.fs import DeltaStorageHandler
from packaging.version import Version
from pydantic import BaseModel

from kafka_pipeline._config import DeltaSettings
from kafka_pipeline._errors import WorkerError
from kafka_pipeline._sinks.evolution import EvolutionPlan, apply_evolution, plan_evolution, required_columns
from kafka_pipeline._sinks.schema import table_schema

UNSAFE_RENAME = "AWS_S3_ALLOW_UNSAFE_RENAME"
LOCKING_PROVIDER = "AWS_S3_LOCKING_PROVIDER"
#: delta-rs removed its DynamoDB log store in this release; later ones log an error and ignore it.
DYNAMODB_LOG_STORE_REMOVED_IN = Version("1.6.1")
#: delta-rs reads a flag as true when it is one of these (``str_is_truthy``).
_TRUTHY = frozenset({"1", "true", "on", "yes", "y"})

_KINDS = {
    "s3": "S3",
    "s3a": "S3",
    "az": "Azure Blob",
    "azure": "Azure Blob",
    "abfs": "Azure Blob",
    "abfss": "Azure Blob",
    "gs": "Google Cloud Storage",
    "file": "local",
}
_SAFE_BY = {
    "local": "rename-if-absent on the local file system",
    "Azure Blob": "conditional put (If-None-Match), native to Azure Blob",
    "Google Cloud Storage": "conditional put (ifGenerationMatch), native to GCS",
    "S3": "conditional put (If-None-Match)",
}
PROBE_FOLDER = "_kafka_pipeline_probe"


class StorageError(WorkerError):
    """The Delta root cannot be written safely, or a table cannot take the model's rows."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


def store_kind(root: str) -> str:
    """``S3``, ``Azure Blob``, ``Google Cloud Storage`` or ``local``."""
    scheme, sep, _ = root.partition("://")
    return _KINDS.get(scheme.lower(), "local") if sep else "local"


def _option(options: Mapping[str, str], environ: Mapping[str, str], key: str) -> str | None:
    # delta-rs takes a key in any case, and falls back to the process environment.
    for k, v in options.items():
        if k.upper() == key:
            return v
    return environ.get(key)


@dataclass(frozen=True, slots=True)
class CommitSafety:
    """How concurrent commits are kept apart under a root, and what is wrong with the settings."""

    mechanism: str
    problems: tuple[str, ...] = ()


def commit_safety(
    settings: DeltaSettings,
    options: Mapping[str, str],
    environ: Mapping[str, str] | None = None,
    deltalake_version: Version | None = None,
) -> CommitSafety:
    """Refuse the settings with which several writers can lose commits (see the module docstring)."""
    kind = store_kind(settings.root)
    if kind != "S3":
        return CommitSafety(_SAFE_BY[kind])
    environ = os.environ if environ is None else environ
    deltalake_version = deltalake_version or Version(installed_version("deltalake"))
    problems = []
    mechanism = _SAFE_BY[kind]
    unsafe = (_option(options, environ, UNSAFE_RENAME) or "").strip().lower() in _TRUTHY
    if unsafe and settings.single_writer:
        mechanism = f"none needed: a single writer (delta.single_writer: true, {UNSAFE_RENAME})"
    elif unsafe:
        problems.append(
            f"delta.storage_options: {UNSAFE_RENAME} is set, which lets deltalake commit without "
            "a guard against another writer committing the same version: with several workers, "
            "commits (rows, and the offsets they record) can be lost without an error. Remove it: "
            "deltalake commits to S3 by conditional put, which AWS S3 and the common S3-compatible "
            "stores honour ('kafka-pipeline check --storage' tests yours). Only if exactly one "
            "process ever writes under delta.root, say so with 'delta.single_writer: true'."
        )
    provider = (_option(options, environ, LOCKING_PROVIDER) or "").strip().lower()
    if provider == "dynamodb" and deltalake_version >= DYNAMODB_LOG_STORE_REMOVED_IN:
        problems.append(
            f"delta.storage_options: {LOCKING_PROVIDER}=dynamodb, but deltalake "
            f"{deltalake_version} no longer has the DynamoDB log store (removed in "
            f"{DYNAMODB_LOG_STORE_REMOVED_IN}): it would ignore the setting and commit by "
            "conditional put. If your store honours conditional writes (AWS S3 does; "
            "'kafka-pipeline check --storage' tests yours), remove the setting. If it does not, "
            f"install 'deltalake>=1.0,<{DYNAMODB_LOG_STORE_REMOVED_IN}' beside kafka-pipeline-core."
        )
    elif provider == "dynamodb":
        mechanism = "DynamoDB locking provider (AWS_S3_LOCKING_PROVIDER=dynamodb)"
    return CommitSafety(mechanism, tuple(problems))


# -- the probe -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """What ``check --storage`` found at the root."""

    root: str
    kind: str
    ok: bool
    #: One line per finding, in order.
    findings: tuple[str, ...]


def probe_root(
    root: str, options: Mapping[str, str] | None, *, writers: int = 4, rounds: int = 3
) -> ProbeResult:
    """Write, read back and delete a small table under ``root``, racing ``writers`` commits per round.

    Each round every writer appends one row at the same moment: on a store
    that honours conditional writes the losers retry and every row lands;
    on one that ignores them, commits overwrite each other and rows are
    missing. Blocking; takes about a second on a healthy store.
    """
    kind = store_kind(root)
    opts = dict(options) if options else None
    folder = f"{PROBE_FOLDER}/{uuid.uuid4().hex}"
    uri = f"{root.rstrip('/')}/{folder}"
    findings: list[str] = []
    ok = True
    try:
        started = time.perf_counter()
        write_deltalake(uri, pa.table({"writer": [-1], "round": [-1]}), storage_options=opts)
        written = time.perf_counter() - started
        rows = DeltaTable(uri, storage_options=opts).to_pyarrow_dataset().count_rows()
        if rows != 1:
            raise RuntimeError(f"read back {rows} rows of the 1 written")
        findings.append(
            f"write and read back a small table: ok ({written * 1000:.0f} ms to write, "
            f"{(time.perf_counter() - started - written) * 1000:.0f} ms to read)"
        )
        expected = 1 + writers * rounds
        lost, errors = _race(uri, opts, writers, rounds)
        if errors:
            ok = False
            findings.append(f"concurrent commits: {len(errors)} of {writers * rounds} failed: {errors[0]}")
        elif lost:
            ok = False
            findings.append(
                f"concurrent commits: UNSAFE: {lost} of {writers * rounds} commits by {writers} "
                "racing writers were lost without an error. This store does not honour conditional "
                "writes: run a single worker (delta.single_writer: true), or use a store that does "
                f"(for S3 without them: a DynamoDB locking provider, with "
                f"deltalake<{DYNAMODB_LOG_STORE_REMOVED_IN}; see docs/operations.md)"
            )
        else:
            findings.append(
                f"concurrent commits: safe: {writers} writers racing {rounds} rounds, all "
                f"{expected - 1} commits landed"
            )
    except Exception as exc:  # the probe's job is to report whatever the store answers
        ok = False
        findings.append(f"cannot write or read under {root}: {type(exc).__name__}: {exc}")
    try:
        DeltaStorageHandler(root, opts).delete_dir(folder)
    except Exception as exc:
        findings.append(f"could not delete the probe's files under {uri}: {exc}")
    return ProbeResult(root, kind, ok, tuple(findings))


def _race(uri: str, options: dict[str, str] | None, writers: int, rounds: int) -> tuple[int, list[str]]:
    """``(commits lost, errors)`` of ``writers`` threads appending together, ``rounds`` times."""
    barrier = threading.Barrier(writers)
    errors: list[str] = []

    def write(writer: int) -> None:
        for n in range(rounds):
            handle = DeltaTable(uri, storage_options=options)
            try:
                barrier.wait(timeout=60)
                write_deltalake(handle, pa.table({"writer": [writer], "round": [n]}), mode="append")
            except Exception as exc:
                errors.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=write, args=(w,), daemon=True) for w in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    landed = DeltaTable(uri, storage_options=options).to_pyarrow_dataset().count_rows() - 1
    return writers * rounds - len(errors) - landed, errors


# -- the tables ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TableStatus:
    """One table of a domain as the store holds it."""

    table: str
    uri: str
    exists: bool
    version: int | None = None
    files: int | None = None
    partition_by: tuple[str, ...] = ()
    evolution: EvolutionPlan | None = None
    problems: tuple[str, ...] = field(default=())


def _partition_problems(
    table: str, uri: str, configured: Sequence[str], schema: pa.Schema, handle: DeltaTable | None
) -> list[str]:
    key = f"delta.tables.{table}.partition_by"
    problems = []
    for column in configured:
        if column not in schema.names:
            problems.append(
                f"{key}: {column!r} is not a column of table {table!r} (columns: {', '.join(schema.names)})"
            )
        elif pa.types.is_nested(schema.field(column).type):
            problems.append(f"{key}: {column!r} is a nested column; partition by a plain one")
    if handle is not None and configured:
        existing = list(handle.metadata().partition_columns)
        if existing != list(configured):
            problems.append(
                f"{key} is {list(configured)}, but the existing table at {uri} is "
                f"{'partitioned by ' + str(existing) if existing else 'not partitioned'}. A table's "
                "layout is chosen when it is created and never changed by the worker: set "
                f"partition_by to {existing} (or remove it), or rewrite the table with the new layout"
            )
    return problems


def table_status(
    table: str,
    uri: str,
    model: type[BaseModel],
    settings: DeltaSettings,
    options: Mapping[str, str] | None,
    *,
    count_files: bool = True,
) -> TableStatus:
    """The table's version, files, layout, and the evolution the installed model asks of it. Blocking."""
    schema = table_schema(model)
    configured = settings.partition_by(table)
    try:
        handle = DeltaTable(uri, storage_options=dict(options) if options else None)
    except TableNotFoundError:
        problems = _partition_problems(table, uri, configured, schema, None)
        return TableStatus(table, uri, False, partition_by=tuple(configured), problems=tuple(problems))
    problems = _partition_problems(table, uri, configured, schema, handle)
    plan = plan_evolution(table, handle.schema(), schema, required_columns(model))
    problems += [str(p) for p in plan.problems]
    return TableStatus(
        table,
        uri,
        True,
        version=handle.version(),
        files=len(handle.file_uris()) if count_files else None,
        partition_by=tuple(handle.metadata().partition_columns),
        evolution=plan,
        problems=tuple(problems),
    )


def prepare_tables(
    settings: DeltaSettings,
    options: Mapping[str, str],
    uris: Mapping[str, str],
    model: type[BaseModel],
    *,
    attempts: int = 5,
) -> list[EvolutionPlan]:
    """Before consuming: refuse unsafe settings and tables that cannot fit, then evolve the rest.

    Raises :class:`StorageError` listing every problem of every table.
    Returns the evolutions applied. Blocking.
    """
    safety = commit_safety(settings, options)
    problems = list(safety.problems)
    statuses = [table_status(t, uri, model, settings, options, count_files=False) for t, uri in uris.items()]
    for status in statuses:
        problems += status.problems
    if problems:
        raise StorageError(problems)
    schema = table_schema(model)
    applied = []
    for status in statuses:
        plan = status.evolution
        for attempt in range(attempts):
            if plan is None or not plan.due:
                break
            try:
                apply_evolution(status.uri, schema, plan, dict(options) or None)
                applied.append(plan)
                break
            except Exception:
                # Another worker may have evolved the table first: look again.
                if attempt == attempts - 1:
                    raise
                time.sleep(0.2 * 2**attempt)
                plan = table_status(
                    status.table, status.uri, model, settings, options, count_files=False
                ).evolution
    return applied
