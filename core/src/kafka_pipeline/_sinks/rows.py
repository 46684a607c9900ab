"""Rows waiting for a table's next commit, turned into Arrow column by column as they come.

Appending a row is one ``attrgetter`` call and one tuple: the per-message
cost stays small however many columns the model has. Every ``CHUNK_ROWS``
rows become one Arrow record batch, with the explicit types of
:mod:`kafka_pipeline._sinks.schema`; a commit writes the batches as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from operator import attrgetter
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from kafka_pipeline._sinks.schema import TIMESTAMP, Column

_LINEAGE = 4  # partition, offset, routed_to, ingested_at (the topic is one per buffer)


def _getter(names: Sequence[str]) -> Callable[[Any], tuple[Any, ...]]:
    if not names:
        return lambda _message: ()
    if len(names) == 1:
        get_one = attrgetter(names[0])
        return lambda message: (get_one(message),)
    return attrgetter(*names)


class RowBuffer:
    """The pending rows of one table, all from one source topic.

    Rows are kept as Python tuples only until ``CHUNK_ROWS`` of them are
    pending, then turned into one Arrow record batch. A worker buffers tens
    of thousands of rows between commits: as tuples (each holding a list)
    the garbage collector would walk every one of them at each full
    collection, which profiling showed cost more than the rest of the Delta
    path together; as Arrow data they are outside its reach and smaller.
    """

    __slots__ = ("_batches", "_columns", "_count", "_get", "_pending", "_schema", "nbytes", "topic")

    #: Rows kept as Python tuples before they are turned into an Arrow record batch.
    CHUNK_ROWS = 1024

    def __init__(self, topic: str, columns: Sequence[Column], schema: pa.Schema) -> None:
        self.topic = topic
        self._columns = tuple(columns)
        self._schema = schema
        self._get = _getter([c.name for c in columns])
        self._pending: list[tuple[Any, ...]] = []
        self._batches: list[pa.RecordBatch] = []
        self._count = 0
        #: Approximate memory held: the size of the source values.
        self.nbytes = 0

    def __len__(self) -> int:
        return self._count

    # Positional on purpose: this runs once per stored message.
    def append(  # noqa: PLR0917
        self,
        message: Any,
        partition: int,
        offset: int,
        routed_to: Sequence[str],
        ingested_at_us: int,
        size: int,
    ) -> None:
        pending = self._pending
        pending.append((*self._get(message), partition, offset, routed_to, ingested_at_us))
        self._count += 1
        self.nbytes += size
        if len(pending) >= self.CHUNK_ROWS:
            self._seal()

    def _seal(self) -> None:
        if self._pending:
            self._batches.append(self._to_batch(self._pending))
            self._pending = []

    def _offsets(self) -> pa.Table:
        """Per source partition, the lowest and highest pending offset."""
        self._seal()
        positions = pa.Table.from_batches(
            [b.select(["_source_partition", "_source_offset"]) for b in self._batches],
            schema=pa.schema([self._schema.field("_source_partition"), self._schema.field("_source_offset")]),
        )
        return positions.group_by("_source_partition").aggregate(
            [("_source_offset", "min"), ("_source_offset", "max")]
        )

    def last_offsets(self) -> dict[int, int]:
        """The highest pending offset of each source partition."""
        offsets = self._offsets()
        return dict(
            zip(
                offsets["_source_partition"].to_pylist(),
                offsets["_source_offset_max"].to_pylist(),
                strict=True,
            )
        )

    def first_offsets(self) -> dict[int, int]:
        """The lowest pending offset of each source partition."""
        offsets = self._offsets()
        return dict(
            zip(
                offsets["_source_partition"].to_pylist(),
                offsets["_source_offset_min"].to_pylist(),
                strict=True,
            )
        )

    def drop_written(self, written: Mapping[int, int]) -> int:
        """Forget rows whose offset is at or below ``written[partition]``; returns how many."""
        self._seal()
        before = self._count
        kept = []
        for batch in self._batches:
            partitions = batch.column("_source_partition")
            offsets = batch.column("_source_offset")
            stale = pa.array([False] * batch.num_rows)
            for partition, last in written.items():
                here = pc.and_(pc.equal(partitions, partition), pc.less_equal(offsets, last))
                stale = pc.or_(stale, here)
            kept.append(batch.filter(pc.invert(stale)))
        self._batches = [b for b in kept if b.num_rows]
        self._count = sum(b.num_rows for b in self._batches)
        return before - self._count

    def clear(self) -> None:
        self._pending = []
        self._batches = []
        self._count = 0
        self.nbytes = 0

    def to_arrow(self) -> pa.Table:
        """The pending rows as one Arrow table of the buffer's schema."""
        self._seal()
        return pa.Table.from_batches(self._batches, schema=self._schema)

    def _to_batch(self, rows: list[tuple[Any, ...]]) -> pa.RecordBatch:
        """``rows`` as one record batch, built column by column."""
        count = len(rows)
        values: list[Sequence[Any]] = list(zip(*rows, strict=True))
        arrays = []
        for column, column_values in zip(self._columns, values, strict=False):
            converted = column_values
            if column.convert is not None:
                convert = column.convert
                converted = [convert(v) for v in column_values]
            arrays.append(pa.array(converted, column.type))
        partitions, offsets, routed, ingested = values[-_LINEAGE:]
        arrays += [
            pa.repeat(pa.scalar(self.topic, pa.string()), count),
            pa.array(partitions, pa.int32()),
            pa.array(offsets, pa.int64()),
            pa.array(routed, pa.list_(pa.string())),
            pa.array(ingested, TIMESTAMP),
        ]
        return pa.RecordBatch.from_arrays(arrays, schema=self._schema)
