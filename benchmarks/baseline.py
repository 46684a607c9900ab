"""(b) The hand-written pipeline: what a careful engineer writes without the framework.

One process, one loop: ``getmany``, ``model_validate_json``, the three XACT
rules as if/else, ``producer.send`` with the delivery futures gathered per
batch, one Delta append per table per batch, then the offset commit. It
produces the same records (payload, key, headers) and the same Delta rows
as the framework, and uses aiokafka and deltalake as their docs show, with
their defaults (aiokafka's own partitioner, a table opened by URI per append).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import dataset
import pyarrow as pa
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from deltalake import CommitProperties, Transaction, write_deltalake
from pydantic import ValidationError
from spec import RunSpec, Stopwatch

from kafka_pipeline_xact import DownloadResultMessage, FailureAlert

__all__ = ["SCHEMA", "DeltaSink", "Router", "Rows", "run"]

Send = Callable[[str, bytes, bytes, list[tuple[str, bytes]]], Awaitable[None]]


class Router:
    """The three XACT rules, written out by hand, with the framework's provenance headers."""

    def __init__(self, spec: RunSpec) -> None:
        ns = spec.namespace
        self.esx = ns.topic(dataset.ESX)
        self.alerts = ns.topic(dataset.ALERTS)
        self.subtypes = {
            "estimateCreated": ns.topic(dataset.ESTIMATES),
            "documentsReceived": ns.topic(dataset.DOCUMENTS),
        }
        self.dlq = ns.dlq

    @staticmethod
    def headers(
        plugin: bytes, topic: bytes, partition: bytes, offset: int, trace: bytes
    ) -> list[tuple[str, bytes]]:
        return [
            ("x-routed-by", plugin),
            ("x-source-topic", topic),
            ("x-source-partition", partition),
            ("x-source-offset", str(offset).encode()),
            ("x-trace-id", trace),
        ]

    def route(
        self, msg: DownloadResultMessage, value: bytes, topic: bytes, partition: bytes, offset: int
    ) -> list[tuple[str, bytes, bytes, list[tuple[str, bytes]]]]:
        """(topic, value, key, headers) of every record this result is routed as."""
        out = []
        trace = msg.trace_id.encode()
        if msg.status == "completed":
            if msg.file_type is not None and msg.file_type.lower() == "esx":
                out.append(
                    (self.esx, value, trace, self.headers(b"esx-processor", topic, partition, offset, trace))
                )
            routed = self.subtypes.get(msg.status_subtype or "")
            if routed is not None:
                headers = self.headers(b"status-subtype-router", topic, partition, offset, trace)
                out.append((routed, value, trace, headers))
        elif msg.status == "failed_permanent" and msg.retry_count >= dataset.MIN_ALERT_RETRIES:
            alert = FailureAlert.for_result(msg)
            headers = self.headers(b"failure-alerter", topic, partition, offset, trace)
            out.append((self.alerts, alert.__pydantic_serializer__.to_json(alert), trace, headers))
        return out


#: The rows' layout, written out: the result's fields, then where each row came from.
TIMESTAMP = pa.timestamp("us", tz="UTC")
SCHEMA = pa.schema(
    [
        pa.field("trace_id", pa.string(), nullable=False),
        pa.field("assignment_id", pa.string(), nullable=False),
        pa.field("status", pa.string(), nullable=False),
        pa.field("status_subtype", pa.string()),
        pa.field("file_type", pa.string()),
        pa.field("http_status", pa.int64()),
        pa.field("retry_count", pa.int64(), nullable=False),
        pa.field("bytes_downloaded", pa.int64(), nullable=False),
        pa.field("error_message", pa.string()),
        pa.field("attachment_url", pa.string()),
        pa.field("blob_path", pa.string()),
        pa.field("created_at", TIMESTAMP),
        pa.field("_source_topic", pa.string(), nullable=False),
        pa.field("_source_partition", pa.int32(), nullable=False),
        pa.field("_source_offset", pa.int64(), nullable=False),
        pa.field("_routed_to", pa.list_(pa.string()), nullable=False),
        pa.field("_ingested_at", TIMESTAMP, nullable=False),
    ]
)
_FIELDS = SCHEMA.names[:12]


class Rows:
    """One table's rows of one batch, kept as columns of Python values."""

    def __init__(self) -> None:
        self.messages: list[DownloadResultMessage] = []
        self.partitions: list[int] = []
        self.offsets: list[int] = []
        self.routed: list[list[str]] = []

    def add(self, msg: DownloadResultMessage, partition: int, offset: int, routed: list[str]) -> None:
        self.messages.append(msg)
        self.partitions.append(partition)
        self.offsets.append(offset)
        self.routed.append(routed)

    def to_arrow(self, topic: str, ingested_at_us: int) -> pa.Table:
        count = len(self.messages)
        columns = [
            pa.array([getattr(m, name) for m in self.messages], SCHEMA.field(name).type) for name in _FIELDS
        ]
        columns += [
            pa.array([topic] * count, pa.string()),
            pa.array(self.partitions, pa.int32()),
            pa.array(self.offsets, pa.int64()),
            pa.array(self.routed, pa.list_(pa.string())),
            pa.array([ingested_at_us] * count, TIMESTAMP),
        ]
        return pa.Table.from_arrays(columns, schema=SCHEMA)


class DeltaSink:
    """Appends a batch's rows per table, recording each partition's last offset (Delta ``txn``)."""

    def __init__(self, root: str, group_id: str, topic: str) -> None:
        self.root = Path(root)
        self.group_id = group_id
        self.topic = topic

    def append(self, table: str, rows: Rows, last: dict[TopicPartition, int], ingested_at_us: int) -> None:
        if not rows.messages:
            return
        txns = [Transaction(f"{self.group_id}:{tp.topic}:{tp.partition}", off) for tp, off in last.items()]
        write_deltalake(
            str(self.root / table),
            rows.to_arrow(self.topic, ingested_at_us),
            mode="append",
            commit_properties=CommitProperties(app_transactions=txns),
        )


async def consume(spec: RunSpec, watch: Stopwatch, send_and_wait_each: bool) -> int:
    """The loop shared by (b) and (c); they differ only in how they wait for the broker."""
    consumer = AIOKafkaConsumer(
        spec.source_topic,
        bootstrap_servers=spec.bootstrap_servers,
        group_id=spec.group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    producer = AIOKafkaProducer(
        bootstrap_servers=spec.bootstrap_servers,
        # The framework's defaults for (b); (c) gets aiokafka's linger_ms=0, its
        # best case: any linger would add its full length to every round trip.
        linger_ms=0 if send_and_wait_each else 5,
        max_batch_size=262_144,
        enable_idempotence=False,
    )
    router = Router(spec)
    sink = DeltaSink(spec.delta_root, spec.group_id, spec.source_topic)
    await producer.start()
    await consumer.start()
    done = 0
    watch.start()
    try:
        while done < spec.messages:
            batches = await consumer.getmany(timeout_ms=500, max_records=spec.batch_max_records)
            pending: list[asyncio.Future[Any]] = []
            completed, failed = Rows(), Rows()
            ingested_at_us = time.time_ns() // 1000
            last: dict[TopicPartition, int] = {}
            for tp, records in batches.items():
                topic_b, part_b = tp.topic.encode(), str(tp.partition).encode()
                for rec in records:
                    try:
                        msg = DownloadResultMessage.model_validate_json(rec.value)
                    except ValidationError as exc:
                        headers = [("x-dlq-reason", b"invalid"), ("x-dlq-error", str(exc).encode())]
                        pending.append(
                            await producer.send(router.dlq, rec.value, key=rec.key, headers=headers)
                        )
                        continue
                    routed = router.route(msg, rec.value, topic_b, part_b, rec.offset)
                    for topic, value, key, headers in routed:
                        if send_and_wait_each:
                            await producer.send_and_wait(topic, value, key=key, headers=headers)
                        else:
                            pending.append(await producer.send(topic, value, key=key, headers=headers))
                    if msg.status == "completed":
                        completed.add(msg, tp.partition, rec.offset, [r[0] for r in routed])
                    elif msg.status == "failed_permanent":
                        failed.add(msg, tp.partition, rec.offset, [r[0] for r in routed])
                if records:
                    last[tp] = records[-1].offset
                    done += len(records)
            if not last:
                continue
            await asyncio.gather(*pending)
            sink.append(dataset.TABLES["completed"], completed, last, ingested_at_us)
            sink.append(dataset.TABLES["failed_permanent"], failed, last, ingested_at_us)
            await consumer.commit({tp: off + 1 for tp, off in last.items()})
        watch.stop()
    finally:
        await consumer.stop()
        await producer.stop()
    return done


async def run(spec: RunSpec, watch: Stopwatch) -> int:
    return await consume(spec, watch, send_and_wait_each=False)
