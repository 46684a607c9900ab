"""``kafka-pipeline produce`` without a broker: what it needs to know, and failing fast.

Producing to a real broker is in ``integration/test_produce_command.py``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from fake_plugins import Site

from kafka_pipeline._broker.embedded import free_port

ConfigFile = Callable[[dict[str, Any]], str]


@pytest.fixture
def lines(tmp_path: Path) -> str:
    path = tmp_path / "mine.jsonl"
    path.write_text('{"trace_id": "w-1", "status": "completed", "colour": "red"}\n')
    return str(path)


@pytest.fixture
def unreachable(config_file: ConfigFile) -> str:
    """A configuration whose bootstrap server refuses connections."""
    return config_file({"kafka": {"bootstrap_servers": f"127.0.0.1:{free_port()}"}})


@pytest.mark.usefixtures("widgets")
def test_without_a_topic_domain_or_source_topic_it_asks_for_one(
    cli: Callable[..., Result], unreachable: str, lines: str
) -> None:
    result = cli("produce", "--config", unreachable, lines)

    assert result.exit_code == 2
    assert "name the topic: --topic T, source_topic in the configuration, or --domain D" in result.stderr


@pytest.mark.usefixtures("widgets")
def test_an_unknown_domain_is_a_usage_error_naming_the_installed_ones(
    cli: Callable[..., Result], unreachable: str, lines: str
) -> None:
    result = cli("produce", "--config", unreachable, "--domain", "sprockets", lines)

    assert result.exit_code == 2
    assert "unknown domain 'sprockets' (installed: " in result.stderr


@pytest.mark.usefixtures("widgets")
def test_an_unreachable_broker_is_named_at_once(
    cli: Callable[..., Result], unreachable: str, lines: str
) -> None:
    started = time.monotonic()

    result = cli("produce", "--config", unreachable, "--domain", "widgets", lines)

    assert (result.exit_code, time.monotonic() - started < 10) == (1, True)
    assert "no Kafka broker answered at 127.0.0.1:" in result.stderr


@pytest.mark.usefixtures("widgets")
def test_bootstrap_servers_overrides_the_configuration(
    cli: Callable[..., Result], config_file: ConfigFile, lines: str
) -> None:
    elsewhere = f"127.0.0.1:{free_port()}"

    result = cli(
        "produce", "--config", config_file({}), "--domain", "widgets", "--bootstrap-servers", elsewhere, lines
    )

    assert f"no Kafka broker answered at {elsewhere}" in result.stderr


def test_the_help_says_invalid_lines_are_produced_to_try_the_dead_letter_topic(
    cli: Callable[..., Result],
) -> None:
    help_text = " ".join(cli("produce", "--help").stdout.split())

    assert "produced unchanged and without a key" in help_text
    assert "how to see a worker park it on the dead-letter topic" in help_text


def test_a_domain_that_fails_to_load_is_named_with_its_error(
    cli: Callable[..., Result], site: Site, unreachable: str, lines: str
) -> None:
    site.install(
        "kafka-pipeline-broken",
        domains={"broken": "broken_domain:BROKEN"},
        modules={"broken_domain": "raise ImportError('needs libfoo')\n"},
    )

    result = cli("produce", "--config", unreachable, "--domain", "broken", lines)

    assert result.exit_code == 1
    assert "domain 'broken' (kafka-pipeline-broken 1.0.0) failed to load: import failed" in result.stderr
