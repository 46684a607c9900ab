"""What the worker's integration tests do to a broker and a Delta root, and read back from them."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
import yaml
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from deltalake import DeltaTable
from deltalake.exceptions import TableNotFoundError

from kafka_pipeline import PipelineConfig, parse_config
from kafka_pipeline._worker.runner import Worker

Parcel = dict[str, Any]

_serial = itertools.count(1)


@dataclass(frozen=True)
class Names:
    """One test's topics, consumer group and Delta root."""

    prefix: str
    delta_root: Path

    @property
    def source(self) -> str:
        return f"{self.prefix}.results"

    @property
    def dlq(self) -> str:
        return f"{self.prefix}.results.dlq"

    @property
    def group(self) -> str:
        return f"{self.prefix}-group"

    def topic(self, name: str) -> str:
        return f"{self.prefix}.{name}"

    def table(self, name: str) -> Path:
        return self.delta_root / name


def make_names(base: Path, label: str) -> Names:
    slug = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")[:40]
    return Names(prefix=f"t{next(_serial)}-{slug}", delta_root=base / "delta")


def config_data(
    bootstrap: str,
    names: Names,
    plugins: dict[str, dict[str, Any]],
    **sections: Any,
) -> dict[str, Any]:
    """A worker configuration for ``names``, loading only ``plugins`` (name: settings).

    Small flushes and short timeouts keep the tests quick; ``sections``
    replace whole top-level sections.
    """
    data: dict[str, Any] = {
        "kafka": {
            "bootstrap_servers": bootstrap,
            "group_id": names.group,
            "enable_idempotence": False,  # Tansu refuses the idempotent producer
            "session_timeout_ms": 6000,
        },
        "source_topic": names.source,
        "delta": {"root": str(names.delta_root), "flush_max_rows": 1000, "flush_max_seconds": 0.5},
        "load": sorted(plugins),
        "plugins": plugins,
        "worker": {"poll_timeout_ms": 200, "delivery_backoff_seconds": 0.1},
    }
    data.update(sections)
    return data


def run_worker(config: PipelineConfig | dict[str, Any], *, idle: float = 1.5, **options: Any) -> Worker:
    """Run an in-process worker of the ``parcels`` domain until it has been idle for ``idle`` seconds."""
    if not isinstance(config, PipelineConfig):
        config = parse_config(config)
    worker = Worker.from_config(config, "parcels", exit_when_idle=idle, **options)
    asyncio.run(asyncio.wait_for(worker.run(), timeout=120))
    return worker


@dataclass(frozen=True)
class Record:
    """One record read back from a topic."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: dict[str, str]
    #: The record's time, ms since the epoch.
    timestamp: int = 0


def parcel(
    trace_id: str,
    status: str = "completed",
    carrier: str = "post",
    tags: Sequence[str] = (),
    **extra: Any,
) -> Parcel:
    """A valid ``parcels`` message as a JSON-ready dict."""
    return {
        "trace_id": trace_id,
        "status": status,
        "carrier": carrier,
        "weight_kg": 2.5,
        "items": 1,
        "sent_at": "2026-11-29T10:00:00+01:00",
        "dimensions": {"width_cm": 20.0, "height_cm": 10.0},
        "tags": list(tags),
        **extra,
    }


def encode(message: Parcel) -> bytes:
    return json.dumps(message).encode()


async def create_topics(bootstrap: str, *topics: str, partitions: int = 3) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(t, partitions, 1) for t in topics])
    finally:
        await admin.close()


async def topic_partitions(bootstrap: str, topic: str) -> list[int]:
    """The partitions of ``topic``; none when it does not exist."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        if topic not in await admin.list_topics():
            return []
        (described,) = await admin.describe_topics([topic])
        return sorted(p["partition"] for p in described["partitions"])
    finally:
        await admin.close()


async def produce(bootstrap: str, topic: str, records: Iterable[tuple[bytes | None, bytes | None]]) -> None:
    """Send ``(key, value)`` pairs and wait until the broker has them all."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        futures = [await producer.send(topic, value, key=key) for key, value in records]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def _read_all(bootstrap: str, topic: str) -> tuple[list[Record], dict[int, int]]:
    """Every record of ``topic`` and each partition's end offset.

    The end is the high watermark of fetch responses: Tansu answers
    ListOffsets(latest), hence ``end_offsets()``, with a batch's base offset.
    """
    partitions = [TopicPartition(topic, p) for p in await topic_partitions(bootstrap, topic)]
    if not partitions:
        return [], {}
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        records: list[Record] = []

        async def behind() -> bool:
            for tp in partitions:
                highwater = consumer.highwater(tp)
                if highwater is None or await consumer.position(tp) < highwater:
                    return True
            return False

        while await behind():
            batch = await consumer.getmany(timeout_ms=500)
            records += [
                Record(
                    r.topic,
                    r.partition,
                    r.offset,
                    r.key,
                    r.value,
                    {k: v.decode() for k, v in r.headers},
                    r.timestamp,
                )
                for recs in batch.values()
                for r in recs
            ]
        return records, {tp.partition: consumer.highwater(tp) for tp in partitions}
    finally:
        await consumer.stop()


async def read_topic(bootstrap: str, topic: str) -> list[Record]:
    """Every record the topic holds right now; none when it does not exist."""
    records, _ = await _read_all(bootstrap, topic)
    return records


async def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    """Each partition's next offset: what a group that consumed everything has committed."""
    _, ends = await _read_all(bootstrap, topic)
    return ends


async def committed_offsets(bootstrap: str, group: str, topic: str, partitions: int) -> dict[int, int | None]:
    """The group's committed offset of each partition, as a new member of the group sees it."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        return {p: await consumer.committed(TopicPartition(topic, p)) for p in range(partitions)}
    finally:
        await consumer.stop()


def read_table(uri: str | Path, storage_options: Mapping[str, str] | None = None) -> pa.Table:
    """A Delta table's rows; an empty table when it was never created."""
    try:
        table = DeltaTable(str(uri), storage_options=dict(storage_options) if storage_options else None)
    except TableNotFoundError:
        return pa.table({})
    # Read through a dataset: DeltaTable.to_pyarrow_table() aborts the interpreter at exit.
    return table.to_pyarrow_dataset().to_table()


def write_config(path: Path, data: Mapping[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(dict(data)))
    return path


@dataclass
class WorkerProcess:
    """``python -m kafka_pipeline._cli worker ...`` in a child process, its output in files."""

    args: list[str]
    site: Path
    logs: Path
    proc: subprocess.Popen[bytes] | None = None
    _out: list[IO[bytes]] = field(default_factory=list)
    #: More site directories with fake distributions, after ``site`` on the path.
    more_sites: tuple[Path, ...] = ()

    def start(self) -> WorkerProcess:
        sites = [str(self.site), *map(str, self.more_sites), os.environ.get("PYTHONPATH", "")]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sites)}
        env.pop("KAFKA_PIPELINE_LOAD_PLUGINS", None)
        self.logs.parent.mkdir(parents=True, exist_ok=True)
        err = self.logs.open("ab")
        self._out = [err]
        command = [sys.executable, "-m", "kafka_pipeline._cli", "--log-level", "info", "worker", *self.args]
        self.proc = subprocess.Popen(command, env=env, stdout=err, stderr=err, stdin=subprocess.DEVNULL)
        return self

    def signal(self, sig: signal.Signals) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def wait(self, timeout: float = 120) -> int:
        assert self.proc is not None
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            for f in self._out:
                f.close()

    def run_to_end(self, timeout: float = 120) -> int:
        """Start the worker, wait for it to exit (``--exit-when-idle``), and kill it if it did not."""
        self.start()
        try:
            return self.wait(timeout=timeout)
        finally:
            self.kill()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for f in self._out:
            f.close()

    def output(self) -> str:
        return self.logs.read_text(errors="replace") if self.logs.exists() else ""

    def summary(self) -> dict[str, Any]:
        """The counters the ``worker`` command prints when it stops."""
        line = next(line for line in self.output().splitlines() if line.startswith("worker stopped: "))
        summary: dict[str, Any] = json.loads(line.removeprefix("worker stopped: "))
        return summary


def wait_for(condition: Any, timeout: float, what: str, interval: float = 0.1) -> None:
    """Poll ``condition()`` until true; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(interval)


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(dt.UTC)
