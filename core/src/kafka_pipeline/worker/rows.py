"""Rows waiting for a table's next commit, turned into Arrow column by column at flush.

Appending a row is one ``attrgetter`` call and one tuple: the per-message
cost stays small however many columns the model has. The columns are built
once per commit, with the explicit types of :mod:`kafka_pipeline.worker.schema`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from operator import attrgetter
from typing import Any

import pyarrow as pa

from kafka_pipeline.worker.schema import TIMESTAMP, Column

__all__ = ["RowBuffer"]

_LINEAGE = 4  # partition, offset, routed_to, ingested_at (the topic is one per buffer)


def _getter(names: Sequence[str]) -> Callable[[Any], tuple[Any, ...]]:
    if not names:
        return lambda _message: ()
    if len(names) == 1:
        get_one = attrgetter(names[0])
        return lambda message: (get_one(message),)
    return attrgetter(*names)


class RowBuffer:
    """The pending rows of one table, all from one source topic."""

    __slots__ = ("_columns", "_get", "_schema", "nbytes", "rows", "topic")

    def __init__(self, topic: str, columns: Sequence[Column], schema: pa.Schema) -> None:
        self.topic = topic
        self._columns = tuple(columns)
        self._schema = schema
        self._get = _getter([c.name for c in columns])
        self.rows: list[tuple[Any, ...]] = []
        #: Approximate memory held: the size of the source values.
        self.nbytes = 0

    def __len__(self) -> int:
        return len(self.rows)

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
        self.rows.append((*self._get(message), partition, offset, routed_to, ingested_at_us))
        self.nbytes += size

    def last_offsets(self) -> dict[int, int]:
        """The highest pending offset of each source partition."""
        last: dict[int, int] = {}
        for row in self.rows:
            partition, offset = row[-4], row[-3]
            if offset > last.get(partition, -1):
                last[partition] = offset
        return last

    def first_offsets(self) -> dict[int, int]:
        """The lowest pending offset of each source partition."""
        first: dict[int, int] = {}
        for row in self.rows:
            partition, offset = row[-4], row[-3]
            if offset < first.get(partition, offset + 1):
                first[partition] = offset
        return first

    def drop_written(self, written: Mapping[int, int]) -> int:
        """Forget rows whose offset is at or below ``written[partition]``; returns how many."""
        before = len(self.rows)
        self.rows = [r for r in self.rows if r[-3] > written.get(r[-4], -1)]
        return before - len(self.rows)

    def clear(self) -> None:
        self.rows = []
        self.nbytes = 0

    def to_arrow(self) -> pa.Table:
        """The pending rows as one Arrow table of the buffer's schema."""
        count = len(self.rows)
        width = len(self._columns) + _LINEAGE
        values: list[Sequence[Any]] = list(zip(*self.rows, strict=True)) if count else [()] * width
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
        return pa.Table.from_arrays(arrays, schema=self._schema)
