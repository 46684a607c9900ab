"""The benchmark's data set and what routing it must produce.

Messages come from the XACT domain's own sample factory (70% completed, 20%
failed, 10% failed_permanent, about 430 bytes each), so every variant sees
production-like results. The expected outcome is computed here from the raw
dicts with the rules as DESIGN.md states them, independently of the plugins,
so that a variant that is fast because it is wrong fails its check.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from kafka_pipeline._broker.embedded import EmbeddedBroker
from kafka_pipeline._broker.partitioner import KeyPartitioner
from kafka_pipeline_xact import XACT_DOMAIN

__all__ = [
    "ALERTS",
    "Broker",
    "DOCUMENTS",
    "ESX",
    "ESTIMATES",
    "PLUGIN_OF",
    "ROUTED_PARTITIONS",
    "ROUTED_TOPICS",
    "TABLES",
    "Expected",
    "Namespace",
    "broker",
    "create_topics",
    "expected_for",
    "generate",
    "produce",
]

SOURCE: Final = XACT_DOMAIN.source_topic
ESX: Final = "xact.esx.processing"
ALERTS: Final = "xact.alerts.failures"
ESTIMATES: Final = "xact.estimates.received"
DOCUMENTS: Final = "xact.documents.received"
ROUTED_TOPICS: Final = (ESX, ALERTS, ESTIMATES, DOCUMENTS)
#: Which plugin must have produced the records of each routed topic (its ``x-routed-by``).
PLUGIN_OF: Final = {
    ESX: "esx-processor",
    ALERTS: "failure-alerter",
    ESTIMATES: "status-subtype-router",
    DOCUMENTS: "status-subtype-router",
}
TABLES: Final = {"completed": "xact_attachments", "failed_permanent": "xact_attachments_failed"}
SUBTYPE_ROUTES: Final = {"estimateCreated": ESTIMATES, "documentsReceived": DOCUMENTS}
MIN_ALERT_RETRIES: Final = 3
#: Partitions of every routed topic and the DLQ.
ROUTED_PARTITIONS: Final = 3


@dataclass(frozen=True)
class Namespace:
    """Topic names of one variant run: each run routes into its own topics, so counts are its own."""

    prefix: str

    def topic(self, default: str) -> str:
        return f"{self.prefix}.{default}"

    @property
    def dlq(self) -> str:
        return self.topic(f"{SOURCE}.dlq")

    def all_topics(self) -> list[str]:
        return [self.topic(t) for t in ROUTED_TOPICS] + [self.dlq]


@dataclass
class Expected:
    """What routing and storing a data set must produce, by default topic and table name."""

    messages: int = 0
    topics: Counter[str] = field(default_factory=Counter)
    tables: Counter[str] = field(default_factory=Counter)

    def add(self, message: dict[str, Any]) -> None:
        self.messages += 1
        status = message["status"]
        if status in TABLES:
            self.tables[TABLES[status]] += 1
        if status == "completed":
            if str(message.get("file_type") or "").lower() == "esx":
                self.topics[ESX] += 1
            routed = SUBTYPE_ROUTES.get(message.get("status_subtype") or "")
            if routed is not None:
                self.topics[routed] += 1
        elif status == "failed_permanent" and message["retry_count"] >= MIN_ALERT_RETRIES:
            self.topics[ALERTS] += 1

    def as_dict(self) -> dict[str, Any]:
        return {"messages": self.messages, "topics": dict(self.topics), "tables": dict(self.tables)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Expected:
        return cls(data["messages"], Counter(data["topics"]), Counter(data["tables"]))


def generate(count: int, seed: int) -> Iterator[tuple[dict[str, Any], bytes, bytes]]:
    """``count`` sample results as (dict, key, value); the key is the trace id, as upstream keys them."""
    sample = XACT_DOMAIN.sample
    if sample is None:
        raise RuntimeError("the installed XACT domain has no sample factory; upgrade kafka-pipeline-xact")
    rng = random.Random(seed)
    for _ in range(count):
        message = sample(rng)
        yield message, message["trace_id"].encode(), json.dumps(message).encode()


def expected_for(count: int, seed: int) -> Expected:
    expected = Expected()
    for message, _, _ in generate(count, seed):
        expected.add(message)
    return expected


@dataclass(frozen=True)
class Broker:
    """Where the benchmark's broker listens, and (embedded) which process it is."""

    bootstrap_servers: str
    pid: int | None = None

    def cpu_seconds(self) -> float:
        """CPU time the embedded broker has used so far; 0 for an outside broker."""
        if self.pid is None:
            return 0.0
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _pid_listening_on(address: str) -> int | None:
    """The process started with ``--listener-url tcp://ADDRESS`` (its arguments are NUL-separated)."""
    wanted = f"--listener-url\0tcp://{address}\0".encode()
    for proc in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError):
            if wanted in (proc / "cmdline").read_bytes():
                return int(proc.name)
    return None


@contextlib.contextmanager
def broker() -> Iterator[Broker]:
    """``KAFKA_BOOTSTRAP_SERVERS`` if set, else a fresh embedded broker."""
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        yield Broker(os.environ["KAFKA_BOOTSTRAP_SERVERS"])
        return
    with EmbeddedBroker() as embedded:
        address = embedded.bootstrap_servers
        yield Broker(address, _pid_listening_on(address))


async def create_topics(bootstrap: str, topics: list[str], partitions: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(t, partitions, 1) for t in topics])
    finally:
        await admin.close()


async def produce(bootstrap: str, topic: str, count: int, seed: int, partitions: int) -> Expected:
    """Create ``topic`` and fill it with ``count`` results; returns what routing them must give.

    Streams: the data set is never held in memory whole, whatever its size.
    """
    await create_topics(bootstrap, [topic], partitions)
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        linger_ms=20,
        max_batch_size=1 << 20,
        partitioner=KeyPartitioner(),
        enable_idempotence=False,
    )
    await producer.start()
    expected = Expected()
    pending: list[asyncio.Future[Any]] = []
    try:
        for message, key, value in generate(count, seed):
            expected.add(message)
            pending.append(await producer.send(topic, value, key=key))
            if len(pending) >= 10_000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return expected
