"""Input the domain cannot parse goes to the DLQ, whole and explained; the worker goes on."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

import pyarrow as pa
import pytest

from integration.kit import (
    Record,
    committed_offsets,
    config_data,
    create_topics,
    encode,
    end_offsets,
    make_names,
    parcel,
    produce,
    read_table,
    read_topic,
    run_worker,
)
from kafka_pipeline._observability.stats import WorkerStats

pytestmark = pytest.mark.integration

#: key -> value of each kind of bad input.
INVALID: dict[bytes, bytes | None] = {
    b"not-json": b"{this is not json",
    b"schema": json.dumps({"trace_id": "s-1", "status": "delivered", "items": "many"}).encode(),
    b"not-an-object": b"[1, 2, 3]",
    b"empty": b"",
    b"null": None,
}
VALID = 40


@dataclass
class Run:
    source: list[Record]
    dlq: dict[bytes, Record]
    parcels: pa.Table
    stats: WorkerStats
    committed: dict[int, int | None]
    ends: dict[int, int]
    source_topic: str


@pytest.fixture(scope="module")
def run(bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Run:
    names = make_names(tmp_path_factory.mktemp("invalid"), "invalid-input")
    valid = [(f"v-{i}".encode(), encode(parcel(f"v-{i}"))) for i in range(VALID)]
    # The bad records sit between good ones, in one partition, so order is known.
    mixed = valid[:10] + list(INVALID.items())[:2] + valid[10:30] + list(INVALID.items())[2:] + valid[30:]
    asyncio.run(create_topics(bootstrap, names.source, names.dlq, partitions=1))
    asyncio.run(produce(bootstrap, names.source, mixed))

    worker = run_worker(config_data(bootstrap, names, {}))

    return Run(
        source=asyncio.run(read_topic(bootstrap, names.source)),
        dlq={r.key: r for r in asyncio.run(read_topic(bootstrap, names.dlq)) if r.key},
        parcels=read_table(names.table("parcels")),
        stats=worker.stats,
        committed=asyncio.run(committed_offsets(bootstrap, names.group, names.source, 1)),
        ends=asyncio.run(end_offsets(bootstrap, names.source)),
        source_topic=names.source,
    )


def test_each_kind_of_invalid_input_is_parked_with_its_reason(run: Run) -> None:
    assert {key: r.headers["x-dlq-reason"] for key, r in run.dlq.items()} == {
        b"not-json": "invalid_json",
        b"schema": "schema",
        b"not-an-object": "schema",
        b"empty": "invalid_json",
        b"null": "invalid_json",
    }


def test_a_parked_record_keeps_the_original_key_and_bytes(run: Run) -> None:
    assert {key: r.value for key, r in run.dlq.items()} == INVALID


def test_a_parked_record_says_where_it_came_from(run: Run) -> None:
    offsets = {r.key: r.offset for r in run.source}
    for key, record in run.dlq.items():
        assert (
            record.headers["x-source-topic"],
            record.headers["x-source-partition"],
            record.headers["x-source-offset"],
        ) == (run.source_topic, "0", str(offsets[key]))


def test_the_dlq_error_says_what_is_wrong_with_the_input(run: Run) -> None:
    errors = {key.decode(): r.headers["x-dlq-error"] for key, r in run.dlq.items()}

    assert errors["not-json"].startswith("not valid JSON")
    assert "status: Input should be 'completed', 'failed' or 'failed_permanent'" in errors["schema"]
    assert "carrier: Field required" in errors["schema"]
    assert "(+" in errors["schema"]  # more problems than are listed
    assert errors["empty"] == "empty value: nothing to parse"
    assert errors["null"] == "null value (tombstone): nothing to parse"


def test_valid_messages_around_invalid_ones_are_all_stored(run: Run) -> None:
    assert sorted(run.parcels["trace_id"].to_pylist()) == sorted(f"v-{i}" for i in range(VALID))


def test_invalid_input_is_committed_like_everything_else(run: Run) -> None:
    assert run.committed == run.ends


def test_the_stats_count_invalid_input_by_reason(run: Run) -> None:
    assert (run.stats.messages["invalid"], dict(run.stats.dlq_by_reason)) == (
        5,
        {"invalid_json": 3, "schema": 2},
    )
