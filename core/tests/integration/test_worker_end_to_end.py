"""Thousands of results through a real broker: routed topics and Delta tables hold exactly what they should.

One worker run over a known mix; each test checks one thing the run must
have produced.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pytest
from aiokafka.partitioner import DefaultPartitioner

from integration.kit import (
    Names,
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

PARTITIONS = 3
#: (status, carrier) -> how many results of that kind.
MIX = {
    ("completed", "express"): 1200,
    ("completed", "post"): 800,
    ("failed", "post"): 500,
    ("failed_permanent", "express"): 300,
    ("failed_permanent", "post"): 200,
}


@dataclass
class Run:
    names: Names
    sent: dict[str, bytes]  # trace id -> the bytes produced
    source: dict[str, Record]  # trace id -> where it landed
    express: list[Record]
    alerts: list[Record]
    dlq: list[Record]
    parcels: pa.Table
    parcels_failed: pa.Table
    stats: WorkerStats
    committed: dict[int, int | None]
    ends: dict[int, int]
    started_at: dt.datetime


@pytest.fixture(scope="module")
def run(bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Run:
    names = make_names(tmp_path_factory.mktemp("e2e"), "end-to-end")
    rng = random.Random(7)
    kinds = [kind for kind, count in MIX.items() for _ in range(count)]
    rng.shuffle(kinds)
    sent = {
        f"p-{i:05d}": encode(parcel(f"p-{i:05d}", status, carrier, courier_note="not a column"))
        for i, (status, carrier) in enumerate(kinds)
    }
    asyncio.run(create_topics(bootstrap, names.source, names.dlq, partitions=PARTITIONS))
    asyncio.run(create_topics(bootstrap, names.topic("express"), names.topic("alerts")))
    asyncio.run(produce(bootstrap, names.source, ((k.encode(), v) for k, v in sent.items())))
    started_at = dt.datetime.now(dt.UTC)

    worker = run_worker(
        config_data(
            bootstrap,
            names,
            {
                "express-router": {"config": {"topic": names.topic("express")}},
                "loss-alerter": {"config": {"topic": names.topic("alerts")}},
            },
        )
    )

    source = asyncio.run(read_topic(bootstrap, names.source))
    return Run(
        names=names,
        sent=sent,
        source={r.key.decode(): r for r in source if r.key},
        express=asyncio.run(read_topic(bootstrap, names.topic("express"))),
        alerts=asyncio.run(read_topic(bootstrap, names.topic("alerts"))),
        dlq=asyncio.run(read_topic(bootstrap, names.dlq)),
        parcels=read_table(names.table("parcels")),
        parcels_failed=read_table(names.table("parcels_failed")),
        stats=worker.stats,
        committed=asyncio.run(committed_offsets(bootstrap, names.group, names.source, PARTITIONS)),
        ends=asyncio.run(end_offsets(bootstrap, names.source)),
        started_at=started_at,
    )


def trace_ids(run: Run, status: str, carrier: str | None = None) -> set[str]:
    return {
        trace_id
        for trace_id, value in run.sent.items()
        if f'"status": "{status}"' in value.decode()
        and (carrier is None or f'"carrier": "{carrier}"' in value.decode())
    }


def test_each_routed_topic_gets_exactly_the_results_its_rule_matches(run: Run) -> None:
    assert Counter(r.key.decode() for r in run.express if r.key) == Counter(
        trace_ids(run, "completed", "express")
    )
    assert Counter(r.key.decode() for r in run.alerts if r.key) == Counter(trace_ids(run, "failed_permanent"))


def test_each_delta_table_holds_exactly_the_results_of_its_status(run: Run) -> None:
    assert sorted(run.parcels["trace_id"].to_pylist()) == sorted(trace_ids(run, "completed"))
    assert sorted(run.parcels_failed["trace_id"].to_pylist()) == sorted(trace_ids(run, "failed_permanent"))


def test_a_result_the_rules_pass_over_is_neither_routed_nor_parked(run: Run) -> None:
    assert run.dlq == []
    assert run.stats.messages["skipped"] == MIX[("failed", "post")]


def test_a_routed_message_is_forwarded_byte_for_byte(run: Run) -> None:
    assert all(r.value == run.sent[r.key.decode()] for r in run.express if r.key)


def test_routed_records_land_on_the_partition_kafkas_key_rule_gives(run: Run) -> None:
    partitions = [0, 1, 2]
    expected = DefaultPartitioner()

    assert [r.partition for r in run.express] == [
        expected(r.key, partitions, partitions) for r in run.express
    ]


def test_routed_records_name_their_plugin_and_source_record(run: Run) -> None:
    for record in run.express + run.alerts:
        trace_id = record.key.decode() if record.key else ""
        origin = run.source[trace_id]
        assert {k: v for k, v in record.headers.items() if k != "x-alert"} == {
            "x-routed-by": "express-router" if record in run.express else "loss-alerter",
            "x-source-topic": run.names.source,
            "x-source-partition": str(origin.partition),
            "x-source-offset": str(origin.offset),
            "x-trace-id": trace_id,
        }


def test_a_plugins_own_headers_travel_after_the_provenance_headers(run: Run) -> None:
    assert {r.headers.get("x-alert") for r in run.alerts} == {"lost"}


def test_delta_rows_say_where_they_came_from_and_where_they_were_routed(run: Run) -> None:
    express = trace_ids(run, "completed", "express")
    for row in run.parcels.select(
        ["trace_id", "_source_topic", "_source_partition", "_source_offset", "_routed_to"]
    ).to_pylist():
        origin = run.source[row["trace_id"]]
        assert (row["_source_topic"], row["_source_partition"], row["_source_offset"]) == (
            run.names.source,
            origin.partition,
            origin.offset,
        )
        assert row["_routed_to"] == ([run.names.topic("express")] if row["trace_id"] in express else [])


def test_delta_rows_carry_their_ingestion_time(run: Run) -> None:
    ingested = run.parcels["_ingested_at"].to_pylist()

    assert all(run.started_at - dt.timedelta(seconds=1) <= t <= dt.datetime.now(dt.UTC) for t in ingested)


def test_delta_columns_are_the_model_fields_with_their_types(run: Run) -> None:
    schema = run.parcels.schema

    assert {name: str(schema.field(name).type) for name in schema.names} == {
        "trace_id": "string",
        "status": "string",
        "carrier": "string",
        "weight_kg": "double",
        "items": "int64",
        "sent_at": "timestamp[us, tz=UTC]",
        "fragile": "bool",
        "dimensions": "struct<width_cm: double not null, height_cm: double not null>",
        "tags": "list<element: string>",
        "heavy": "bool",
        "_source_topic": "string",
        "_source_partition": "int32",
        "_source_offset": "int64",
        "_routed_to": "list<element: string>",
        "_ingested_at": "timestamp[us, tz=UTC]",
    }


def test_delta_values_are_stored_as_typed_values(run: Run) -> None:
    row = run.parcels.slice(0, 1).to_pylist()[0]

    assert (row["carrier"] in {"express", "post"}, row["sent_at"], row["dimensions"], row["heavy"]) == (
        True,
        dt.datetime(2026, 11, 29, 9, 0, tzinfo=dt.UTC),
        {"width_cm": 20.0, "height_cm": 10.0},
        False,
    )


def test_every_offset_is_committed_once_the_worker_stops(run: Run) -> None:
    assert run.committed == run.ends


def test_the_stats_count_every_message_by_outcome(run: Run) -> None:
    assert dict(run.stats.messages) == {
        "stored": 2500,
        "routed": 1700,
        "skipped": 500,
        "invalid": 0,
    }
    assert dict(run.stats.delta_rows) == {"parcels": 2000, "parcels_failed": 500}
    assert dict(run.stats.routed_by_topic) == {
        run.names.topic("express"): 1200,
        run.names.topic("alerts"): 500,
    }


def test_the_stats_name_each_table_where_it_lives(run: Run) -> None:
    assert run.stats.delta_tables == {
        "parcels": str(Path(run.names.delta_root, "parcels").absolute()),
        "parcels_failed": str(Path(run.names.delta_root, "parcels_failed").absolute()),
    }
