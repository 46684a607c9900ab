"""``kafka-pipeline replay``: DLQ'd plugin failures run again through that plugin only, once fixed.

One story, told once for the module: a worker runs with ``fussy`` broken, so
its matches land in the DLQ (``plugin_error``, then ``circuit_open``) next
to two invalid records. Then four replays: with ``fussy`` still broken; for
another plugin only (from the command line); with ``fussy`` fixed; and once
more. The tests check what each left behind.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from integration.kit import (
    Names,
    Record,
    config_data,
    create_topics,
    encode,
    make_names,
    parcel,
    produce,
    read_table,
    read_topic,
    run_worker,
    write_config,
)
from kafka_pipeline import discover, parse_config
from kafka_pipeline._cli import main
from kafka_pipeline._replay.replayer import Replayer
from kafka_pipeline._replay.stats import ReplayStats

pytestmark = pytest.mark.integration

FUSSY = [(f"f{i}".encode(), encode(parcel(f"f{i}", carrier="express", tags=["fussy"]))) for i in range(5)]
PLAIN = [(f"p{i}".encode(), encode(parcel(f"p{i}", carrier="express"))) for i in range(2)]
INVALID = [(b"x1", b"{not json"), (b"x2", encode({"trace_id": "x2", "status": "lost"}))]
SENT = FUSSY + PLAIN + INVALID  # one partition: f0..f4 are offsets 0..4


@dataclass
class Story:
    names: Names
    dlq_before: list[Record]
    express_before: list[Record]
    rows_before: int
    still_broken: ReplayStats
    other_plugin: dict[str, Any]
    fixed: ReplayStats
    again: ReplayStats
    dlq: list[Record]
    express: list[Record]
    fussy: list[Record]
    rows: int


def settings(bootstrap: str, names: Names, *, fixed: bool) -> dict[str, Any]:
    return config_data(
        bootstrap,
        names,
        {
            "express-router": {"config": {"topic": names.topic("express")}},
            "fussy": {
                "config": {"topic": names.topic("fussy"), "fail_first": 0 if fixed else -1},
                "max_retries": 0,
                "breaker_failure_threshold": 3,
            },
        },
        resilience={"retry_backoff_seconds": 0.01, "breaker_reset_seconds": 600},
    )


async def replay(bootstrap: str, names: Names, *, fixed: bool) -> ReplayStats:
    config = parse_config(settings(bootstrap, names, fixed=fixed))
    installation = discover(config)
    replayer = Replayer(
        config, installation.domain("parcels"), installation.registry("parcels"), exit_when_idle=1.0
    )
    return await asyncio.wait_for(replayer.run(), 120)


def replay_command(path: Path, *args: str) -> dict[str, Any]:
    """``kafka-pipeline replay`` in process; its summary."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        result = CliRunner().invoke(
            main,
            ["replay", "--domain", "parcels", "--config", str(path), "--exit-when-idle", "1", *args],
            catch_exceptions=False,
        )
    finally:  # the command logs to the runner's stream, which is closed afterwards
        for handler in [h for h in root.handlers if h not in handlers]:
            root.removeHandler(handler)
        root.setLevel(level)
    assert result.exit_code == 0, result.output
    summary: dict[str, Any] = json.loads(result.stdout.removeprefix("replay finished: "))
    return summary


@pytest.fixture(scope="module")
def story(bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Story:
    names = make_names(tmp_path_factory.mktemp("replay"), "replay")
    asyncio.run(create_topics(bootstrap, names.source, names.dlq, partitions=1))
    asyncio.run(create_topics(bootstrap, names.topic("express"), names.topic("fussy"), partitions=1))
    asyncio.run(produce(bootstrap, names.source, SENT))
    run_worker(settings(bootstrap, names, fixed=False))
    dlq_before = asyncio.run(read_topic(bootstrap, names.dlq))
    express_before = asyncio.run(read_topic(bootstrap, names.topic("express")))
    rows_before = read_table(names.table("parcels")).num_rows

    still_broken = asyncio.run(replay(bootstrap, names, fixed=False))
    path = write_config(names.delta_root.parent / "fixed.yaml", settings(bootstrap, names, fixed=True))
    other_plugin = replay_command(path, "--plugin", "express-router")
    fixed = asyncio.run(replay(bootstrap, names, fixed=True))
    again = asyncio.run(replay(bootstrap, names, fixed=True))

    return Story(
        names=names,
        dlq_before=dlq_before,
        express_before=express_before,
        rows_before=rows_before,
        still_broken=still_broken,
        other_plugin=other_plugin,
        fixed=fixed,
        again=again,
        dlq=asyncio.run(read_topic(bootstrap, names.dlq)),
        express=asyncio.run(read_topic(bootstrap, names.topic("express"))),
        fussy=asyncio.run(read_topic(bootstrap, names.topic("fussy"))),
        rows=read_table(names.table("parcels")).num_rows,
    )


def test_the_broken_plugin_filled_the_dlq_with_its_failures_and_the_invalid_input(story: Story) -> None:
    reasons = sorted(r.headers["x-dlq-reason"] for r in story.dlq_before)

    assert reasons == [
        "circuit_open",
        "circuit_open",
        "invalid_json",
        "plugin_error",
        "plugin_error",
        "plugin_error",
        "schema",
    ]


def test_a_plugin_still_failing_sends_each_record_back_to_the_dlq_once_per_run(story: Story) -> None:
    assert story.still_broken.failed_again == {"fussy": 5}
    assert story.still_broken.replayed == {}


def test_a_record_sent_back_counts_its_replays(story: Story) -> None:
    sent_back = story.dlq[len(story.dlq_before) :][:5]

    assert {(r.key, r.headers["x-replay-count"], r.headers["x-dlq-plugin"]) for r in sent_back} == {
        (f"f{i}".encode(), "1", "fussy") for i in range(5)
    }


def test_invalid_input_is_left_alone(story: Story) -> None:
    invalid = [r for r in story.dlq if r.headers["x-dlq-reason"] in {"invalid_json", "schema"}]

    assert story.still_broken.left_alone == {"invalid_json": 1, "schema": 1}
    assert [(r.offset, r.key) for r in invalid] == [(5, b"x1"), (6, b"x2")]


def test_failures_of_another_plugin_are_kept_for_a_later_replay(story: Story) -> None:
    assert (story.other_plugin["not_selected"], story.other_plugin["replayed"]) == (5, {})


def test_the_fixed_plugin_routes_every_parked_record_exactly_once(story: Story) -> None:
    assert story.fixed.replayed == {"fussy": 5}
    assert sorted(r.key for r in story.fussy if r.key) == [f"f{i}".encode() for i in range(5)]


def test_replayed_records_carry_the_headers_of_their_original_source_record(story: Story) -> None:
    headers = {r.key: r.headers for r in story.fussy if r.key}

    for i in range(5):
        original = {
            "x-routed-by": "fussy",
            "x-source-topic": story.names.source,
            "x-source-partition": "0",
            "x-source-offset": str(i),
            "x-trace-id": f"f{i}",
        }
        assert headers[f"f{i}".encode()].items() >= original.items()


def test_the_other_plugins_do_not_route_a_replayed_record_again(story: Story) -> None:
    assert len(story.express) == len(story.express_before) == 7


def test_delta_is_not_written_by_a_replay(story: Story) -> None:
    assert story.rows == story.rows_before == 7


def test_a_replay_commits_as_it_goes_so_the_next_one_finds_nothing_left(story: Story) -> None:
    assert (story.again.read, story.again.replayed, story.again.failed_again) == (0, {}, {})


def test_nothing_new_lands_in_the_dlq_once_the_plugin_is_fixed(story: Story) -> None:
    # The originals, the copies the broken run sent back, the copies the filtered run kept.
    assert len(story.dlq) == len(story.dlq_before) + 5 + 5
