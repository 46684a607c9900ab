"""The Delta schema derived from a message model: one typed column per field, plus lineage."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any, Literal

import pytest
from pydantic import BaseModel, ConfigDict, computed_field

from kafka_pipeline._errors import SchemaError
from kafka_pipeline._sinks.rows import RowBuffer
from kafka_pipeline._sinks.schema import model_columns, table_schema

LINEAGE = ["_source_topic", "_source_partition", "_source_offset", "_routed_to", "_ingested_at"]


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Size(enum.IntEnum):
    SMALL = 1
    LARGE = 2


class Box(BaseModel):
    width: float
    label: str | None = None


class Everything(BaseModel):
    model_config = ConfigDict(extra="allow")

    text: str
    count: int
    ratio: float
    flag: bool
    at: dt.datetime
    day: dt.date
    colour: Colour
    size: Size
    status: Literal["completed", "failed"]
    maybe: int | None = None
    box: Box
    boxes: list[Box] = []
    tags: list[str] = []
    labels: dict[str, int] = {}
    ident: uuid.UUID
    anything: Any = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def shout(self) -> str:
        return self.text.upper()


def types(model: type[BaseModel]) -> dict[str, str]:
    schema = table_schema(model)
    return {name: str(schema.field(name).type) for name in schema.names if name not in LINEAGE}


def test_each_field_type_becomes_its_delta_column_type() -> None:
    assert types(Everything) == {
        "text": "string",
        "count": "int64",
        "ratio": "double",
        "flag": "bool",
        "at": "timestamp[us, tz=UTC]",
        "day": "date32[day]",
        "colour": "string",
        "size": "int64",
        "status": "string",
        "maybe": "int64",
        "box": "struct<width: double not null, label: string>",
        "boxes": "list<item: struct<width: double not null, label: string>>",
        "tags": "list<item: string>",
        "labels": "map<string, int64>",
        "ident": "string",
        "anything": "string",
        "shout": "string",
    }


def test_only_optional_fields_are_nullable() -> None:
    schema = table_schema(Everything)

    assert [name for name in schema.names if schema.field(name).nullable] == ["maybe", "anything"]


def test_the_lineage_columns_come_last() -> None:
    assert table_schema(Everything).names[-5:] == LINEAGE


def test_extra_input_fields_are_not_columns() -> None:
    message = Everything.model_validate(sample(unexpected="ignored"))

    assert "unexpected" not in table_schema(Everything).names
    assert message.model_extra == {"unexpected": "ignored"}


def test_a_field_of_a_type_delta_cannot_hold_is_named_in_the_error() -> None:
    class Odd(BaseModel):
        model_config = ConfigDict(arbitrary_types_allowed=True)

        handle: object | int

    with pytest.raises(SchemaError, match=r"Odd\.handle: the union .* has no single Delta column type"):
        table_schema(Odd)


def test_a_nested_models_unsupported_field_is_named_with_its_path() -> None:
    class Inner(BaseModel):
        model_config = ConfigDict(arbitrary_types_allowed=True)

        thing: type

    class Outer(BaseModel):
        inner: Inner

    with pytest.raises(SchemaError, match=r"Outer\.inner\.thing: cannot store values of type"):
        model_columns(Outer)


def sample(**extra: Any) -> dict[str, Any]:
    return {
        "text": "hi",
        "count": 3,
        "ratio": 0.5,
        "flag": True,
        "at": "2026-11-29T10:00:00+01:00",
        "day": "2026-11-29",
        "colour": "red",
        "size": 2,
        "status": "completed",
        "box": {"width": 1.5},
        "boxes": [{"width": 2.0, "label": "b"}],
        "tags": ["a"],
        "labels": {"x": 1},
        "ident": "12345678-1234-5678-1234-567812345678",
        "anything": {"free": ["form"]},
        **extra,
    }


def test_rows_become_arrow_values_of_the_derived_types() -> None:
    buffer = RowBuffer("src", model_columns(Everything), table_schema(Everything))
    buffer.append(Everything.model_validate(sample()), 2, 41, ["routed.topic"], 1_000_000, 100)

    (row,) = buffer.to_arrow().to_pylist()

    assert {k: v for k, v in row.items() if k not in {"at", "day"}} == {
        "text": "hi",
        "count": 3,
        "ratio": 0.5,
        "flag": True,
        "colour": "red",
        "size": 2,
        "status": "completed",
        "maybe": None,
        "box": {"width": 1.5, "label": None},
        "boxes": [{"width": 2.0, "label": "b"}],
        "tags": ["a"],
        "labels": [("x", 1)],
        "ident": "12345678-1234-5678-1234-567812345678",
        "anything": '{"free":["form"]}',
        "shout": "HI",
        "_source_topic": "src",
        "_source_partition": 2,
        "_source_offset": 41,
        "_routed_to": ["routed.topic"],
        "_ingested_at": dt.datetime(1970, 1, 1, 0, 0, 1, tzinfo=dt.UTC),
    }


def test_timestamps_are_stored_in_utc() -> None:
    buffer = RowBuffer("src", model_columns(Everything), table_schema(Everything))
    buffer.append(Everything.model_validate(sample()), 0, 0, [], 0, 1)

    assert buffer.to_arrow()["at"].to_pylist() == [dt.datetime(2026, 11, 29, 9, 0, tzinfo=dt.UTC)]


def test_an_empty_buffer_is_an_empty_table_of_the_schema() -> None:
    buffer = RowBuffer("src", model_columns(Everything), table_schema(Everything))

    table = buffer.to_arrow()

    assert (table.num_rows, table.schema) == (0, table_schema(Everything))


def test_rows_already_written_are_dropped_per_partition() -> None:
    class Tiny(BaseModel):
        n: int

    buffer = RowBuffer("src", model_columns(Tiny), table_schema(Tiny))
    for partition, offset in [(0, 5), (0, 6), (1, 5), (1, 6), (0, 7)]:
        buffer.append(Tiny(n=offset), partition, offset, [], 0, 1)

    dropped = buffer.drop_written({0: 6, 1: 4})

    assert (dropped, buffer.to_arrow().select(["_source_partition", "_source_offset"]).to_pylist()) == (
        2,
        [
            {"_source_partition": 1, "_source_offset": 5},
            {"_source_partition": 1, "_source_offset": 6},
            {"_source_partition": 0, "_source_offset": 7},
        ],
    )
