"""Offsets already in Delta are never appended again, even when Kafka hands them out twice.

A crash after the Delta commit and before the Kafka offset commit replays
the batch. Rewinding the group's offsets to the start is the same situation
made certain: every record is consumed a second time.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass

import pyarrow as pa
import pytest
from aiokafka import AIOKafkaConsumer

from integration.kit import (
    Names,
    Record,
    config_data,
    create_topics,
    encode,
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
FIRST = [f"a-{i}" for i in range(600)]
SECOND = [f"b-{i}" for i in range(300)]


def results(trace_ids: list[str]) -> list[tuple[bytes, bytes]]:
    # Every third one is lost for good (its own table); the others completed, half of them express.
    return [
        (
            t.encode(),
            encode(
                parcel(
                    t,
                    "failed_permanent" if i % 3 == 0 else "completed",
                    "express" if i % 2 else "post",
                )
            ),
        )
        for i, t in enumerate(trace_ids)
    ]


async def rewind(bootstrap: str, group: str, topic: str) -> None:
    """Commit offset 0 for every partition, as if no commit had ever succeeded."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    consumer.subscribe([topic])
    await consumer.start()
    try:
        # Tansu takes commits from group members only: join, then commit.
        while len(consumer.assignment()) < PARTITIONS:
            await consumer.getmany(timeout_ms=100)
        await consumer.commit(dict.fromkeys(consumer.assignment(), 0))
    finally:
        await consumer.stop()


@dataclass
class Run:
    parcels: pa.Table
    parcels_failed: pa.Table
    express: list[Record]
    replay: WorkerStats


@pytest.fixture(scope="module")
def run(bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Run:
    names: Names = make_names(tmp_path_factory.mktemp("once"), "exactly-once")
    asyncio.run(create_topics(bootstrap, names.source, names.dlq, partitions=PARTITIONS))
    asyncio.run(create_topics(bootstrap, names.topic("express")))
    config = config_data(bootstrap, names, {"express-router": {"config": {"topic": names.topic("express")}}})
    asyncio.run(produce(bootstrap, names.source, results(FIRST)))
    run_worker(config)

    asyncio.run(rewind(bootstrap, names.group, names.source))
    asyncio.run(produce(bootstrap, names.source, results(SECOND)))
    replay = run_worker(config)

    return Run(
        parcels=read_table(names.table("parcels")),
        parcels_failed=read_table(names.table("parcels_failed")),
        express=asyncio.run(read_topic(bootstrap, names.topic("express"))),
        replay=replay.stats,
    )


def stored(trace_ids: list[str], status: str) -> list[str]:
    lost = {t for i, t in enumerate(trace_ids) if i % 3 == 0}
    return [t for t in trace_ids if (t in lost) == (status == "failed_permanent")]


def test_each_result_is_in_its_delta_table_exactly_once_after_a_replay(run: Run) -> None:
    assert sorted(run.parcels["trace_id"].to_pylist()) == sorted(stored(FIRST + SECOND, "completed"))
    assert sorted(run.parcels_failed["trace_id"].to_pylist()) == sorted(
        stored(FIRST + SECOND, "failed_permanent")
    )


def test_each_source_offset_appears_once_per_table(run: Run) -> None:
    for table in (run.parcels, run.parcels_failed):
        positions = list(
            zip(table["_source_partition"].to_pylist(), table["_source_offset"].to_pylist(), strict=True)
        )
        assert len(set(positions)) == len(positions) == table.num_rows


def test_the_replayed_rows_are_counted_as_skipped_duplicates(run: Run) -> None:
    assert run.replay.delta_duplicates_skipped == len(FIRST)


def test_routed_records_are_sent_again_on_a_replay_at_least_once(run: Run) -> None:
    counts = Counter(r.key.decode() for r in run.express if r.key)
    express_first = {t for i, t in enumerate(FIRST) if i % 2 and i % 3}

    assert {t for t, n in counts.items() if n == 2} == express_first
