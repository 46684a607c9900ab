"""``kafka-pipeline replay``: its usage errors, before any broker is contacted.

Replays against the broker are in ``integration/test_replay.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from click.testing import Result
from fake_plugins import WIDGET_PLUGINS


@pytest.mark.usefixtures("widget_plugins")
def test_a_plugin_that_is_not_enabled_is_a_usage_error_naming_the_enabled_ones(
    cli: Callable[..., Result], config_file: Callable[[dict[str, Any]], str]
) -> None:
    path = config_file({"load": list(WIDGET_PLUGINS), "plugins": {"red-router": {"enabled": False}}})

    result = cli("replay", "--domain", "widgets", "--config", path, "--plugin", "red-router")

    assert result.exit_code == 2
    assert (
        "no enabled plugin 'red-router' for domain 'widgets' (enabled: permanent-failures)" in result.stderr
    )


@pytest.mark.usefixtures("widget_plugins")
def test_only_replayable_reasons_are_accepted(
    cli: Callable[..., Result], config_file: Callable[[dict[str, Any]], str]
) -> None:
    result = cli("replay", "--domain", "widgets", "--config", config_file({}), "--reason", "schema")

    assert result.exit_code == 2
    assert "'schema' is not one of 'plugin_error', 'circuit_open'" in result.stderr


@pytest.mark.usefixtures("widget_plugins")
def test_an_unknown_domain_is_a_usage_error(
    cli: Callable[..., Result], config_file: Callable[[dict[str, Any]], str]
) -> None:
    result = cli("replay", "--domain", "parcels", "--config", config_file({}))

    assert result.exit_code == 2
    assert "unknown domain 'parcels'" in result.stderr


@pytest.mark.usefixtures("widget_plugins")
def test_since_must_be_an_iso_time(
    cli: Callable[..., Result], config_file: Callable[[dict[str, Any]], str]
) -> None:
    result = cli("replay", "--domain", "widgets", "--config", config_file({}), "--since", "yesterday")

    assert result.exit_code == 2
    assert "'yesterday' is not an ISO 8601 time" in result.stderr
