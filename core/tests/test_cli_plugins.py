"""``kafka-pipeline plugins``: every domain and plugin, what became of it, as a table or JSON."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import Result
from fake_plugins import Site

BROKEN_ON_IMPORT = "raise ImportError('needs libfoo 2')\n"


def row(output: str, name: str) -> list[str]:
    """The cells of the table row that starts with ``name``."""
    return next(line.split() for line in output.splitlines() if line.split()[:1] == [name])


def plugin(listing: dict[str, Any], name: str) -> dict[str, Any]:
    return next(p for p in listing["plugins"] if p["name"] == name)


def without_timing(record: dict[str, Any]) -> dict[str, Any]:
    """``record`` without ``import_seconds``, which no two runs share."""
    return {k: v for k, v in record.items() if k != "import_seconds"}


SLOW_TO_IMPORT = """
import time

from kafka_pipeline import RoutingPlugin

time.sleep(1.05)  # a heavy import at module level


class Slow(RoutingPlugin):
    name = "slow"
    domain = "widgets"

    def should_route(self, message):
        return False

    async def route(self, message):
        pass
"""


@pytest.mark.usefixtures("widget_plugins")
def test_the_table_shows_each_plugins_distribution_version_domain_priority_and_status(
    cli: Callable[..., Result],
) -> None:
    result = cli("plugins")

    assert row(result.stdout, "red-router") == [
        "red-router",
        "kafka-pipeline-red-router",
        "2.1.0",
        "widgets",
        "yes",
        "5",
        "loaded",
    ]


@pytest.mark.usefixtures("widget_plugins")
def test_the_table_shows_each_domains_topics_tables_and_status(cli: Callable[..., Result]) -> None:
    result = cli("plugins")

    assert row(result.stdout, "widgets") == [
        "widgets",
        "kafka-pipeline-widgets",
        "0.3.1",
        "widgets.results",
        "widgets.results.dlq",
        "completed->widgets,",
        "failed_permanent->widgets_failed",
        "loaded",
    ]


@pytest.mark.usefixtures("widget_plugins")
def test_json_gives_every_field_of_a_loaded_plugin(cli: Callable[..., Result]) -> None:
    listing = json.loads(cli("plugins", "--json").stdout)

    assert without_timing(plugin(listing, "red-router")) == {
        "name": "red-router",
        "entry_point": "red_router_plugin:RedRouter",
        "distribution": "kafka-pipeline-red-router",
        "version": "2.1.0",
        "domains": ["widgets"],
        "enabled": True,
        "priority": 5,
        "status": "loaded",
        "error": None,
        "requires_core": None,
        "shadows": [],
    }


@pytest.mark.usefixtures("widget_plugins")
def test_json_gives_every_field_of_a_domain(cli: Callable[..., Result]) -> None:
    listing = json.loads(cli("plugins", "--json").stdout)

    widgets = next(d for d in listing["domains"] if d["name"] == "widgets")
    assert without_timing(widgets) == {
        "name": "widgets",
        "entry_point": "widgets_domain:WIDGETS",
        "distribution": "kafka-pipeline-widgets",
        "version": "0.3.1",
        "status": "loaded",
        "error": None,
        "model": "widgets_domain.WidgetResult",
        "source_topic": "widgets.results",
        "dlq_topic": "widgets.results.dlq",
        "tables": {"completed": "widgets", "failed_permanent": "widgets_failed"},
        "shadows": [],
    }


@pytest.mark.usefixtures("widget_plugins")
def test_json_gives_how_long_each_domain_and_plugin_took_to_import(cli: Callable[..., Result]) -> None:
    listing = json.loads(cli("plugins", "--json").stdout)

    timings = [r["import_seconds"] for r in listing["domains"] + listing["plugins"]]
    assert all(isinstance(t, float) and t >= 0 for t in timings), timings


@pytest.mark.usefixtures("widget_plugins")
def test_a_plugin_that_was_not_imported_has_no_import_time(
    cli: Callable[..., Result], config_file: Callable[[dict[str, Any]], str]
) -> None:
    path = config_file({"plugins": {"red-router": {"enabled": False}}})

    listing = json.loads(cli("plugins", "--config", path, "--json").stdout)

    assert plugin(listing, "red-router")["import_seconds"] is None


@pytest.mark.usefixtures("widget_plugins")
def test_timings_adds_each_import_time_before_the_status(cli: Callable[..., Result]) -> None:
    result = cli("plugins", "--timings")

    line = " ".join(row(result.stdout, "red-router"))
    assert re.search(r" yes 5 \d+\.\d+ m?s loaded$", line), line


def test_an_import_slower_than_a_second_is_warned_about_with_what_to_do(
    cli: Callable[..., Result], widget_plugins: Site
) -> None:
    widget_plugins.install_plugin("slow", SLOW_TO_IMPORT, "Slow", version="0.4.0")

    result = cli("plugins")

    assert result.exit_code == 0
    assert "warning: plugin 'slow' (kafka-pipeline-slow 0.4.0) took 1." in result.stderr
    assert "keep its module-level imports light" in result.stderr
    assert "red-router" not in result.stderr


def test_a_plugin_that_fails_to_import_is_listed_with_its_error_and_the_command_succeeds(
    cli: Callable[..., Result], widget_plugins: Site
) -> None:
    widget_plugins.install_plugin("broken", BROKEN_ON_IMPORT, "Broken", version="0.9.0")

    result = cli("plugins", "--json")

    assert result.exit_code == 0
    broken = plugin(json.loads(result.stdout), "broken")
    assert (broken["status"], broken["error"]) == ("failed", "import failed: ImportError: needs libfoo 2")
    assert plugin(json.loads(result.stdout), "red-router")["status"] == "loaded"


def test_the_table_ends_with_the_reason_each_failed_plugin_was_skipped(
    cli: Callable[..., Result], widget_plugins: Site
) -> None:
    widget_plugins.install_plugin("broken", BROKEN_ON_IMPORT, "Broken")

    result = cli("plugins")

    assert "  plugin broken: import failed: ImportError: needs libfoo 2" in result.stdout.split("Errors")[1]


@pytest.mark.usefixtures("widget_plugins", "gadgets")
def test_domain_narrows_the_listing_to_that_domain_and_its_plugins(cli: Callable[..., Result]) -> None:
    listing = json.loads(cli("plugins", "--domain", "gadgets", "--json").stdout)

    assert [d["name"] for d in listing["domains"]] == ["gadgets"]
    assert "red-router" not in [p["name"] for p in listing["plugins"]]


@pytest.mark.usefixtures("widget_plugins")
def test_an_unknown_domain_is_a_usage_error_naming_the_installed_ones(cli: Callable[..., Result]) -> None:
    result = cli("plugins", "--domain", "sprockets")

    assert result.exit_code == 2
    assert "unknown domain 'sprockets' (installed: " in result.stderr


@pytest.mark.usefixtures("widget_plugins")
def test_the_config_decides_enabled_and_priority(
    cli: Callable[..., Result], config_file: Callable[[dict[str, Any]], str]
) -> None:
    path = config_file({"plugins": {"red-router": {"enabled": False}, "permanent-failures": {"priority": 7}}})

    listing = json.loads(cli("plugins", "--config", path, "--json").stdout)

    red, failures = plugin(listing, "red-router"), plugin(listing, "permanent-failures")
    assert (red["enabled"], red["status"], failures["priority"]) == (False, "disabled", 7)


@pytest.mark.usefixtures("widget_plugins")
def test_secrets_in_the_config_are_never_printed(
    cli: Callable[..., Result], config_file: Callable[[dict[str, Any]], str]
) -> None:
    path = config_file(
        {
            "kafka": {"sasl_username": "svc", "sasl_password": "hunter2"},
            "delta": {"storage_options": {"AWS_SECRET_ACCESS_KEY": "s3cr3t"}},
        }
    )

    result = cli("--log-level", "debug", "plugins", "--config", path)

    assert result.exit_code == 0
    assert "hunter2" not in result.output
    assert "s3cr3t" not in result.output


@pytest.mark.usefixtures("widget_plugins")
def test_an_invalid_config_is_reported_by_path_without_a_traceback(
    cli: Callable[..., Result], config_file: Callable[[dict[str, Any]], str]
) -> None:
    path = config_file({"kafka": {"group_id": ["a"]}})

    result = cli("plugins", "--config", path)

    assert result.exit_code == 1
    assert "  kafka.group_id: Input should be a valid string" in result.stderr
    assert "Traceback" not in result.output
