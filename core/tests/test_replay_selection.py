"""Which DLQ records a replay takes: the rule ``replay`` and ``replay --dry-run`` share."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from kafka_pipeline._replay.selection import DlqRecord, Selection, Verdict

NOON = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)
NOON_MS = int(NOON.timestamp() * 1000)


def dlq(
    reason: str = "plugin_error", plugin: str = "fussy", *, at: int = NOON_MS, replays: int = 0
) -> DlqRecord:
    headers = {"x-dlq-reason": reason, "x-dlq-plugin": plugin}
    if replays:
        headers["x-replay-count"] = str(replays)
    return DlqRecord(headers, at)


@pytest.mark.parametrize(
    ("record", "selection", "verdict"),
    [
        (dlq(), Selection(), Verdict.REPLAY),
        (dlq("schema", ""), Selection(), Verdict.LEFT_ALONE),
        (dlq("replay_exhausted"), Selection(), Verdict.LEFT_ALONE),
        (dlq("circuit_open"), Selection(reasons=frozenset({"plugin_error"})), Verdict.NOT_SELECTED),  # type: ignore[arg-type]
        (dlq(plugin="other"), Selection(plugin="fussy"), Verdict.NOT_SELECTED),
        (dlq(at=NOON_MS - 1), Selection(since=NOON), Verdict.OUTSIDE_WINDOW),
        (dlq(at=NOON_MS), Selection(since=NOON), Verdict.REPLAY),
        (dlq(at=NOON_MS), Selection(until=NOON), Verdict.OUTSIDE_WINDOW),
        (dlq(plugin="gone"), Selection(), Verdict.UNAVAILABLE),
        (dlq(replays=2), Selection(max_attempts=3), Verdict.REPLAY),
        (dlq(replays=3), Selection(max_attempts=3), Verdict.EXHAUSTED),
    ],
)
def test_verdict(record: DlqRecord, selection: Selection, verdict: Verdict) -> None:
    assert selection.verdict(record, running={"fussy", "other"}) is verdict


def test_a_time_without_zone_is_local_time() -> None:
    local_noon = dt.datetime(2026, 11, 29, 12, 0)

    assert Selection(since=local_noon).covers(int(local_noon.astimezone().timestamp() * 1000))


def test_a_copy_is_judged_by_the_time_its_original_was_dead_lettered() -> None:
    copy = SimpleNamespace(
        headers=[("x-dlq-timestamp", str(NOON_MS).encode())], timestamp=NOON_MS + 3_600_000
    )

    assert DlqRecord.of(copy).dead_lettered_ms == NOON_MS
