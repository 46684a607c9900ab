"""``kafka-pipeline route``: a dry run over a JSONL file, line by line, with no broker."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from fake_plugins import EXPLODING, Site

RED_DONE = '{"trace_id": "w-1", "status": "completed", "colour": "red"}'
RED_LOST = '{"trace_id": "w-2", "status": "failed_permanent", "colour": "red"}'
GREEN_RETRY = '{"trace_id": "w-3", "status": "failed", "colour": "green"}'
NOT_JSON = '{"trace_id": "w-4", "status": '
BAD_SCHEMA = '{"trace_id": "w-5", "status": "exploded"}'
BLUE_DONE = '{"trace_id": "w-6", "status": "completed", "colour": "blue"}'


@pytest.fixture
def options(widget_plugins: Site, config_file: Callable[..., str]) -> list[str]:
    """``--domain widgets --config F``, F loading only the test plugins (others may be installed)."""
    return ["--domain", "widgets", "--config", config_file({"load": ["red-router", "permanent-failures"]})]


@pytest.fixture
def jsonl(tmp_path: Path) -> Callable[..., str]:
    def write(*lines: str) -> str:
        path = tmp_path / "messages.jsonl"
        path.write_text("\n".join(lines) + "\n")
        return str(path)

    return write


def reports(result: Result) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_each_message_shows_the_plugins_that_match_in_order_what_they_send_and_its_table(
    cli: Callable[..., Result], options: list[str], jsonl: Callable[..., str]
) -> None:
    result = cli("route", *options, "--json", jsonl(RED_LOST))

    assert reports(result) == [
        {
            "line": 1,
            "valid": True,
            "trace_id": "w-2",
            "status": "failed_permanent",
            "table": "widgets_failed",
            "matched": ["red-router", "permanent-failures"],
            "sent": [
                {"plugin": "red-router", "topic": "widgets.red", "key": "w-2"},
                {"plugin": "permanent-failures", "topic": "alerts.widgets", "key": "w-2"},
            ],
            "errors": [],
            "dlq": [],
        }
    ]


def test_the_human_report_gives_status_trace_table_and_one_line_per_send(
    cli: Callable[..., Result], options: list[str], jsonl: Callable[..., str]
) -> None:
    result = cli("route", *options, jsonl(RED_LOST, GREEN_RETRY))

    assert result.stdout.splitlines()[:5] == [
        "line 1: failed_permanent, trace w-2 -> Delta table widgets_failed",
        "  red-router -> widgets.red  key=w-2",
        "  permanent-failures -> alerts.widgets  key=w-2",
        "line 2: failed, trace w-3 -> no Delta table",
        "  no plugin matched",
    ]


def test_a_file_of_valid_messages_exits_0_with_a_summary(
    cli: Callable[..., Result], options: list[str], jsonl: Callable[..., str]
) -> None:
    result = cli("route", *options, jsonl(RED_DONE, GREEN_RETRY))

    assert result.exit_code == 0
    assert (
        result.stdout.splitlines()[-1]
        == "2 messages: 2 valid, 0 invalid; 1 record would be sent; 0 with plugin failures"
    )


def test_invalid_lines_are_reported_with_the_reason_the_others_still_routed_and_exit_is_1(
    cli: Callable[..., Result], options: list[str], jsonl: Callable[..., str]
) -> None:
    result = cli("route", *options, "--json", jsonl(NOT_JSON, BAD_SCHEMA, RED_DONE))

    not_json, bad_schema, valid = reports(result)
    assert result.exit_code == 1
    assert (not_json["valid"], not_json["reason"]) == (False, "not_json")
    assert bad_schema == {
        "line": 2,
        "valid": False,
        "reason": "schema",
        "problems": [
            "status: Input should be 'completed', 'failed' or 'failed_permanent'",
            "colour: Field required",
        ],
        "dlq": [{"reason": "schema", "plugin": None, "topic": "widgets.results.dlq"}],
    }
    assert valid["matched"] == ["red-router"]


def test_blank_lines_are_skipped_but_line_numbers_stay_those_of_the_file(
    cli: Callable[..., Result], options: list[str], jsonl: Callable[..., str]
) -> None:
    result = cli("route", *options, "--json", jsonl("", RED_DONE, "   ", GREEN_RETRY))

    assert [r["line"] for r in reports(result)] == [2, 4]


def test_dash_reads_the_messages_from_stdin(cli: Callable[..., Result], options: list[str]) -> None:
    result = cli("route", *options, "--json", "-", input=RED_DONE + "\n")

    assert [r["trace_id"] for r in reports(result)] == ["w-1"]


def test_a_plugin_that_raises_is_shown_the_others_still_route_and_exit_is_1(
    cli: Callable[..., Result],
    widget_plugins: Site,
    config_file: Callable[..., str],
    jsonl: Callable[..., str],
) -> None:
    widget_plugins.install_plugin("exploding", EXPLODING, "Exploding")
    path = config_file({"load": ["exploding", "red-router", "permanent-failures"]})

    result = cli("route", "--domain", "widgets", "--config", path, jsonl(BLUE_DONE, RED_DONE))

    assert result.exit_code == 1
    assert "  exploding failed in route: RuntimeError: the alerting service is down" in result.stdout
    assert "  exploding -> DLQ (plugin_error)" in result.stdout
    assert "  red-router -> widgets.red  key=w-1" in result.stdout


def test_a_disabled_plugin_takes_no_part(
    cli: Callable[..., Result],
    widget_plugins: Site,
    config_file: Callable[..., str],
    jsonl: Callable[..., str],
) -> None:
    path = config_file(
        {"load": ["red-router", "permanent-failures"], "plugins": {"red-router": {"enabled": False}}}
    )

    result = cli("route", "--domain", "widgets", "--config", path, "--json", jsonl(RED_LOST))

    assert reports(result)[0]["matched"] == ["permanent-failures"]


@pytest.mark.usefixtures("widget_plugins")
def test_an_unknown_domain_is_a_usage_error(cli: Callable[..., Result], jsonl: Callable[..., str]) -> None:
    result = cli("route", "--domain", "sprockets", jsonl(RED_DONE))

    assert result.exit_code == 2
    assert "unknown domain 'sprockets'" in result.stderr


def test_a_missing_file_is_a_usage_error(
    cli: Callable[..., Result], options: list[str], tmp_path: Path
) -> None:
    result = cli("route", *options, str(tmp_path / "absent.jsonl"))

    assert result.exit_code == 2
    assert "absent.jsonl': No such file or directory" in result.stderr


def test_strict_mode_with_a_broken_plugin_is_one_message_on_stderr_not_a_traceback(
    cli: Callable[..., Result],
    widget_plugins: Site,
    config_file: Callable[..., str],
    jsonl: Callable[..., str],
) -> None:
    widget_plugins.install_plugin("broken", "raise ImportError('needs libfoo 2')\n", "Broken")
    path = config_file({"strict": True, "load": ["broken", "red-router"]})

    result = cli("route", "--domain", "widgets", "--config", path, jsonl(RED_DONE))

    assert result.exit_code == 1
    assert result.stderr.startswith("Error: plugin '*': plugins cannot run (strict mode):")
    assert (
        "plugin 'broken' (kafka-pipeline-broken 1.0.0): import failed: ImportError: needs libfoo 2"
        in result.stderr
    )


def test_a_skipped_plugin_is_a_warning_the_rest_route_and_exit_is_1(
    cli: Callable[..., Result],
    widget_plugins: Site,
    config_file: Callable[..., str],
    jsonl: Callable[..., str],
) -> None:
    widget_plugins.install_plugin("broken", "raise ImportError('needs libfoo 2')\n", "Broken")
    path = config_file({"load": ["broken", "red-router"]})

    result = cli("route", "--domain", "widgets", "--config", path, jsonl(RED_DONE))

    assert result.exit_code == 1
    assert "warning: the worker would run without it: plugin 'broken'" in result.stderr
    assert "  red-router -> widgets.red  key=w-1" in result.stdout


def test_allow_skipped_accepts_a_skipped_plugin(
    cli: Callable[..., Result],
    widget_plugins: Site,
    config_file: Callable[..., str],
    jsonl: Callable[..., str],
) -> None:
    widget_plugins.install_plugin("broken", "raise ImportError('needs libfoo 2')\n", "Broken")
    path = config_file({"load": ["broken", "red-router"]})

    result = cli("route", "--domain", "widgets", "--config", path, "--allow-skipped", jsonl(RED_DONE))

    assert result.exit_code == 0


def test_a_plugin_with_an_invalid_config_makes_the_dry_run_exit_1(
    cli: Callable[..., Result],
    widget_plugins: Site,
    config_file: Callable[..., str],
    jsonl: Callable[..., str],
) -> None:
    path = config_file(
        {"load": ["red-router", "permanent-failures"], "plugins": {"red-router": {"config": {"topik": "x"}}}}
    )

    result = cli("route", "--domain", "widgets", "--config", path, "--json", jsonl(RED_DONE))

    assert result.exit_code == 1
    assert "plugins.red-router.config.topik: unknown key for plugin 'red-router'" in result.stderr
    assert reports(result)[0]["matched"] == []


def test_a_misspelled_plugin_name_gets_a_did_you_mean_and_exit_1(
    cli: Callable[..., Result],
    widget_plugins: Site,
    config_file: Callable[..., str],
    jsonl: Callable[..., str],
) -> None:
    path = config_file({"load": ["red-router"], "plugins": {"red-ruter": {"priority": 3}}})

    result = cli("route", "--domain", "widgets", "--config", path, jsonl(RED_DONE))

    assert result.exit_code == 1
    assert "plugins.red-ruter: no installed plugin is named 'red-ruter'; did you mean 'red-router'?" in (
        result.stderr
    )


SENDS_THEN_RAISES = """
from kafka_pipeline import RoutingPlugin


class SendsThenRaises(RoutingPlugin):
    name = "sends-then-raises"
    domain = "widgets"

    def should_route(self, message):
        return True

    async def route(self, message):
        self.send_to_topic("widgets.half-done", message)
        raise RuntimeError("the second half failed")
"""

HANGS = """
import asyncio

from kafka_pipeline import RoutingPlugin


class Hangs(RoutingPlugin):
    name = "hangs"
    domain = "widgets"

    def should_route(self, message):
        return True

    async def route(self, message):
        await asyncio.sleep(3600)
"""


def test_a_plugin_that_sends_then_raises_sends_nothing_and_goes_to_the_dlq_as_in_the_worker(
    cli: Callable[..., Result],
    widget_plugins: Site,
    config_file: Callable[..., str],
    jsonl: Callable[..., str],
) -> None:
    widget_plugins.install_plugin("sends-then-raises", SENDS_THEN_RAISES, "SendsThenRaises")
    path = config_file(
        {"load": ["sends-then-raises"], "resilience": {"max_retries": 1, "retry_backoff_seconds": 0}}
    )

    result = cli("route", "--domain", "widgets", "--config", path, "--json", jsonl(RED_DONE))

    [report] = reports(result)
    assert (result.exit_code, report["sent"]) == (1, [])
    assert report["dlq"] == [
        {
            "reason": "plugin_error",
            "plugin": "sends-then-raises",
            "error": "route: RuntimeError: the second half failed",
        }
    ]


def test_a_plugin_that_hangs_ends_at_its_configured_timeout(
    cli: Callable[..., Result],
    widget_plugins: Site,
    config_file: Callable[..., str],
    jsonl: Callable[..., str],
) -> None:
    widget_plugins.install_plugin("hangs", HANGS, "Hangs")
    path = config_file({"load": ["hangs"], "plugins": {"hangs": {"timeout_seconds": 0.2, "max_retries": 0}}})

    result = cli("route", "--domain", "widgets", "--config", path, jsonl(RED_DONE))

    assert result.exit_code == 1
    assert "  hangs failed in route: timed out after 0.2s" in result.stdout
    assert "  hangs -> DLQ (plugin_error)" in result.stdout


COUNTS_COLOURS = """
from kafka_pipeline import RoutingPlugin


class CountsColours(RoutingPlugin):
    name = "counts-colours"
    domain = "widgets"

    def should_route(self, message):
        return len(message.colour)

    async def route(self, message):
        self.send_to_topic("widgets.counted", message)
"""


def test_a_should_route_that_returns_no_bool_is_shown_as_a_failure_naming_the_type_and_exit_is_1(
    cli: Callable[..., Result],
    widget_plugins: Site,
    config_file: Callable[..., str],
    jsonl: Callable[..., str],
) -> None:
    widget_plugins.install_plugin("counts-colours", COUNTS_COLOURS, "CountsColours")
    path = config_file({"load": ["counts-colours", "red-router"]})

    result = cli("route", "--domain", "widgets", "--config", path, jsonl(RED_DONE))

    assert result.exit_code == 1
    assert (
        "  counts-colours failed in should_route: NotABoolError: should_route returned int 3, not a bool"
        in (result.stdout)
    )
    assert "  counts-colours -> DLQ (plugin_error)" in result.stdout
    assert "  red-router -> widgets.red  key=w-1" in result.stdout
