"""What routing one message did, plugin by plugin: the engine's account for dry runs and tests.

``kafka-pipeline route`` and the test kit route through the same
:class:`~kafka_pipeline._engine.engine.RoutingEngine` as the worker, into an
outbox that only keeps the records; :func:`offer` then reads what happened
from the outbox and the plugins' counters, so nothing is added to the
worker's path. A failed attempt's records are not in the account: the
engine dropped them, as the worker does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import CoroutineType
from typing import Any

from kafka_pipeline._dlq import HEADER_DLQ_ERROR, HEADER_DLQ_PLUGIN, HEADER_DLQ_REASON
from kafka_pipeline._engine.engine import RoutingEngine
from kafka_pipeline._envelope import SourceRecord
from kafka_pipeline._outbox import OutgoingRecord


@dataclass(frozen=True, slots=True)
class PluginOutcome:
    """What one plugin did with one message.

    ``matched``: its ``should_route`` returned True. ``error`` and ``stage``
    (``should_route`` or ``route``): the exception it failed with, after
    every retry; the message then went to the DLQ for this plugin.
    """

    plugin: str
    matched: bool
    error: BaseException | None = None
    stage: str | None = None


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A record the message would leave in the DLQ: why (``x-dlq-reason``), for which plugin, the error."""

    reason: str
    plugin: str | None
    error: str


@dataclass(slots=True)
class Offer:
    """One message through the engine: per-plugin outcomes, the records sent, the DLQ records."""

    outcomes: list[PluginOutcome] = field(default_factory=list)
    records: list[OutgoingRecord] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)


def _header(record: OutgoingRecord, name: str) -> str | None:
    for key, value in record.headers:
        if key == name:
            return value.decode(errors="replace")
    return None


def dead_letter_of(record: OutgoingRecord) -> DeadLetter:
    """The DLQ record ``record`` read back: reason, plugin and error from its headers."""
    return DeadLetter(
        reason=_header(record, HEADER_DLQ_REASON) or "",
        plugin=_header(record, HEADER_DLQ_PLUGIN),
        error=_header(record, HEADER_DLQ_ERROR) or "",
    )


async def offer(engine: RoutingEngine, message: Any, source: SourceRecord) -> Offer:
    """Route ``message`` through ``engine`` and account for it; the outbox is emptied."""
    slots = engine.slots
    matched_before = [slot.stats.matched for slot in slots]
    errors_before = [slot.stats.errors for slot in slots]
    engine.outbox.take()
    routed = engine.route(message, source)
    if isinstance(routed, CoroutineType):
        await routed
    result = Offer()
    for slot, matched, errors in zip(slots, matched_before, errors_before, strict=True):
        failure = slot.failure if slot.stats.errors > errors else None
        result.outcomes.append(
            PluginOutcome(
                slot.name,
                matched=slot.stats.matched > matched,
                error=failure.error if failure is not None else None,
                stage=failure.stage if failure is not None else None,
            )
        )
    for record in engine.outbox.take():
        if record.plugin is None:
            result.dead_letters.append(dead_letter_of(record))
        else:
            result.records.append(record)
    return result
