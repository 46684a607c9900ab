"""The Arrow schema of a domain's Delta tables, derived once from its pydantic model.

Every field and computed field of the model becomes a column; extra input
fields a model merely tolerates do not. Lineage columns say where each row
came from. Deriving the schema up front (instead of letting Arrow infer it
per batch) keeps every append to a table type-identical, whatever values a
batch happens to hold.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import types
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Annotated, Any, Final, Literal, Union, get_args, get_origin

import pyarrow as pa
import pydantic_core
from pydantic import BaseModel

from kafka_pipeline._errors import SchemaError

#: Timestamps are stored as microseconds in UTC, the Delta ``timestamp`` type.
TIMESTAMP: Final = pa.timestamp("us", tz="UTC")

Convert = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class Column:
    """One model field as a column: its Arrow type and how to turn a value into Arrow input.

    ``convert`` is None when Arrow takes the Python value as it is, which is
    the common case and costs nothing per row.
    """

    name: str
    type: pa.DataType
    nullable: bool
    convert: Convert | None = None

    @property
    def field(self) -> pa.Field:
        return pa.field(self.name, self.type, nullable=self.nullable)


#: Where a row came from; names start with ``_`` so they never clash with a model field.
LINEAGE_COLUMNS: Final[tuple[pa.Field, ...]] = (
    pa.field("_source_topic", pa.string(), nullable=False),
    pa.field("_source_partition", pa.int32(), nullable=False),
    pa.field("_source_offset", pa.int64(), nullable=False),
    pa.field("_routed_to", pa.list_(pa.string()), nullable=False),
    pa.field("_ingested_at", TIMESTAMP, nullable=False),
)


def lineage_schema() -> pa.Schema:
    return pa.schema(list(LINEAGE_COLUMNS))


def _enum_value(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


def _to_str(value: Any) -> Any:
    return None if value is None else str(value)


def _to_json(value: Any) -> Any:
    return None if value is None else pydantic_core.to_json(value).decode()


def _timedelta_seconds(value: Any) -> Any:
    return None if value is None else value.total_seconds()


def _time_iso(value: Any) -> Any:
    return None if value is None else value.isoformat()


def _each(convert: Convert) -> Convert:
    def convert_all(value: Any) -> Any:
        return None if value is None else [convert(v) for v in value]

    return convert_all


def _each_value(convert: Convert) -> Convert:
    def convert_values(value: Any) -> Any:
        return None if value is None else {k: convert(v) for k, v in value.items()}

    return convert_values


def _struct(names: tuple[str, ...], converters: tuple[Convert | None, ...]) -> Convert:
    pairs = tuple(zip(names, converters, strict=True))

    def to_dict(value: Any) -> Any:
        if value is None:
            return None
        return {n: getattr(value, n) if c is None else c(getattr(value, n)) for n, c in pairs}

    return to_dict


def _literal_type(values: tuple[Any, ...]) -> tuple[pa.DataType, Convert | None]:
    plain = [_enum_value(v) for v in values]
    if all(isinstance(v, bool) for v in plain):
        return pa.bool_(), None
    if all(isinstance(v, int) and not isinstance(v, bool) for v in plain):
        return pa.int64(), _enum_value if plain != list(values) else None
    if all(isinstance(v, str) for v in plain) and plain == list(values):
        return pa.string(), None
    return pa.string(), lambda v: None if v is None else str(_enum_value(v))


_SCALARS: Final[Mapping[type, tuple[pa.DataType, Convert | None]]] = {
    bool: (pa.bool_(), None),
    int: (pa.int64(), None),
    float: (pa.float64(), None),
    str: (pa.string(), None),
    bytes: (pa.binary(), None),
    # Arrow converts aware datetimes to UTC and reads naive ones as UTC.
    dt.datetime: (TIMESTAMP, None),
    dt.date: (pa.date32(), None),
    # Delta has no time-of-day or duration type.
    dt.time: (pa.string(), _time_iso),
    dt.timedelta: (pa.float64(), _timedelta_seconds),
    decimal.Decimal: (pa.string(), _to_str),
    uuid.UUID: (pa.string(), _to_str),
}


def _arrow_type(annotation: Any, where: str) -> tuple[pa.DataType, bool, Convert | None]:
    """``(type, nullable, convert)`` for one annotation; ``where`` names it in errors."""
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin is Annotated:
        return _arrow_type(args[0], where)
    if origin is Union or origin is types.UnionType:
        members = [a for a in args if a is not type(None)]
        if len(members) == 1:
            arrow, _, convert = _arrow_type(members[0], where)
            return arrow, True, convert
        if all(get_origin(m) is Literal for m in members):
            arrow, convert = _literal_type(tuple(v for m in members for v in get_args(m)))
            return arrow, len(members) < len(args), convert
        raise SchemaError(
            f"{where}: the union {annotation!r} has no single Delta column type; "
            "give the field one type (or Optional[one type])"
        )
    if origin is Literal:
        arrow, convert = _literal_type(args)
        return arrow, type(None) in args or None in args, convert
    if origin in (list, tuple, set, frozenset, Sequence) or annotation in (list, tuple, set, frozenset):
        items = {a for a in args if a is not Ellipsis}
        if len(items) > 1:
            raise SchemaError(f"{where}: a tuple of mixed types cannot be a Delta column; use a nested model")
        inner = items.pop() if items else Any
        item, _, convert = _arrow_type(inner, f"{where}[]")
        return pa.list_(item), False, _each(convert) if convert else None
    if origin in (dict, Mapping) or annotation is dict:
        key = args[0] if args else str
        if key is not str:
            return pa.string(), False, _to_json
        value, _, convert = _arrow_type(args[1] if len(args) > 1 else Any, f"{where}{{}}")
        return pa.map_(pa.string(), value), False, _each_value(convert) if convert else None
    if annotation is Any or annotation is object:
        return pa.string(), True, _to_json
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel):
            columns = model_columns(annotation, prefix=f"{where}.")
            convert = _struct(tuple(c.name for c in columns), tuple(c.convert for c in columns))
            return pa.struct([c.field for c in columns]), False, convert
        if issubclass(annotation, enum.Enum):
            arrow, convert = _literal_type(tuple(annotation))
            return arrow, False, convert
        for base, (arrow, convert) in _SCALARS.items():
            if issubclass(annotation, base):
                return arrow, False, convert
        if issubclass(annotation, (pydantic_core.Url, PurePath)):
            return pa.string(), False, _to_str
    raise SchemaError(
        f"{where}: cannot store values of type {annotation!r} in a Delta column; use str, int, "
        "float, bool, datetime, date, an Enum or Literal, a nested model, or a list or dict of those"
    )


def model_columns(model: type[BaseModel], *, prefix: str | None = None) -> list[Column]:
    """One column per field and computed field of ``model``, in declaration order."""
    where = prefix if prefix is not None else f"{model.__qualname__}."
    columns = []
    for name, info in model.model_fields.items():
        arrow, nullable, convert = _arrow_type(info.annotation, f"{where}{name}")
        columns.append(Column(name, arrow, nullable, convert))
    for name, computed in model.model_computed_fields.items():
        if computed.return_type is pydantic_core.PydanticUndefined:
            raise SchemaError(f"{where}{name}: a computed field needs a return type annotation")
        arrow, nullable, convert = _arrow_type(computed.return_type, f"{where}{name}")
        columns.append(Column(name, arrow, nullable, convert))
    return columns


def table_schema(model: type[BaseModel]) -> pa.Schema:
    """The full schema of a domain table: the model's columns, then the lineage columns."""
    columns = model_columns(model)
    clash = [c.name for c in columns if c.name in {f.name for f in LINEAGE_COLUMNS}]
    if clash:
        raise SchemaError(
            f"{model.__qualname__}: field {clash[0]!r} has the name of a lineage column; rename it"
        )
    return pa.schema([c.field for c in columns] + list(LINEAGE_COLUMNS))
