"""The standard processing: append rows to a domain's Delta tables, each offset exactly once.

Every commit carries, per source partition, a Delta ``txn`` action whose
version is the last offset the commit wrote (the scheme of kafka-delta-ingest).
Before a table is appended to for a partition this worker has just been
given, the stored version is read back and rows at or below it are dropped,
so a crash or rebalance between the Delta commit and the Kafka offset commit
never writes an offset twice. Each table keeps its own versions: a flush that
appends to two tables is two commits, and either may be the one a crash
interrupted.

``deltalake`` calls block, so they run in a thread while the event loop
keeps the consumer's heartbeats and the producer going.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
from deltalake import CommitProperties, DeltaTable, Transaction, write_deltalake
from deltalake.exceptions import DeltaProtocolError, SchemaMismatchError, TableNotFoundError
from pydantic import BaseModel

from kafka_pipeline._config import DeltaSettings, PipelineConfig
from kafka_pipeline._envelope import SourceRecord
from kafka_pipeline._errors import DeltaWriteError
from kafka_pipeline._sinks.evolution import conform
from kafka_pipeline._sinks.rows import RowBuffer
from kafka_pipeline._sinks.schema import model_columns, table_schema
from kafka_pipeline._sinks.sink import FlushResult
from kafka_pipeline._sinks.storage import prepare_tables

log = logging.getLogger("kafka_pipeline.worker.delta_writer")

Sleep = Callable[[float], Awaitable[None]]


def table_uri(root: str, table: str) -> str:
    """Where ``table`` lives under ``root``: an object-store URI, or an absolute local path."""
    if "://" in root:
        return f"{root.rstrip('/')}/{table}"
    return str(Path(root).expanduser().absolute() / table)


def transaction_app_id(group_id: str, topic: str, partition: int) -> str:
    """The Delta ``txn`` app id of one source partition as consumed by one consumer group.

    Kafka topic names cannot contain ``:``, so the id reads back unambiguously.
    """
    return f"{group_id}:{topic}:{partition}"


class DeltaWriter:
    """The Delta Lake :class:`~kafka_pipeline._sinks.sink.Sink`.

    Rows are kept per table and appended with per-partition ``txn`` versions.
    """

    def __init__(
        self,
        *,
        root: str,
        tables: Iterable[str],
        model: type[BaseModel],
        source_topic: str,
        group_id: str,
        storage_options: Mapping[str, str] | None = None,
        partition_by: Mapping[str, Sequence[str]] | None = None,
        settings: DeltaSettings | None = None,
        retries: int = 5,
        backoff_seconds: float = 0.5,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.root = root
        #: What :meth:`prepare` checks the storage against (``delta:`` of the configuration).
        self._settings = settings or DeltaSettings(root=root)
        self._model = model
        self.source_topic = source_topic
        self.group_id = group_id
        self._options = dict(storage_options) if storage_options else None
        #: Applied only by the append that creates a table.
        self._partition_by = {t: list(c) for t, c in (partition_by or {}).items() if c}
        #: Tables that gained columns from a newer worker while this one runs: nulls are appended for them.
        self._conformed: set[str] = set()
        self._retries = retries
        self._backoff = backoff_seconds
        self._sleep = sleep
        schema = table_schema(model)
        columns = model_columns(model)
        self.buffers: dict[str, RowBuffer] = {
            t: RowBuffer(source_topic, columns, schema) for t in sorted(set(tables))
        }
        self.uris: dict[str, str] = {t: table_uri(root, t) for t in self.buffers}
        self._handles: dict[str, DeltaTable] = {}
        # table -> source partition -> last offset the table holds (-1: none).
        self._written: dict[str, dict[int, int]] = {t: {} for t in self.buffers}

    @classmethod
    def from_config(
        cls, config: PipelineConfig, tables: Iterable[str], model: type[BaseModel], source_topic: str
    ) -> DeltaWriter:
        """The Delta tables ``tables`` under ``delta.root``, as ``config`` sets them up."""
        return cls(
            root=config.delta.root,
            tables=tables,
            model=model,
            source_topic=source_topic,
            group_id=config.kafka.group_id,
            storage_options=config.delta.resolved_storage_options(),
            partition_by={t: config.delta.partition_by(t) for t in tables},
            settings=config.delta,
            retries=config.worker.delivery_retries,
            backoff_seconds=config.worker.delivery_backoff_seconds,
        )

    async def prepare(self) -> None:
        """Refuse unsafe storage settings and tables that cannot take the model's rows; evolve the rest.

        Raises :class:`~kafka_pipeline._sinks.storage.StorageError` listing every problem.
        """
        await asyncio.to_thread(prepare_tables, self._settings, self._options or {}, self.uris, self._model)

    @property
    def pending_rows(self) -> int:
        return sum(len(b) for b in self.buffers.values())

    @property
    def pending_bytes(self) -> int:
        return sum(b.nbytes for b in self.buffers.values())

    def add(self, table: str, source: SourceRecord, routed_to: Sequence[str], ingested_at_us: int) -> None:
        self.buffers[table].append(
            source.message, source.partition, source.offset, routed_to, ingested_at_us, len(source.value)
        )

    async def on_assigned(self, partitions: Collection[int]) -> None:
        """Read every table's stored version of the newly assigned ``partitions``."""
        self.forget(partitions)
        try:
            await self.load_versions(partitions)
        except Exception as exc:  # they are read again before the first append anyway
            self.forget(partitions)
            log.warning("could not read Delta versions on assignment (%s); reading them at the flush", exc)

    def on_revoked(self, partitions: Collection[int]) -> None:
        self.forget(partitions)

    def app_id(self, partition: int) -> str:
        return transaction_app_id(self.group_id, self.source_topic, partition)

    def forget(self, partitions: Iterable[int]) -> None:
        """Distrust what is known of these partitions' versions: another worker may have written since."""
        partitions = set(partitions)
        for written in self._written.values():
            for p in partitions & written.keys():
                del written[p]

    async def load_versions(self, partitions: Iterable[int]) -> None:
        """Read every table's stored version of ``partitions`` now, rather than at the next flush."""
        wanted = sorted(set(partitions))
        for table in self.buffers:
            await asyncio.to_thread(self._read_versions, table, wanted, True)

    async def flush(self) -> FlushResult:
        """Append every table's pending rows; raises :class:`DeltaWriteError` when that is impossible."""
        rows: dict[str, int] = {}
        duplicates: dict[str, int] = {}
        for table, buffer in self.buffers.items():
            if len(buffer):
                rows[table], duplicates[table] = await self._flush_table(table, buffer)
        return FlushResult(rows, duplicates)

    async def _flush_table(self, table: str, buffer: RowBuffer) -> tuple[int, int]:
        dropped = 0
        failure: BaseException | None = None
        for attempt in range(self._retries + 1):
            try:
                first = buffer.first_offsets()
                # After a failed attempt the commit may have landed anyway: read back.
                written = await asyncio.to_thread(self._read_versions, table, first, attempt > 0)
                if any(first[p] <= written.get(p, -1) for p in first):
                    dropped += buffer.drop_written(written)
                    log.info(
                        "skipping %d rows already in Delta table %s", dropped, table, extra={"table": table}
                    )
                if not len(buffer):
                    return 0, dropped
                last = buffer.last_offsets()
                data = buffer.to_arrow()
                await asyncio.to_thread(self._append, table, data, last)
            except (SchemaMismatchError, DeltaProtocolError) as exc:
                raise DeltaWriteError(
                    f"cannot append to Delta table {table!r} at {self.uris[table]}: {exc}. The table "
                    "does not fit the domain's message model; point delta.root elsewhere or migrate it",
                    table=table,
                    uri=self.uris[table],
                ) from exc
            except Exception as exc:  # storage and commit-conflict errors are worth retrying
                failure = exc
                self._written[table].clear()
                if attempt < self._retries:
                    delay = self._backoff * 2**attempt
                    log.warning(
                        "append to Delta table %s failed (%s); retry %d/%d in %.1fs",
                        table,
                        exc,
                        attempt + 1,
                        self._retries,
                        delay,
                        extra={"table": table},
                    )
                    await self._sleep(delay)
                continue
            self._written[table].update(last)
            count = len(buffer)
            buffer.clear()
            return count, dropped
        raise DeltaWriteError(
            f"could not append to Delta table {table!r} at {self.uris[table]} after "
            f"{self._retries + 1} attempts: {failure}. No offsets were committed; fix the storage "
            "(path, permissions, credentials in delta.storage_options) and restart the worker",
            table=table,
            uri=self.uris[table],
        ) from failure

    # -- blocking parts, run in a thread ---------------------------------------

    def _handle(self, table: str, refresh: bool) -> DeltaTable | None:
        handle = self._handles.get(table)
        if handle is not None:
            if refresh:
                handle.update_incremental()
            return handle
        try:
            handle = DeltaTable(self.uris[table], storage_options=self._options)
        except TableNotFoundError:
            return None
        self._handles[table] = handle
        return handle

    def _read_versions(self, table: str, partitions: Collection[int], refresh: bool) -> dict[int, int]:
        written = self._written[table]
        missing = [p for p in partitions if p not in written]
        if missing or refresh:
            handle = self._handle(table, refresh=True)
            for p in partitions if refresh else missing:
                version = handle.transaction_version(self.app_id(p)) if handle is not None else None
                written[p] = -1 if version is None else version
        return written

    def _append(self, table: str, data: pa.Table, last: Mapping[int, int]) -> None:
        commit = CommitProperties(
            app_transactions=[Transaction(self.app_id(p), offset) for p, offset in sorted(last.items())]
        )
        handle = self._handles.get(table)
        target: Any = handle if handle is not None else self.uris[table]
        partition_by = self._partition_by.get(table) if handle is None else None
        if handle is not None and table in self._conformed:
            data = conform(data, handle) or data
        try:
            write_deltalake(
                target,
                data,
                mode="append",
                partition_by=partition_by,
                storage_options=self._options,
                commit_properties=commit,
            )
        except SchemaMismatchError:
            # A newer worker may have added columns (a rolling upgrade): fill them with nulls.
            handle = self._handle(table, refresh=True)
            conformed = conform(data, handle) if handle is not None else None
            if handle is None or conformed is None:
                raise
            if table not in self._conformed:
                self._conformed.add(table)
                log.warning(
                    "Delta table %s has columns this worker's domain model lacks, added by a newer "
                    "worker: appending nulls for them",
                    table,
                    extra={"table": table},
                )
            write_deltalake(handle, conformed, mode="append", commit_properties=commit)
        if handle is None:
            self._handles[table] = DeltaTable(self.uris[table], storage_options=self._options)
