"""What a demo run did, per domain and in total: the numbers the summary prints.

Every number comes from the workers' own counters (``WorkerStats``) or from
what the demo produced; none is estimated. The integration tests hold them
against what the topics and Delta tables actually contain.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kafka_pipeline._demo.samples import SampleKind
from kafka_pipeline._observability.stats import WorkerStats


@dataclass
class DomainRun:
    """One domain's part of the demo: what was produced, and what its worker did with it."""

    name: str
    source_topic: str
    dlq_topic: str
    #: Records produced, by :class:`~kafka_pipeline._demo.samples.SampleKind` value.
    produced: Counter[str]
    stats: WorkerStats
    #: From the start of the worker until the consumer group gave it its partitions.
    join_seconds: float = 0.0
    #: From then until the worker stopped, the final flush and commit included.
    seconds: float = 0.0
    #: Every produced record was processed and its offset committed.
    drained: bool = False
    #: Why the worker stopped early, if it did.
    error: str | None = None

    @property
    def produced_total(self) -> int:
        return sum(self.produced.values())

    @property
    def invalid_produced(self) -> int:
        return self.produced_total - self.produced.get(SampleKind.VALID.value, 0)

    @property
    def throughput(self) -> float:
        """Results consumed per second once the worker had its partitions."""
        return self.stats.consumed / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        stats = self.stats
        return {
            "source_topic": self.source_topic,
            "dlq_topic": self.dlq_topic,
            "produced": {"total": self.produced_total, **dict(sorted(self.produced.items()))},
            "consumed": stats.consumed,
            "drained": self.drained,
            "join_seconds": round(self.join_seconds, 3),
            "seconds": round(self.seconds, 3),
            "throughput_per_second": round(self.throughput, 1),
            "messages": {k: stats.messages.get(k, 0) for k in ("stored", "routed", "invalid", "skipped")},
            "plugins": {
                name: {"matched": p.matched, "sent": p.sent, "errors": p.errors, "dlq": p.dlq}
                for name, p in sorted(stats.plugins.items())
            },
            "routed_topics": dict(sorted(stats.routed_by_topic.items())),
            "delta": {
                table: {"rows": stats.delta_rows.get(table, 0), "path": uri}
                for table, uri in sorted(stats.delta_tables.items())
            },
            "dlq": {
                "records": sum(stats.dlq_by_reason.values()),
                "by_reason": dict(sorted(stats.dlq_by_reason.items())),
            },
            "error": self.error,
        }


@dataclass
class DemoSummary:
    """The whole demo run."""

    bootstrap_servers: str
    delta_root: Path
    seed: int
    messages: int
    partitions: int
    domains: list[DomainRun] = field(default_factory=list)
    #: Installed domains left out, and why (no sample factory, a broken one).
    skipped: dict[str, str] = field(default_factory=dict)
    #: Plugins (or domains) that failed to load and were skipped.
    problems: list[str] = field(default_factory=list)
    #: Wall-clock time of the workers, which run side by side: from the first one that had
    #: its partitions to the last one stopped.
    seconds: float = 0.0
    #: Everything from start-up to the summary: broker, topics, producing, workers.
    elapsed: float = 0.0
    interrupted: bool = False
    #: The demo started the embedded broker and has stopped it (its topics are gone).
    broker_stopped: bool = False
    #: The JSON Lines file produced instead of sample results (``--input``), if any.
    input: Path | None = None

    @property
    def consumed(self) -> int:
        return sum(run.stats.consumed for run in self.domains)

    @property
    def produced(self) -> int:
        return sum(run.produced_total for run in self.domains)

    @property
    def throughput(self) -> float:
        """Results consumed per second, all workers together."""
        return self.consumed / self.seconds if self.seconds > 0 else 0.0

    @property
    def ok(self) -> bool:
        """Every domain drained without error, and nobody pressed Ctrl-C."""
        return not self.interrupted and all(run.drained and run.error is None for run in self.domains)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready form: what ``kafka-pipeline demo --json`` prints."""
        return {
            "ok": self.ok,
            "interrupted": self.interrupted,
            "broker": self.bootstrap_servers,
            "delta_root": str(self.delta_root.absolute()),
            "input": None if self.input is None else str(self.input),
            "seed": self.seed,
            "messages_per_domain": self.messages if self.input is None else self.produced,
            "partitions": self.partitions,
            "domains": {run.name: run.as_dict() for run in self.domains},
            "skipped_domains": dict(sorted(self.skipped.items())),
            "problems": list(self.problems),
            "total": {
                "produced": self.produced,
                "consumed": self.consumed,
                "seconds": round(self.seconds, 3),
                "throughput_per_second": round(self.throughput, 1),
                "elapsed_seconds": round(self.elapsed, 3),
            },
        }
