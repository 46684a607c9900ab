"""A valid message whose values a Delta table cannot store is found before it is routed or stored."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from click.testing import Result
from pydantic import BaseModel, ValidationError, computed_field

from kafka_pipeline._sinks.rows import RowBuffer
from kafka_pipeline._sinks.schema import model_columns, table_schema
from kafka_pipeline._sinks.sink import Unstorable
from kafka_pipeline._sinks.values import storable_check
from kafka_pipeline.testing import RoutingHarness

INT64_MAX = 2**63 - 1
MINUS_FIVE = dt.timezone(dt.timedelta(hours=-5))
PLUS_FIVE = dt.timezone(dt.timedelta(hours=5))


class Inner(BaseModel):
    count: int
    label: str = ""


class Sample(BaseModel):
    trace_id: str
    size: int = 0
    at: dt.datetime | None = None
    sizes: list[int] = []
    inner: Inner | None = None
    counts: dict[str, int] = {}
    ratio: float = 0.0


class Plain(BaseModel):
    trace_id: str
    ratio: float
    tags: list[str] = []


class Computed(BaseModel):
    value: str

    @computed_field  # type: ignore[prop-decorator]
    @property
    def length(self) -> int:
        if self.value == "boom":
            raise ValueError("no length for boom")
        return len(self.value) if self.value != "text" else "four"  # type: ignore[return-value]


def problem(message: BaseModel) -> Unstorable | None:
    check = storable_check(type(message))
    assert check is not None
    return check(message)


def field_of(message: BaseModel) -> str | None:
    found = problem(message)
    return None if found is None else found.field


def test_a_model_without_integers_timestamps_or_computed_fields_is_not_checked_at_all() -> None:
    assert storable_check(Plain) is None


@pytest.mark.parametrize("size", [0, INT64_MAX, -(2**63)])
def test_an_integer_within_int64_fits(size: int) -> None:
    assert problem(Sample(trace_id="t", size=size)) is None


@pytest.mark.parametrize("size", [2**63, 10**30, -(2**63) - 1])
def test_an_integer_beyond_int64_is_refused_naming_the_field_and_the_column(size: int) -> None:
    assert problem(Sample(trace_id="t", size=size)) == Unstorable(
        "size", f"{size} does not fit the int64 column ({-(2**63)} to {INT64_MAX})"
    )


@pytest.mark.parametrize(
    "at",
    [
        dt.datetime(9999, 12, 31, 23, tzinfo=MINUS_FIVE),
        dt.datetime(1, 1, 1, 1, tzinfo=PLUS_FIVE),
    ],
)
def test_a_timestamp_outside_delta_years_once_in_utc_is_refused(at: dt.datetime) -> None:
    found = problem(Sample(trace_id="t", at=at))
    assert found is not None
    assert (found.field, "outside the years 1 to 9999" in found.problem) == ("at", True)


@pytest.mark.parametrize(
    "at",
    [
        dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC),
        dt.datetime(9999, 12, 31, 12, tzinfo=MINUS_FIVE),
        dt.datetime(1, 1, 1, 12, tzinfo=PLUS_FIVE),
        dt.datetime(1, 1, 1),
    ],
)
def test_a_timestamp_inside_delta_years_fits(at: dt.datetime) -> None:
    assert problem(Sample(trace_id="t", at=at)) is None


def test_an_integer_inside_a_list_is_found_by_its_index() -> None:
    assert field_of(Sample(trace_id="t", sizes=[1, 2, 10**20])) == "sizes[2]"


def test_an_integer_inside_a_nested_model_is_found_by_its_path() -> None:
    assert field_of(Sample(trace_id="t", inner=Inner(count=10**20))) == "inner.count"


def test_an_integer_inside_a_mapping_is_found_by_its_key() -> None:
    assert field_of(Sample(trace_id="t", counts={"a": 1, "b": -(10**20)})) == "counts['b']"


def test_a_computed_field_that_raises_is_refused() -> None:
    assert problem(Computed(value="boom")) == Unstorable(
        "length", "computing it raised ValueError: no length for boom"
    )


def test_a_computed_field_of_the_wrong_type_is_refused() -> None:
    assert problem(Computed(value="text")) == Unstorable("length", "str 'four' is not an integer")


def test_every_value_that_passes_converts_to_arrow() -> None:
    columns = model_columns(Sample)
    buffer = RowBuffer("t", columns, table_schema(Sample))
    edge = [
        Sample(
            trace_id="t",
            size=size,
            at=dt.datetime(9999, 12, 31, 18, tzinfo=MINUS_FIVE),
            sizes=[size],
            inner=Inner(count=size),
            counts={"a": size},
        )
        for size in (INT64_MAX, -(2**63))
    ]
    for offset, message in enumerate(edge):
        assert problem(message) is None
        buffer.append(message, 0, offset, [], 0, 1)

    assert buffer.to_arrow().column("size").to_pylist() == [INT64_MAX, -(2**63)]


async def test_the_test_kit_refuses_it_as_the_worker_would(parcels: ModuleType) -> None:
    async with RoutingHarness(parcels.PARCELS, plugins=[]) as harness:
        with pytest.raises(ValidationError) as raised:
            await harness.dispatch(parcel(items=10**30))

    (error,) = raised.value.errors()
    assert (error["type"], error["loc"]) == ("unstorable", ("items",))


async def test_the_test_kit_routes_it_when_its_status_is_stored_nowhere(parcels: ModuleType) -> None:
    async with RoutingHarness(parcels.PARCELS, plugins=[]) as harness:
        result = await harness.dispatch(parcel(items=10**30, status="failed"))

    assert result.message.items == 10**30


def test_route_reports_the_line_invalid_with_reason_schema_and_its_dlq_record(
    parcels: ModuleType, cli: Callable[..., Result], config_file: Callable[..., str], tmp_path: Path
) -> None:
    lines = tmp_path / "lines.jsonl"
    lines.write_text(json.dumps(parcel(items=10**30)) + "\n" + json.dumps(parcel()) + "\n")

    result = cli("route", "--domain", "parcels", "--config", config_file({"load": []}), "--json", str(lines))

    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert (result.exit_code, first["valid"], first["reason"], first["dlq"], second["valid"]) == (
        1,
        False,
        "schema",
        [{"reason": "schema", "plugin": None, "topic": "parcels.results.dlq"}],
        True,
    )
    assert first["problems"][0].startswith(f"items: {10**30} does not fit the int64 column")


def parcel(**fields: Any) -> dict[str, Any]:
    return {
        "trace_id": "p-1",
        "status": "completed",
        "carrier": "post",
        "weight_kg": 1.0,
        "items": 1,
        "sent_at": "2026-01-01T00:00:00Z",
        **fields,
    }
