"""A table's pending rows stay whole and in order however many Arrow chunks they span."""

from __future__ import annotations

from pydantic import BaseModel

from kafka_pipeline._sinks.rows import RowBuffer
from kafka_pipeline._sinks.schema import model_columns, table_schema


class Tiny(BaseModel):
    n: int


def filled(count: int) -> RowBuffer:
    """``count`` rows spread over partitions 0-2, offsets counting up per partition."""
    buffer = RowBuffer("src", model_columns(Tiny), table_schema(Tiny))
    for i in range(count):
        buffer.append(Tiny(n=i), i % 3, 100 + i // 3, ["routed"], 0, 10)
    return buffer


COUNT = RowBuffer.CHUNK_ROWS * 2 + 5


def test_rows_spanning_several_chunks_come_out_all_and_in_order() -> None:
    table = filled(COUNT).to_arrow()

    assert table["n"].to_pylist() == list(range(COUNT))


def test_the_length_counts_every_pending_row() -> None:
    assert len(filled(COUNT)) == COUNT


def test_first_and_last_offsets_are_per_partition_across_chunks() -> None:
    buffer = filled(COUNT)

    last = {i % 3: 100 + i // 3 for i in range(COUNT)}  # later rows overwrite earlier ones

    assert (buffer.first_offsets(), buffer.last_offsets()) == ({0: 100, 1: 100, 2: 100}, last)


def test_dropping_written_rows_reaches_into_sealed_chunks() -> None:
    buffer = filled(COUNT)

    dropped = buffer.drop_written({1: 10_000})

    assert (dropped, len(buffer), set(buffer.to_arrow()["_source_partition"].to_pylist())) == (
        len(range(1, COUNT, 3)),
        COUNT - len(range(1, COUNT, 3)),
        {0, 2},
    )


def test_a_cleared_buffer_is_empty() -> None:
    buffer = filled(COUNT)

    buffer.clear()

    assert (len(buffer), buffer.to_arrow().num_rows, buffer.first_offsets()) == (0, 0, {})
