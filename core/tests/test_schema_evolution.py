"""Schema evolution: which model changes add nullable columns, and which stop the worker, and how."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake
from pydantic import BaseModel

from kafka_pipeline._config import DeltaSettings
from kafka_pipeline._sinks.evolution import conform, plan_evolution, required_columns
from kafka_pipeline._sinks.schema import table_schema
from kafka_pipeline._sinks.storage import StorageError, prepare_tables


class Size(BaseModel):
    width: float


class V1(BaseModel):
    trace_id: str
    weight: float
    note: str | None = None
    size: Size | None = None


class AddsOptional(V1):
    label: str | None = None


class AddsDefaulted(V1):
    priority: int = 0


class AddsRequired(V1):
    owner: str


class ChangesType(BaseModel):
    trace_id: str
    weight: int
    note: str | None = None
    size: Size | None = None


class DropsField(BaseModel):
    trace_id: str
    weight: float
    size: Size | None = None


class NoteRequired(BaseModel):
    trace_id: str
    weight: float
    note: str
    size: Size | None = None


class WeightOptional(BaseModel):
    trace_id: str
    weight: float | None = None
    note: str | None = None
    size: Size | None = None


class Size2(BaseModel):
    width: float
    depth: float | None = None


class NestedAdds(BaseModel):
    trace_id: str
    weight: float
    note: str | None = None
    size: Size2 | None = None


def table_of(tmp_path: Path, model: type[BaseModel] = V1) -> str:
    uri = str(tmp_path / "t")
    write_deltalake(uri, table_schema(model).empty_table())
    return uri


def plan(tmp_path: Path, model: type[BaseModel]) -> tuple[tuple[str, ...], list[str]]:
    existing = DeltaTable(table_of(tmp_path)).schema()
    result = plan_evolution("t", existing, table_schema(model), required_columns(model))
    return result.added, [str(p) for p in result.problems]


def test_an_unchanged_model_needs_nothing(tmp_path: Path) -> None:
    assert plan(tmp_path, V1) == ((), [])


@pytest.mark.parametrize(
    ("model", "added"),
    [(AddsOptional, ("label",)), (AddsDefaulted, ("priority",)), (NestedAdds, ("size.depth",))],
)
def test_a_new_field_with_a_default_becomes_a_column_to_add(
    tmp_path: Path, model: type[BaseModel], added: tuple[str, ...]
) -> None:
    assert plan(tmp_path, model) == (added, [])


def test_a_type_change_names_the_column_both_types_and_a_way_out(tmp_path: Path) -> None:
    _, problems = plan(tmp_path, ChangesType)

    assert problems == [
        "Delta table 't', column 'weight': the field's type changed; the table's files hold the old type "
        "(table: double; installed model: long). Keep the old type (add a field with a new name for the "
        "new type), or migrate the table (rewrite it with the new schema, e.g. deltalake's "
        "write_deltalake(..., mode='overwrite', schema_mode='overwrite')), or point delta.root at a new "
        "location"
    ]


def test_a_dropped_field_is_incompatible(tmp_path: Path) -> None:
    _, problems = plan(tmp_path, DropsField)

    assert len(problems) == 1
    assert "column 'note': the table has this column, the installed model has no such field" in problems[0]
    assert "(table: string; installed model: absent)" in problems[0]


def test_a_new_required_field_is_incompatible(tmp_path: Path) -> None:
    added, problems = plan(tmp_path, AddsRequired)

    assert added == ()
    assert "column 'owner': a new field that every message must carry" in problems[0]
    assert "Give the field a default or make it Optional" in problems[0]


def test_a_nullable_column_whose_field_became_required_is_incompatible(tmp_path: Path) -> None:
    _, problems = plan(tmp_path, NoteRequired)

    assert "column 'note': the field is now required" in problems[0]
    assert "(table: string (nullable); installed model: string (required))" in problems[0]


def test_a_not_null_column_whose_field_allows_none_is_incompatible(tmp_path: Path) -> None:
    _, problems = plan(tmp_path, WeightOptional)

    assert "column 'weight': the field now allows None, but the column is NOT NULL" in problems[0]


def test_prepare_adds_the_columns_and_old_rows_read_null(tmp_path: Path) -> None:
    uri = table_of(tmp_path)
    rows = table_schema(V1)
    write_deltalake(uri, pa.Table.from_pylist([_row(rows, "old")], schema=rows), mode="append")

    applied = prepare_tables(DeltaSettings(root=str(tmp_path)), {}, {"t": uri}, AddsOptional)

    table = DeltaTable(uri)
    assert [p.added for p in applied] == [("label",)]
    assert table.schema().to_arrow().field("label").nullable
    assert table.to_pyarrow_dataset().to_table().column("label").to_pylist() == [None]


def test_prepare_refuses_every_incompatible_table_at_once(tmp_path: Path) -> None:
    uris = {"a": table_of(tmp_path / "a"), "b": table_of(tmp_path / "b")}

    with pytest.raises(StorageError) as raised:
        prepare_tables(DeltaSettings(root=str(tmp_path)), {}, uris, ChangesType)

    assert [p.split(",")[0] for p in raised.value.problems] == ["Delta table 'a'", "Delta table 'b'"]


def test_prepare_refuses_a_partition_layout_that_differs_from_the_existing_table(tmp_path: Path) -> None:
    uri = table_of(tmp_path)
    settings = DeltaSettings(root=str(tmp_path), tables={"t": {"partition_by": ["_source_partition"]}})

    with pytest.raises(StorageError, match=r"delta.tables.t.partition_by is \['_source_partition'\]"):
        prepare_tables(settings, {}, {"t": uri}, V1)


def test_prepare_refuses_a_partition_column_the_table_does_not_have(tmp_path: Path) -> None:
    settings = DeltaSettings(root=str(tmp_path), tables={"t": {"partition_by": ["colour"]}})

    with pytest.raises(StorageError, match="'colour' is not a column of table 't'"):
        prepare_tables(settings, {}, {"t": str(tmp_path / "new")}, V1)


def test_conform_fills_the_columns_a_newer_worker_added_with_nulls(tmp_path: Path) -> None:
    uri = table_of(tmp_path)
    prepare_tables(DeltaSettings(root=str(tmp_path)), {}, {"t": uri}, AddsOptional)
    schema = table_schema(V1)
    data = pa.Table.from_pylist([_row(schema, "from-v1")], schema=schema)

    conformed = conform(data, DeltaTable(uri))

    assert conformed is not None
    assert conformed.column("label").to_pylist() == [None]


def _row(schema: pa.Schema, trace_id: str) -> dict[str, object]:
    row: dict[str, object] = {"trace_id": trace_id, "weight": 1.0}
    row |= {"_source_topic": "t", "_source_partition": 0, "_source_offset": 0, "_routed_to": []}
    row |= {"_ingested_at": 0}
    return {f.name: row.get(f.name) for f in schema}
