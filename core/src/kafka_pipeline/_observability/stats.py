"""``WorkerStats``: what the worker has done so far, in plain counters.

The worker bumps plain ints on its hot path and nothing else; the ``demo``
summary and the Prometheus collector (``kafka_pipeline._observability``, on the
endpoint's thread, at scrape time) read these objects when they like.
Counts of routed records and Delta rows are of work handed over, and become
durable at the next flush (see :class:`FlushReport`).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from kafka_pipeline._observability.timing import FLUSH_SECONDS_BUCKETS, Timings


@dataclass(slots=True)
class PluginStats:
    """One plugin's counters."""

    #: Messages for which ``should_route`` returned True.
    matched: int = 0
    #: Records the plugin sent (successful attempts only).
    sent: int = 0
    #: Messages whose routing failed after every retry (``should_route`` raising included).
    errors: int = 0
    #: Failed attempts that were retried.
    retries: int = 0
    #: Attempts that hit the plugin's timeout.
    timeouts: int = 0
    #: Messages parked in the DLQ for this plugin (``plugin_error`` and ``circuit_open``).
    dlq: int = 0
    #: Times the circuit breaker opened.
    breaker_opened: int = 0
    #: ``closed``, ``open`` or ``half_open``.
    breaker_state: str = "closed"
    #: How long ``route`` took, for a sample of the matched messages.
    route_seconds: Timings = field(default_factory=Timings)


@dataclass(slots=True)
class FlushReport:
    """One completed flush: everything in it is acknowledged, in Delta and committed."""

    #: Next offset committed per ``(topic, partition)``.
    offsets: dict[tuple[str, int], int]
    #: Rows appended per table.
    rows: dict[str, int]
    #: Rows skipped per table because an earlier run had already written them.
    duplicates: dict[str, int]
    #: Routed and DLQ records acknowledged.
    records: int
    seconds: float


@dataclass
class WorkerStats:
    """Counters of one worker run.

    ``messages`` counts source records by outcome: ``invalid`` (sent to the
    DLQ), ``routed`` (at least one plugin sent something), ``stored`` (a
    Delta row) and ``skipped`` (valid, neither routed nor stored). A message
    both routed and stored counts in both.
    """

    started_at: float = field(default_factory=time.monotonic)
    consumed: int = 0
    batches: int = 0
    messages: Counter[str] = field(default_factory=Counter)
    plugins: dict[str, PluginStats] = field(default_factory=dict)
    routed_by_topic: Counter[str] = field(default_factory=Counter)
    dlq_by_reason: Counter[str] = field(default_factory=Counter)
    delta_rows: Counter[str] = field(default_factory=Counter)
    #: Where each table lives (local path or object-store URI).
    delta_tables: dict[str, str] = field(default_factory=dict)
    delta_duplicates_skipped: int = 0
    flushes: int = 0
    offsets_committed: int = 0
    rebalances: int = 0
    assignment: list[tuple[str, int]] = field(default_factory=list)
    last_flush: FlushReport | None = None
    #: When the last flush completed (``time.monotonic``); None before the first.
    last_flush_at: float | None = None
    #: How long each flush took: acknowledgements, Delta append, offset commit.
    flush_seconds: Timings = field(default_factory=lambda: Timings(FLUSH_SECONDS_BUCKETS))
    #: Records behind the high watermark per assigned ``(topic, partition)``, as of the last poll.
    consumer_lag: dict[tuple[str, int], int] = field(default_factory=dict)
    #: When the consumer loop last came back from a poll (``time.monotonic``); None before the first.
    last_poll_at: float | None = None
    #: Configuration reloads by result: ``applied`` or ``refused``.
    reloads: Counter[str] = field(default_factory=Counter)

    def plugin(self, name: str) -> PluginStats:
        stats = self.plugins.get(name)
        if stats is None:
            stats = self.plugins[name] = PluginStats()
        return stats

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started_at

    @property
    def throughput(self) -> float:
        """Source messages consumed per second since the start."""
        elapsed = self.elapsed
        return self.consumed / elapsed if elapsed > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready snapshot."""
        return {
            "consumed": self.consumed,
            "batches": self.batches,
            "elapsed_seconds": round(self.elapsed, 3),
            "throughput_per_second": round(self.throughput, 1),
            "messages": dict(self.messages),
            "plugins": {
                name: {
                    "matched": p.matched,
                    "sent": p.sent,
                    "errors": p.errors,
                    "retries": p.retries,
                    "timeouts": p.timeouts,
                    "dlq": p.dlq,
                    "breaker_opened": p.breaker_opened,
                    "breaker_state": p.breaker_state,
                }
                for name, p in sorted(self.plugins.items())
            },
            "routed_by_topic": dict(self.routed_by_topic),
            "dlq_by_reason": dict(self.dlq_by_reason),
            "delta": {
                table: {"rows": self.delta_rows.get(table, 0), "uri": uri}
                for table, uri in sorted(self.delta_tables.items())
            },
            "delta_duplicates_skipped": self.delta_duplicates_skipped,
            "flushes": self.flushes,
            "offsets_committed": self.offsets_committed,
            "rebalances": self.rebalances,
            "assignment": [f"{t}[{p}]" for t, p in self.assignment],
            "consumer_lag": {f"{t}[{p}]": lag for (t, p), lag in sorted(self.consumer_lag.items())},
            "reloads": dict(self.reloads),
        }
