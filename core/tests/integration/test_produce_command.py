"""``kafka-pipeline produce``: a user's own JSON lines onto a topic, then through the worker.

The command runs as a user runs it, in a process of its own, with the
``parcels`` domain on its path.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from integration.kit import (
    Names,
    config_data,
    create_topics,
    encode,
    parcel,
    read_table,
    read_topic,
    run_worker,
    topic_partitions,
    write_config,
)

pytestmark = pytest.mark.integration

NOT_JSON = b'{"trace_id": "broken-1", "status": '
#: JSON, but not a parcel: the status is unknown and carrier, weight_kg, items, sent_at are missing.
NOT_A_PARCEL = json.dumps({"trace_id": "odd-1", "status": "delivered"}).encode()


@dataclass
class Produced:
    returncode: int
    stdout: str
    stderr: str


def kafka_pipeline(
    parcels_site: Path, *args: str, input: bytes | None = None, cwd: Path | None = None
) -> Produced:
    """``kafka-pipeline ARGS`` in a child process that can import the ``parcels`` domain."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(parcels_site), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run(
        [sys.executable, "-m", "kafka_pipeline._cli", *args],
        env=env,
        input=input,
        capture_output=True,
        timeout=90,  # a hang is a failure, not a stuck test run
        check=False,
        cwd=cwd,
    )
    return Produced(result.returncode, result.stdout.decode(), result.stderr.decode())


def produce_parcels(parcels_site: Path, config: Path, *args: str, input: bytes | None = None) -> Produced:
    """``kafka-pipeline produce --config CONFIG --domain parcels ARGS``."""
    return kafka_pipeline(
        parcels_site, "produce", "--config", str(config), "--domain", "parcels", *args, input=input
    )


def jsonl(path: Path, *lines: bytes) -> Path:
    path.write_bytes(b"\n".join(lines) + b"\n\n")  # a trailing blank line is skipped
    return path


@pytest.fixture
def config(bootstrap: str, names: Names, tmp_path: Path) -> Path:
    """The worker configuration of this test: its own source topic, no idempotence (Tansu)."""
    return write_config(tmp_path / "pipeline.yaml", config_data(bootstrap, names, {}))


def test_valid_lines_are_keyed_by_trace_id_and_invalid_ones_go_unchanged_without_a_key(
    parcels_site: Path, bootstrap: str, names: Names, config: Path, tmp_path: Path
) -> None:
    asyncio.run(create_topics(bootstrap, names.source))
    lines = [encode(parcel("p-1")), NOT_JSON, encode(parcel("p-2")), NOT_A_PARCEL]
    data = jsonl(tmp_path / "mine.jsonl", *lines)

    result = kafka_pipeline(
        parcels_site, "produce", "--config", str(config), "--domain", "parcels", str(data)
    )

    assert result.returncode == 0, result.stderr
    records = asyncio.run(read_topic(bootstrap, names.source))
    assert {r.value: r.key for r in records} == {
        lines[0]: b"p-1",
        NOT_JSON: None,
        lines[2]: b"p-2",
        NOT_A_PARCEL: None,
    }


def test_one_summary_line_counts_records_keys_and_why_some_have_none(
    parcels_site: Path, bootstrap: str, names: Names, config: Path, tmp_path: Path
) -> None:
    asyncio.run(create_topics(bootstrap, names.source))
    data = jsonl(tmp_path / "mine.jsonl", encode(parcel("p-1")), NOT_JSON, NOT_A_PARCEL)

    result = kafka_pipeline(
        parcels_site, "produce", "--config", str(config), "--domain", "parcels", str(data)
    )

    assert result.stdout.splitlines() == [
        f"produced 3 records to {names.source} on {bootstrap}: 1 keyed by trace id, "
        "2 without a key (invalid for parcels: 1 not JSON, 1 schema)"
    ]


def test_each_invalid_line_is_reported_with_its_number_and_problem(
    parcels_site: Path, bootstrap: str, names: Names, config: Path, tmp_path: Path
) -> None:
    asyncio.run(create_topics(bootstrap, names.source))
    data = jsonl(tmp_path / "mine.jsonl", encode(parcel("p-1")), NOT_A_PARCEL)

    result = kafka_pipeline(
        parcels_site, "produce", "--config", str(config), "--domain", "parcels", str(data)
    )

    assert "line 2: invalid for parcels (schema: status: Input should be" in result.stderr
    assert "produced as is, without a key" in result.stderr


def test_a_missing_topic_is_an_error_naming_it_and_is_not_created(
    parcels_site: Path, bootstrap: str, names: Names, config: Path, tmp_path: Path
) -> None:
    data = jsonl(tmp_path / "mine.jsonl", encode(parcel("p-1")))

    result = kafka_pipeline(
        parcels_site, "produce", "--config", str(config), "--domain", "parcels", str(data)
    )

    assert result.returncode == 1
    assert f"topic '{names.source}' does not exist on {bootstrap}" in result.stderr
    assert "or pass --create-topic (development only)" in result.stderr
    assert asyncio.run(topic_partitions(bootstrap, names.source)) == []


def test_create_topic_creates_the_missing_topic_and_produces_to_it(
    parcels_site: Path, bootstrap: str, names: Names, config: Path, tmp_path: Path
) -> None:
    data = jsonl(tmp_path / "mine.jsonl", encode(parcel("p-1")), encode(parcel("p-2")))

    result = produce_parcels(parcels_site, config, "--create-topic", str(data))

    assert result.returncode == 0, result.stderr
    assert len(asyncio.run(read_topic(bootstrap, names.source))) == 2


def test_topic_wins_over_the_configurations_source_topic_and_stdin_is_read_with_a_dash(
    parcels_site: Path, bootstrap: str, names: Names, config: Path
) -> None:
    other = names.topic("elsewhere")
    asyncio.run(create_topics(bootstrap, names.source, other))

    result = produce_parcels(parcels_site, config, "--topic", other, "-", input=encode(parcel("p-1")) + b"\n")

    assert result.returncode == 0, result.stderr
    assert [r.key for r in asyncio.run(read_topic(bootstrap, other))] == [b"p-1"]
    assert asyncio.run(read_topic(bootstrap, names.source)) == []


def test_bootstrap_servers_overrides_the_configuration(
    parcels_site: Path, bootstrap: str, names: Names, tmp_path: Path
) -> None:
    unreachable = config_data("127.0.0.1:9", names, {})
    config = write_config(tmp_path / "elsewhere.yaml", unreachable)
    asyncio.run(create_topics(bootstrap, names.source))
    data = jsonl(tmp_path / "mine.jsonl", encode(parcel("p-1")))

    result = produce_parcels(parcels_site, config, "--bootstrap-servers", bootstrap, str(data))

    assert result.returncode == 0, result.stderr
    assert len(asyncio.run(read_topic(bootstrap, names.source))) == 1


def test_what_produce_puts_on_the_source_topic_the_worker_stores_and_parks(
    parcels_site: Path, bootstrap: str, names: Names, config: Path, tmp_path: Path
) -> None:
    lines = [encode(parcel("p-1")), NOT_JSON, encode(parcel("p-2")), NOT_A_PARCEL]
    data = jsonl(tmp_path / "mine.jsonl", *lines)
    assert produce_parcels(parcels_site, config, "--create-topic", str(data)).returncode == 0

    run_worker(config_data(bootstrap, names, {}), create_topics=True)

    stored = read_table(names.table("parcels")).column("trace_id").to_pylist()
    parked = asyncio.run(read_topic(bootstrap, names.dlq))
    assert (sorted(stored), sorted(r.value for r in parked if r.value)) == (
        ["p-1", "p-2"],
        sorted([NOT_JSON, NOT_A_PARCEL]),
    )
