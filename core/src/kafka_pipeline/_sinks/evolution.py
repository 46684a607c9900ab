"""Schema evolution: what a Delta table lacks of the installed domain model, and what can never fit.

Decided at start-up (and by ``check --storage``), never per row. A field the
table lacks becomes a nullable column, added with deltalake's schema merge
by a commit that writes no data: the table's existing rows read it as null.
Everything else that differs stops the worker before it consumes, naming the
table, the column, both types and the way out:

- a type change (``long`` to ``double``, a struct field's type, ...);
- a column the model no longer has (a field dropped, or an older package);
- a new field that is required: the existing rows have no value for it;
- a nullable column whose field is now required;
- a NOT NULL column whose field now allows None (deltalake cannot relax it).

A running worker whose table gains columns from a newer worker (a rolling
upgrade) fills them with nulls: :func:`conform`.
"""

from __future__ import annotations

import logging
import types
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, Union, get_args, get_origin

import pyarrow as pa
from deltalake import DeltaTable, Schema, write_deltalake
from deltalake.schema import ArrayType, MapType, PrimitiveType, StructType
from pydantic import BaseModel

log = logging.getLogger("kafka_pipeline.worker.evolution")

_MOVE_ON = (
    "or migrate the table (rewrite it with the new schema, e.g. deltalake's write_deltalake(..., "
    "mode='overwrite', schema_mode='overwrite')), or point delta.root at a new location"
)


@dataclass(frozen=True, slots=True)
class Incompatibility:
    """One difference between a table and the model that no append can bridge."""

    table: str
    column: str
    #: The table's type of the column, or None when the table lacks it.
    old: str | None
    #: The model's type, or None when the model lacks the field.
    new: str | None
    reason: str
    remedy: str

    def __str__(self) -> str:
        old = self.old or "absent"
        new = self.new or "absent"
        return (
            f"Delta table {self.table!r}, column {self.column!r}: {self.reason} "
            f"(table: {old}; installed model: {new}). {self.remedy}"
        )


@dataclass(frozen=True, slots=True)
class EvolutionPlan:
    """What one table needs to take the installed model's rows."""

    table: str
    #: Columns to add as nullable, by path (``note``, ``dimensions.depth_cm``).
    added: tuple[str, ...] = ()
    problems: tuple[Incompatibility, ...] = ()

    @property
    def due(self) -> bool:
        """Columns are to be added, and nothing stands in the way."""
        return bool(self.added) and not self.problems


def delta_type_name(delta_type: Any) -> str:
    """A Delta type as the Delta protocol spells it: ``long``, ``array<string>``, ``struct<x: double>``."""
    if isinstance(delta_type, PrimitiveType):
        return str(delta_type.type)
    if isinstance(delta_type, ArrayType):
        return f"array<{delta_type_name(delta_type.element_type)}>"
    if isinstance(delta_type, MapType):
        return f"map<{delta_type_name(delta_type.key_type)}, {delta_type_name(delta_type.value_type)}>"
    if isinstance(delta_type, StructType):
        fields = ", ".join(f"{f.name}: {delta_type_name(f.type)}" for f in delta_type.fields)
        return f"struct<{fields}>"
    return str(delta_type)


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    """The model a field holds directly (``Model`` or ``Model | None``), which becomes a struct column."""
    if get_origin(annotation) in (Union, types.UnionType):
        members = [a for a in get_args(annotation) if a is not type(None)]
        annotation = members[0] if len(members) == 1 else None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _nullable(annotation: Any) -> bool:
    return get_origin(annotation) in (Union, types.UnionType) and type(None) in get_args(annotation)


def required_columns(model: type[BaseModel], prefix: str = "") -> frozenset[str]:
    """Paths of the fields every message must carry: no default, and None not allowed."""
    required: set[str] = set()
    for name, info in model.model_fields.items():
        if info.is_required() and not _nullable(info.annotation):
            required.add(prefix + name)
        nested = _nested_model(info.annotation)
        if nested is not None:
            required |= required_columns(nested, f"{prefix}{name}.")
    return frozenset(required)


def plan_evolution(
    table: str, existing: Schema, wanted: pa.Schema, required: Collection[str] = ()
) -> EvolutionPlan:
    """Compare a table's schema with the schema the worker writes (:func:`table_schema`)."""
    comparison = _Comparison(table, set(required))
    comparison.fields("", existing.fields, Schema.from_arrow(wanted).fields)
    return EvolutionPlan(table, tuple(comparison.added), tuple(comparison.problems))


class _Comparison:
    """One walk over a table's fields and the model's, collecting additions and problems."""

    def __init__(self, table: str, required: set[str]) -> None:
        self.table = table
        self.required = required
        self.added: list[str] = []
        self.problems: list[Incompatibility] = []

    def problem(self, column: str, old: str | None, new: str | None, reason: str, remedy: str) -> None:
        self.problems.append(Incompatibility(self.table, column, old, new, reason, remedy))

    def fields(self, prefix: str, old_fields: Sequence[Any], new_fields: Sequence[Any]) -> None:
        new_by_name = {f.name: f for f in new_fields}
        old_names = {f.name for f in old_fields}
        for old in old_fields:
            new = new_by_name.get(old.name)
            if new is None:
                self.problem(
                    prefix + old.name,
                    delta_type_name(old.type),
                    None,
                    "the table has this column, the installed model has no such field (a field "
                    "dropped or renamed, or an older domain package than the one that added it)",
                    "Install the domain package version that has the field; to drop the column for "
                    f"good, rewrite the table without it, {_MOVE_ON.removeprefix('or ')}",
                )
            else:
                self.column(prefix + old.name, old, new)
        for new in new_fields:
            path = prefix + new.name
            if new.name in old_names:
                continue
            if path in self.required:
                self.problem(
                    path,
                    None,
                    delta_type_name(new.type),
                    "a new field that every message must carry, but the table's existing rows "
                    "have no value for it",
                    "Give the field a default or make it Optional (`x: T | None = None`): the "
                    "worker then adds it as a nullable column and old rows read it as null",
                )
            else:
                self.added.append(path)

    def column(self, path: str, old: Any, new: Any) -> None:
        old_name, new_name = delta_type_name(old.type), delta_type_name(new.type)
        if isinstance(old.type, StructType) and isinstance(new.type, StructType):
            self.fields(f"{path}.", old.type.fields, new.type.fields)
        elif old_name != new_name:
            self.problem(
                path,
                old_name,
                new_name,
                "the field's type changed; the table's files hold the old type",
                f"Keep the old type (add a field with a new name for the new type), {_MOVE_ON}",
            )
            return
        if old.nullable and not new.nullable and path in self.required:
            self.problem(
                path,
                f"{old_name} (nullable)",
                f"{new_name} (required)",
                "the field is now required, but the column holds nulls the model no longer allows",
                f"Make the field Optional again or give it a default, {_MOVE_ON}",
            )
        elif not old.nullable and new.nullable:
            self.problem(
                path,
                f"{old_name} (NOT NULL)",
                f"{new_name} (nullable)",
                "the field now allows None, but the column is NOT NULL and deltalake cannot relax "
                "that: appending a null would fail",
                f"Keep the field non-Optional (give it a default instead), {_MOVE_ON}",
            )


def _made_nullable(fields: Sequence[pa.Field], paths: set[str], prefix: str = "") -> list[pa.Field]:
    out = []
    for original in fields:
        path = prefix + original.name
        f = original.with_nullable(True) if path in paths else original
        if pa.types.is_struct(f.type):
            f = f.with_type(pa.struct(_made_nullable(list(f.type), paths, f"{path}.")))
        out.append(f)
    return out


def apply_evolution(
    uri: str, wanted: pa.Schema, plan: EvolutionPlan, storage_options: dict[str, str] | None
) -> None:
    """Add the plan's columns, nullable, by a schema-merge commit that writes no rows. Blocking.

    Raises what deltalake raises, a commit conflict included: the caller
    plans again, since another worker may have added the columns meanwhile.
    """
    schema = pa.schema(_made_nullable(list(wanted), set(plan.added)))
    write_deltalake(
        uri, schema.empty_table(), mode="append", schema_mode="merge", storage_options=storage_options
    )
    log.warning(
        "Delta table %s at %s: added nullable column%s %s for the installed domain model; "
        "existing rows read %s as null",
        plan.table,
        uri,
        "s" if len(plan.added) > 1 else "",
        ", ".join(plan.added),
        "them" if len(plan.added) > 1 else "it",
        extra={"table": plan.table},
    )


def conform(data: pa.Table, handle: DeltaTable) -> pa.Table | None:
    """``data`` with a null column for each nullable column the table has and ``data`` lacks.

    None when that does not make it fit (a missing NOT NULL column, or a
    nested field): then the append fails as it would have. Costs a schema
    read per call: only for an append the table has refused.
    """
    schema = pa.schema(handle.schema().to_arrow())
    present = set(data.column_names)
    missing = [f for f in schema if f.name not in present]
    if not missing or any(not f.nullable for f in missing):
        return None
    for f in missing:
        data = data.append_column(f, pa.nulls(data.num_rows, f.type))
    return data
