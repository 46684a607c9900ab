"""Check that a variant run did the whole job, so a fast-but-wrong variant cannot win.

After each run: every routed topic holds exactly the expected number of
records, the DLQ none; every routed record carries the provenance headers and
the trace-id key; each Delta table holds the expected rows; the group's committed
offsets reached the end of the source topic.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import dataset
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from deltalake import DeltaTable
from spec import RunSpec

from kafka_pipeline._sinks.schema import table_schema
from kafka_pipeline_xact import DownloadResultMessage

ROW_SCHEMA = table_schema(DownloadResultMessage)

__all__ = ["HEADERS", "verify"]


READ_DEADLINE_SECONDS = 60.0


def _partitions(topic: str, count: int) -> list[TopicPartition]:
    return [TopicPartition(topic, p) for p in range(count)]


HEADERS = frozenset({"x-routed-by", "x-source-topic", "x-source-partition", "x-source-offset", "x-trace-id"})


async def read_all(
    consumer: AIOKafkaConsumer, tps: list[TopicPartition]
) -> AsyncIterator[ConsumerRecord[bytes, bytes]]:
    """Every record of ``tps``, from the beginning to the high watermark.

    Counting by reading, not by ``end_offsets``: Tansu answers ListOffsets
    with the base offset of the last batch, not the high watermark.
    """
    consumer.assign(tps)
    await consumer.seek_to_beginning(*tps)
    idle = 0
    deadline = time.monotonic() + READ_DEADLINE_SECONDS
    while True:
        batches = await consumer.getmany(*tps, timeout_ms=300, max_records=10_000)
        idle = 0 if batches else idle + 1
        for records in batches.values():
            for rec in records:
                yield rec
        behind = await _behind(consumer, tps)
        if not behind:
            return
        # A partition never fetched from has no high watermark yet: after a few
        # quiet polls it is empty. One that is behind its watermark must be read.
        if idle >= 10 and all(consumer.highwater(tp) is None for tp in behind):
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"could not read {behind} to the end within {READ_DEADLINE_SECONDS}s")


async def _behind(consumer: AIOKafkaConsumer, tps: list[TopicPartition]) -> list[TopicPartition]:
    """The partitions not yet read up to their high watermark (or whose watermark is unknown)."""
    behind = []
    for tp in tps:
        mark = consumer.highwater(tp)
        if mark is None or await consumer.position(tp) < mark:
            behind.append(tp)
    return behind


def _check_record(rec: ConsumerRecord[bytes, bytes], spec: RunSpec, default: str) -> str | None:
    headers = {k: v.decode() for k, v in rec.headers}
    where = f"{rec.topic}[{rec.partition}]@{rec.offset}"
    if set(headers) != HEADERS:
        return f"{where}: headers {sorted(headers)}, expected {sorted(HEADERS)}"
    trace = json.loads(rec.value)["trace_id"]
    if headers["x-routed-by"] != dataset.PLUGIN_OF[default]:
        return f"{where}: x-routed-by {headers['x-routed-by']!r}"
    if headers["x-source-topic"] != spec.source_topic:
        return f"{where}: x-source-topic {headers['x-source-topic']!r}"
    if not (rec.key == headers["x-trace-id"].encode() == trace.encode()):
        return f"{where}: key {rec.key!r} / x-trace-id / payload trace_id disagree"
    return None


async def verify(spec: RunSpec, expected: dataset.Expected, *, check_delta: bool = True) -> list[str]:
    """Every way the run's outcome differs from ``expected``; empty when it is right."""
    problems: list[str] = []
    consumer = AIOKafkaConsumer(bootstrap_servers=spec.bootstrap_servers, enable_auto_commit=False)
    await consumer.start()
    try:
        ns = spec.namespace
        for default in (*dataset.ROUTED_TOPICS, f"{dataset.SOURCE}.dlq"):
            topic = ns.topic(default)
            got, bad = 0, []
            async for rec in read_all(consumer, _partitions(topic, dataset.ROUTED_PARTITIONS)):
                got += 1
                if default in dataset.PLUGIN_OF and (problem := _check_record(rec, spec, default)):
                    bad.append(problem)
            want = expected.topics.get(default, 0)
            if got != want:
                problems.append(f"topic {topic}: {got} records, expected {want}")
            problems += bad[:5]
        counts: dict[TopicPartition, int] = {}
        async for rec in read_all(consumer, _partitions(spec.source_topic, spec.partitions)):
            tp = TopicPartition(rec.topic, rec.partition)
            counts[tp] = rec.offset + 1
    finally:
        await consumer.stop()
    problems += await _check_commits(spec, counts)
    if check_delta:
        for table, want in expected.tables.items():
            path = Path(spec.delta_root) / table
            if not path.exists():
                problems.append(f"delta table {table}: missing, expected {want} rows")
                continue
            data = DeltaTable(str(path)).to_pyarrow_dataset()
            if (got := data.count_rows()) != want:
                problems.append(f"delta table {table}: {got} rows, expected {want}")
            # Same rows means same columns too: the worker's schema of the XACT model.
            if not data.schema.equals(ROW_SCHEMA):
                problems.append(f"delta table {table}: schema differs from the worker's:\n{data.schema}")
    return problems


async def _check_commits(spec: RunSpec, ends: dict[TopicPartition, int]) -> list[str]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=spec.bootstrap_servers, group_id=spec.group_id, enable_auto_commit=False
    )
    await consumer.start()
    try:
        behind = []
        for tp, end in sorted(ends.items()):
            committed = await consumer.committed(tp)
            if committed != end:
                behind.append(f"{tp.partition}: committed {committed}, end {end}")
        if behind:
            return [f"group {spec.group_id} did not commit all of {spec.source_topic}: {behind}"]
        return []
    finally:
        await consumer.stop()
