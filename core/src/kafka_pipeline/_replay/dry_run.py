"""``replay --dry-run``: what a replay would do, read from the DLQ without sending or committing anything.

It reads the DLQ topic from where the replay group stopped (the start, the
first time) to its end as of now, with a consumer that joins no group and
commits nothing, and judges every record by the rule the replay follows
(:class:`~kafka_pipeline._replay.selection.Selection`). No plugin is called:
whether a replayed record would succeed is the one thing it cannot say.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from aiokafka import TopicPartition

from kafka_pipeline._broker.clients import close_quietly, make_consumer, start_admin
from kafka_pipeline._broker.topics import TopicAdmin
from kafka_pipeline._config import PipelineConfig
from kafka_pipeline._errors import TopicMissingError
from kafka_pipeline._replay.reading import Progress, remaining
from kafka_pipeline._replay.selection import DlqRecord, Selection, Verdict

#: How many trace ids of records that would be replayed are shown.
FIRST_TRACE_IDS: Final = 10


@dataclass
class DryRunReport:
    """What a replay would do with the DLQ records it would read now."""

    dlq_topic: str
    group_id: str
    read: int = 0
    #: Per (plugin, reason): records that would be offered to their plugin again.
    would_replay: Counter[tuple[str, str]] = field(default_factory=Counter)
    #: Per plugin: records already replayed ``max_attempts`` times, that would be marked ``replay_exhausted``.
    would_exhaust: Counter[str] = field(default_factory=Counter)
    #: Per verdict (``not_selected``, ``outside_window``, ``unavailable``): kept for a later replay.
    kept: Counter[str] = field(default_factory=Counter)
    #: Per reason: invalid input and exhausted records, left alone.
    left_alone: Counter[str] = field(default_factory=Counter)
    #: ``x-trace-id`` (and the W3C trace id, if any) of the first records that would be replayed.
    first_trace_ids: list[tuple[str, str | None]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "dlq_topic": self.dlq_topic,
            "group_id": self.group_id,
            "read": self.read,
            "would_replay": [
                {"plugin": plugin, "reason": reason, "records": count}
                for (plugin, reason), count in sorted(self.would_replay.items())
            ],
            "would_exhaust": dict(self.would_exhaust),
            "kept": dict(self.kept),
            "left_alone": dict(self.left_alone),
            "first_trace_ids": [
                {"trace_id": trace_id, "w3c_trace_id": w3c} for trace_id, w3c in self.first_trace_ids
            ],
        }

    def render(self) -> str:
        """The report as a person reads it."""
        lines = [
            f"dry run: nothing sent, nothing committed; {self.read} records read from {self.dlq_topic} "
            f"(from where group {self.group_id} stopped, to the end)",
            f"would replay {sum(self.would_replay.values())}:",
        ]
        width = max((len(plugin) for plugin, _ in self.would_replay), default=6)
        lines += [
            f"  {plugin:<{width}}  {reason:<13} {count:>7}"
            for (plugin, reason), count in sorted(self.would_replay.items())
        ]
        if self.would_exhaust:
            lines.append(
                "would mark replay_exhausted (replayed --max-attempts times already): "
                + ", ".join(f"{p} {n}" for p, n in sorted(self.would_exhaust.items()))
            )
        if self.kept:
            lines.append(
                "kept for a later replay: " + ", ".join(f"{k} {n}" for k, n in sorted(self.kept.items()))
            )
        if self.left_alone:
            lines.append("left alone: " + ", ".join(f"{r} {n}" for r, n in sorted(self.left_alone.items())))
        if self.first_trace_ids:
            shown = [f"{t}" + (f" ({w3c})" if w3c else "") for t, w3c in self.first_trace_ids]
            lines.append("first trace ids: " + ", ".join(shown))
        return "\n".join(lines)


async def dry_run(
    config: PipelineConfig,
    dlq_topic: str,
    group_id: str,
    selection: Selection,
    running: Collection[str],
    *,
    idle_seconds: float = 5.0,
    client_options: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
) -> DryRunReport:
    """Read ``dlq_topic`` from ``group_id``'s committed offsets to its end; judge each record.

    ``running``: the plugins a replay would run. Stops at the end of every
    partition, or after ``idle_seconds`` without a record.
    """
    kafka = config.kafka
    options = dict(client_options or {})
    report = DryRunReport(dlq_topic, group_id)
    async with contextlib.AsyncExitStack() as stack:
        admin = await start_admin(stack, kafka, options)
        topics = TopicAdmin(admin, bootstrap_servers=kafka.bootstrap_servers)
        if not await topics.exists(dlq_topic):
            raise TopicMissingError(
                f"dead-letter topic {dlq_topic!r} does not exist on {kafka.bootstrap_servers}: "
                "nothing to replay. Check dlq_topic (or source_topic) in the configuration",
                topic=dlq_topic,
                bootstrap_servers=kafka.bootstrap_servers,
            )
        (described,) = await admin.describe_topics([dlq_topic])
        partitions = [TopicPartition(dlq_topic, p["partition"]) for p in described["partitions"]]
        # The group id only to read its committed offsets: assign() joins no group, and nothing commits.
        consumer = make_consumer(kafka.model_copy(update={"group_id": group_id}), options)
        stack.push_async_callback(close_quietly, consumer.stop)
        await consumer.start()
        consumer.assign(partitions)
        for tp in partitions:
            committed = await consumer.committed(tp)
            if committed is None:
                await consumer.seek_to_beginning(tp)
            else:
                consumer.seek(tp, committed)
        await _read(
            consumer,
            partitions,
            report=report,
            selection=selection,
            running=running,
            idle_seconds=idle_seconds,
            progress=progress,
        )
    return report


async def _read(
    consumer: Any,
    partitions: list[TopicPartition],
    *,
    report: DryRunReport,
    selection: Selection,
    running: Collection[str],
    idle_seconds: float,
    progress: Progress | None,
) -> None:
    last_record = time.monotonic()
    while True:
        batch = await consumer.getmany(timeout_ms=500)
        now = time.monotonic()
        for records in batch.values():
            for record in records:
                _judge(record, report, selection, running)
        if batch:
            last_record = now
        left = await remaining(consumer)
        if progress is not None:
            progress(report.read, report.read + left)
        at_end = all(consumer.highwater(tp) is not None for tp in partitions) and left == 0
        if at_end or now - last_record >= idle_seconds:
            return


def _judge(record: Any, report: DryRunReport, selection: Selection, running: Collection[str]) -> None:
    report.read += 1
    dlq = DlqRecord.of(record)
    verdict = selection.verdict(dlq, running)
    if verdict is Verdict.REPLAY:
        report.would_replay[dlq.plugin, dlq.reason] += 1
        if len(report.first_trace_ids) < FIRST_TRACE_IDS:
            report.first_trace_ids.append((dlq.trace_id or "?", dlq.w3c_trace_id(record)))
    elif verdict is Verdict.EXHAUSTED:
        report.would_exhaust[dlq.plugin] += 1
    elif verdict is Verdict.LEFT_ALONE:
        report.left_alone[dlq.reason or "unknown"] += 1
    else:
        report.kept[verdict.value] += 1
