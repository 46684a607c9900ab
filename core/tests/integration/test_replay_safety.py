"""A safer replay on a real broker: ``--dry-run``, ``--since``/``--until`` and the loop guard.

One story: a worker runs with ``fussy`` broken, so three records land in the
DLQ (``plugin_error``) beside one invalid record. Then, in order: a dry run;
a replay whose ``--since`` lies in the future (nothing in its window); two
replays with ``fussy`` still broken and ``--max-attempts 2``; a replay with
``fussy`` fixed; a last dry run. The tests check what each left behind.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from integration.kit import (
    Names,
    Record,
    committed_offsets,
    config_data,
    create_topics,
    encode,
    make_names,
    parcel,
    produce,
    read_topic,
    run_worker,
    write_config,
)
from kafka_pipeline import discover, parse_config
from kafka_pipeline._cli import main
from kafka_pipeline._replay.replayer import Replayer
from kafka_pipeline._replay.selection import Selection
from kafka_pipeline._replay.stats import ReplayStats

pytestmark = pytest.mark.integration

FUSSY = [(f"f{i}".encode(), encode(parcel(f"f{i}", tags=["fussy"]))) for i in range(3)]
INVALID = [(b"x1", b"{not json")]
FUTURE = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)


@dataclass
class Story:
    names: Names
    dlq_before: list[Record]
    dry_run_output: str
    dlq_after_dry_run: list[Record]
    group_after_dry_run: dict[int, int | None]
    out_of_window: ReplayStats
    first: ReplayStats
    second: ReplayStats
    fixed: ReplayStats
    last_dry_run_output: str
    dlq: list[Record]
    fussy: list[Record]


def settings(bootstrap: str, names: Names, *, fixed: bool) -> dict[str, Any]:
    return config_data(
        bootstrap,
        names,
        {
            "fussy": {
                "config": {"topic": names.topic("fussy"), "fail_first": 0 if fixed else -1},
                "max_retries": 0,
                "breaker_failure_threshold": 100,
            }
        },
        resilience={"retry_backoff_seconds": 0.01},
    )


async def replay(bootstrap: str, names: Names, *, fixed: bool, **selection: Any) -> ReplayStats:
    config = parse_config(settings(bootstrap, names, fixed=fixed))
    installation = discover(config)
    replayer = Replayer(
        config,
        installation.domain("parcels"),
        installation.registry("parcels"),
        selection=Selection(**selection),
        exit_when_idle=1.0,
    )
    return await asyncio.wait_for(replayer.run(), 120)


def dry_run_command(path: Path, *args: str) -> str:
    """``kafka-pipeline replay --dry-run`` in process; what it printed."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        result = CliRunner().invoke(
            main,
            [
                "replay",
                "--domain",
                "parcels",
                "--config",
                str(path),
                "--exit-when-idle",
                "1",
                "--dry-run",
                *args,
            ],
            catch_exceptions=False,
        )
    finally:  # the command logs to the runner's stream, which is closed afterwards
        for handler in [h for h in root.handlers if h not in handlers]:
            root.removeHandler(handler)
        root.setLevel(level)
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture(scope="module")
def story(bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Story:
    names = make_names(tmp_path_factory.mktemp("replay-safety"), "replay safety")
    asyncio.run(create_topics(bootstrap, names.source, names.dlq, names.topic("fussy"), partitions=1))
    asyncio.run(produce(bootstrap, names.source, FUSSY + INVALID))
    run_worker(settings(bootstrap, names, fixed=False))
    dlq_before = asyncio.run(read_topic(bootstrap, names.dlq))
    path = write_config(names.delta_root.parent / "broken.yaml", settings(bootstrap, names, fixed=False))

    dry_run_output = dry_run_command(path)
    dlq_after_dry_run = asyncio.run(read_topic(bootstrap, names.dlq))
    group = f"{names.group}.replay"
    group_after_dry_run = asyncio.run(committed_offsets(bootstrap, group, names.dlq, 1))

    out_of_window = asyncio.run(replay(bootstrap, names, fixed=False, since=FUTURE))
    first = asyncio.run(replay(bootstrap, names, fixed=False, max_attempts=2))
    second = asyncio.run(replay(bootstrap, names, fixed=False, max_attempts=2))
    fixed = asyncio.run(replay(bootstrap, names, fixed=True, max_attempts=2))
    last_dry_run_output = dry_run_command(path)

    return Story(
        names=names,
        dlq_before=dlq_before,
        dry_run_output=dry_run_output,
        dlq_after_dry_run=dlq_after_dry_run,
        group_after_dry_run=group_after_dry_run,
        out_of_window=out_of_window,
        first=first,
        second=second,
        fixed=fixed,
        last_dry_run_output=last_dry_run_output,
        dlq=asyncio.run(read_topic(bootstrap, names.dlq)),
        fussy=asyncio.run(read_topic(bootstrap, names.topic("fussy"))),
    )


def test_a_dry_run_prints_counts_by_plugin_and_reason_and_the_first_trace_ids(story: Story) -> None:
    print(
        f"\n$ kafka-pipeline replay --domain parcels --config broken.yaml --dry-run\n{story.dry_run_output}"
    )

    assert story.dry_run_output.splitlines()[1:] == [
        "would replay 3:",
        "  fussy  plugin_error        3",
        "left alone: invalid_json 1",
        "first trace ids: f0, f1, f2",
    ]


def test_a_dry_run_sends_nothing_and_commits_nothing(story: Story) -> None:
    assert (len(story.dlq_after_dry_run), story.group_after_dry_run) == (len(story.dlq_before), {0: None})


def test_records_outside_since_until_are_kept_for_a_later_replay_with_their_original_time(
    story: Story,
) -> None:
    copies = [r for r in story.dlq if r.headers.get("x-replay-run") and "x-replay-count" not in r.headers]
    originals = {r.key: r for r in story.dlq_before}

    assert (story.out_of_window.outside_window, story.out_of_window.replayed) == (3, {})
    assert all(r.headers["x-dlq-timestamp"] == str(originals[r.key].timestamp) for r in copies)
    assert len(copies) == 3


def test_a_record_failing_again_is_sent_back_with_its_replay_count(story: Story) -> None:
    assert story.first.failed_again == {"fussy": 3}
    assert sorted(
        (r.key, r.headers["x-replay-count"], r.headers["x-dlq-reason"])
        for r in story.dlq
        if r.headers.get("x-replay-count") == "1"
    ) == [(f"f{i}".encode(), "1", "plugin_error") for i in range(3)]


def test_a_record_failing_its_last_attempt_is_left_in_the_dlq_as_replay_exhausted(story: Story) -> None:
    exhausted = [r for r in story.dlq if r.headers["x-dlq-reason"] == "replay_exhausted"]

    assert story.second.exhausted == {"fussy": 3}
    assert sorted((r.key, r.headers["x-replay-count"], r.headers["x-dlq-plugin"]) for r in exhausted) == [
        (f"f{i}".encode(), "2", "fussy") for i in range(3)
    ]


def test_an_exhausted_record_is_never_cycled_again_even_once_the_plugin_is_fixed(story: Story) -> None:
    assert (story.fixed.left_alone, story.fixed.replayed, story.fixed.failed_again) == (
        {"replay_exhausted": 3},
        {},
        {},
    )
    # The originals, the out-of-window copies, the copies of the two failed replays; nothing after.
    assert len(story.dlq) == len(story.dlq_before) + 3 + 3 + 3
    assert [r.key for r in story.fussy] == []


def test_a_dry_run_after_the_replays_finds_nothing_left_to_replay(story: Story) -> None:
    assert story.last_dry_run_output.splitlines()[1:] == ["would replay 0:"]
