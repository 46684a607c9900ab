"""Which valid messages a Delta table can still not store, found before they reach it.

pydantic's ``int`` is unbounded, Delta's ``long`` is not: ``"bytes_downloaded":
10**30`` passes the model and then fails every append of its batch, for ever.
A timestamp that only leaves Delta's range (years 1 to 9999) once it is moved
to UTC, and a computed field that raises or returns the wrong type, are the
same kind of poison. :func:`storable_check` derives, once per model, a check
of exactly the columns that can hold such a value; the consumer loop runs it
before routing and sends what fails to the DLQ (``schema``), the dry run
reports it the same way. A model without such columns gets no check at all.

What a column can hold is read from its Arrow type, so a narrower integer
column gets a narrower range.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from operator import attrgetter
from typing import Any, Final

import pyarrow as pa
from pydantic import BaseModel

from kafka_pipeline._sinks.schema import Column, model_columns
from kafka_pipeline._sinks.sink import Unstorable, ValueCheck

#: A check of one value: None when it fits, else ``(where inside the value, what is wrong)``.
_Check = Callable[[Any], tuple[str, str] | None]

#: Delta's ``timestamp`` range, in UTC.
_FIRST_YEAR: Final = 1
_LAST_YEAR: Final = 9999


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:37]}..."


def _int_range(arrow: pa.DataType) -> tuple[int, int]:
    bits = arrow.bit_width
    if pa.types.is_signed_integer(arrow):
        return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    return 0, 2**bits - 1


def _integer(arrow: pa.DataType, strict: bool) -> _Check:
    low, high = _int_range(arrow)

    def check(value: Any) -> tuple[str, str] | None:
        if value is None:
            return None
        if strict and (not isinstance(value, int) or isinstance(value, bool)):
            return "", f"{type(value).__name__} {_shown(value)} is not an integer"
        if low <= value <= high:
            return None
        return "", f"{_shown(value)} does not fit the {arrow} column ({low} to {high})"

    return check


def _timestamp(strict: bool) -> _Check:
    def check(value: Any) -> tuple[str, str] | None:
        if value is None:
            return None
        if not isinstance(value, dt.datetime):
            return ("", f"{type(value).__name__} {_shown(value)} is not a datetime") if strict else None
        # Only an aware value in the first or last year can leave the range once it is in UTC.
        if value.year in (_FIRST_YEAR, _LAST_YEAR) and value.utcoffset():
            try:
                value.astimezone(dt.UTC)
            except OverflowError:
                return "", (
                    f"{value.isoformat()} is outside the years {_FIRST_YEAR} to {_LAST_YEAR} "
                    "once in UTC, the range of a Delta timestamp"
                )
        return None

    return check


#: What a computed field's value must be, per Arrow type, since nothing validates it.
_SCALAR_TYPES: Final[Sequence[tuple[Callable[[pa.DataType], bool], tuple[type, ...]]]] = (
    (pa.types.is_boolean, (bool,)),
    (pa.types.is_floating, (int, float)),
    (pa.types.is_string, (str,)),
    (pa.types.is_binary, (bytes,)),
    (pa.types.is_date, (dt.date,)),
)


def _scalar(arrow: pa.DataType) -> _Check | None:
    for is_kind, kinds in _SCALAR_TYPES:
        if is_kind(arrow):

            def check(value: Any, kinds: tuple[type, ...] = kinds) -> tuple[str, str] | None:
                if value is None or isinstance(value, kinds):
                    return None
                return "", f"{type(value).__name__} {_shown(value)} cannot be stored in a {arrow} column"

            return check
    return None


def _items(item: _Check) -> _Check:
    def check(values: Any) -> tuple[str, str] | None:
        if values is None:
            return None
        for index, value in enumerate(values):
            problem = item(value)
            if problem is not None:
                return f"[{index}]{problem[0]}", problem[1]
        return None

    return check


def _map_values(value_check: _Check) -> _Check:
    def check(mapping: Any) -> tuple[str, str] | None:
        if mapping is None:
            return None
        for key, value in mapping.items():
            problem = value_check(value)
            if problem is not None:
                return f"[{key!r}]{problem[0]}", problem[1]
        return None

    return check


def _struct(fields: Sequence[tuple[str, _Check]]) -> _Check:
    def check(record: Any) -> tuple[str, str] | None:
        if record is None:
            return None
        for name, field_check in fields:
            problem = field_check(record.get(name))
            if problem is not None:
                return f".{name}{problem[0]}", problem[1]
        return None

    return check


def _checker(arrow: pa.DataType, strict: bool) -> _Check | None:
    """A check of one Arrow-ready value against ``arrow``; None when every value of the type fits.

    ``strict``: the value was not validated (a computed field), so its type is checked too.
    """
    if pa.types.is_integer(arrow):
        return _integer(arrow, strict)
    if pa.types.is_timestamp(arrow):
        return _timestamp(strict)
    if pa.types.is_list(arrow):
        item = _checker(arrow.value_type, strict)
        return _items(item) if item is not None else None
    if pa.types.is_map(arrow):
        value = _checker(arrow.item_type, strict)
        return _map_values(value) if value is not None else None
    if pa.types.is_struct(arrow):
        fields = [(f.name, c) for f in arrow if (c := _checker(f.type, strict)) is not None]
        return _struct(fields) if fields else None
    return _scalar(arrow) if strict else None


def _column_check(column: Column, computed: bool) -> ValueCheck | None:
    check = _checker(column.type, strict=computed)
    if check is None and not computed:
        return None
    get = attrgetter(column.name)
    convert = column.convert

    def column_check(message: Any) -> Unstorable | None:
        try:
            value = get(message)
            if convert is not None:
                value = convert(value)
        except Exception as exc:  # a computed field's own code, or a conversion it defeats
            return Unstorable(column.name, f"computing it raised {type(exc).__name__}: {exc}")
        if check is None:
            return None
        problem = check(value)
        return None if problem is None else Unstorable(column.name + problem[0], problem[1])

    return column_check


def storable_check(model: type[BaseModel]) -> ValueCheck | None:
    """The check of ``model``'s messages against its Delta schema; None when any valid one fits.

    Only columns that can receive a value Delta refuses are checked: integers
    (pydantic's are unbounded), timestamps, and every computed field.
    """
    computed = set(model.model_computed_fields)
    return all_of([_column_check(column, column.name in computed) for column in model_columns(model)])


def all_of(checks: Sequence[ValueCheck | None]) -> ValueCheck | None:
    """One check that runs ``checks`` (Nones left out) in turn; None when there is nothing to check."""
    present = tuple(c for c in checks if c is not None)
    if len(present) <= 1:
        return present[0] if present else None

    def check(message: Any) -> Unstorable | None:
        for one in present:
            problem = one(message)
            if problem is not None:
                return problem
        return None

    return check


def describe_unstorable(problem: Unstorable) -> str:
    """The DLQ error of a message whose value its table cannot store."""
    return f"{problem.field}: {problem.problem}; a Delta table cannot store it"
