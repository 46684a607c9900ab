"""Which DLQ records a replay takes, which it leaves alone, and which it keeps for a later replay.

One rule for the replay and its dry run, so that ``--dry-run`` says exactly
what the replay would do.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Final

from kafka_pipeline._dlq import HEADER_DLQ_PLUGIN, HEADER_DLQ_REASON, DlqReason
from kafka_pipeline._envelope import HEADER_TRACE_ID, trace_context, trace_id_of

HEADER_REPLAY_RUN: Final = "x-replay-run"
HEADER_REPLAY_COUNT: Final = "x-replay-count"
#: When the record was first dead-lettered (ms since the epoch): a copy keeps its original's time.
HEADER_DLQ_TIMESTAMP: Final = "x-dlq-timestamp"

#: The reasons a replay runs again; the others are invalid input or given up on.
REPLAYABLE: Final = frozenset({DlqReason.PLUGIN_ERROR, DlqReason.CIRCUIT_OPEN})
DEFAULT_MAX_ATTEMPTS: Final = 3


class Verdict(enum.Enum):
    """What a replay does with a DLQ record."""

    #: Offered to its plugin again.
    REPLAY = "replay"
    #: Replayed ``max_attempts`` times already: marked ``replay_exhausted`` without another try.
    EXHAUSTED = "exhausted"
    #: Invalid input, or given up on (``replay_exhausted``): untouched.
    LEFT_ALONE = "left_alone"
    #: A plugin failure that ``--reason``/``--plugin`` did not select: kept for a later replay.
    NOT_SELECTED = "not_selected"
    #: Dead-lettered before ``--since`` or after ``--until``: kept for a later replay.
    OUTSIDE_WINDOW = "outside_window"
    #: Its plugin is not running here: kept for a later replay.
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class DlqRecord:
    """What a DLQ record's headers and timestamp say about it."""

    headers: dict[str, str]
    #: When it was first dead-lettered (ms since the epoch): ``x-dlq-timestamp``, else the record's time.
    dead_lettered_ms: int

    @classmethod
    def of(cls, record: Any) -> DlqRecord:
        """The view of an aiokafka ``ConsumerRecord`` from the DLQ topic."""
        headers = {k: v.decode(errors="replace") for k, v in record.headers or ()}
        stamp = headers.get(HEADER_DLQ_TIMESTAMP, "")
        return cls(headers, int(stamp) if stamp.isdigit() else int(record.timestamp))

    @property
    def reason(self) -> str:
        return self.headers.get(HEADER_DLQ_REASON, "")

    @property
    def plugin(self) -> str:
        return self.headers.get(HEADER_DLQ_PLUGIN, "")

    @property
    def replays(self) -> int:
        """How many replays this record has failed (``x-replay-count``)."""
        count = self.headers.get(HEADER_REPLAY_COUNT, "0")
        return int(count) if count.isdigit() else 0

    @property
    def trace_id(self) -> str | None:
        return self.headers.get(HEADER_TRACE_ID)

    def w3c_trace_id(self, record: Any) -> str | None:
        """The trace id of the record's ``traceparent``, if it carries a valid one."""
        return trace_id_of(trace_context(record.headers)) if record.headers else None


@dataclass(frozen=True)
class Selection:
    """What a replay run was asked to take.

    Args:
        reasons: the ``x-dlq-reason`` values to replay (a subset of :data:`REPLAYABLE`).
        plugin: only the records parked for this plugin.
        since: only records dead-lettered at or after this time.
        until: only records dead-lettered before this time.
        max_attempts: replays a record gets; one failing its last is marked ``replay_exhausted``.
    """

    reasons: frozenset[DlqReason] = REPLAYABLE
    plugin: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    max_attempts: int = DEFAULT_MAX_ATTEMPTS

    def __post_init__(self) -> None:
        object.__setattr__(self, "reasons", frozenset(self.reasons) & REPLAYABLE)
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, not {self.max_attempts}")

    def verdict(self, record: DlqRecord, running: Collection[str]) -> Verdict:
        """What a replay with the plugins ``running`` does with ``record``."""
        if record.reason not in {r.value for r in REPLAYABLE}:
            return Verdict.LEFT_ALONE
        if record.reason not in self.reasons or (self.plugin is not None and record.plugin != self.plugin):
            return Verdict.NOT_SELECTED
        if not self.covers(record.dead_lettered_ms):
            return Verdict.OUTSIDE_WINDOW
        if record.plugin not in running:
            return Verdict.UNAVAILABLE
        if record.replays >= self.max_attempts:
            return Verdict.EXHAUSTED
        return Verdict.REPLAY

    def covers(self, timestamp_ms: int) -> bool:
        """Whether ``timestamp_ms`` is inside ``[since, until)``."""
        if self.since is not None and timestamp_ms < _ms(self.since):
            return False
        return self.until is None or timestamp_ms < _ms(self.until)


def _ms(moment: dt.datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.astimezone()  # a time without zone is local time, as a person typing it means
    return int(moment.timestamp() * 1000)
