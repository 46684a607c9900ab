"""Which installed plugins load: the ``load`` allow-list, KAFKA_PIPELINE_LOAD_PLUGINS, ``enabled``.

A plugin left out by any of them is never imported, so a broken package can
be switched off without uninstalling it.
"""

from __future__ import annotations

import sys
from types import ModuleType

import pytest
from fake_plugins import RED_ROUTER, Site

from kafka_pipeline import discover, parse_config
from kafka_pipeline._discovery import ENV_LOAD_PLUGINS
from kafka_pipeline._loading import Installation

NOISY = """
raise RuntimeError("this module must not be imported")
"""


@pytest.fixture
def installed(site: Site, widgets: ModuleType) -> Site:
    site.install_plugin("red-router", RED_ROUTER, "RedRouter")
    site.install_plugin("noisy", NOISY, "Noisy")
    return site


def statuses(installation: Installation) -> dict[str, str]:
    names = {"red-router", "noisy"}
    return {r.name: str(r.status) for r in installation.plugin_records if r.name in names}


@pytest.mark.usefixtures("installed")
def test_config_load_is_an_allow_list_and_the_others_are_not_allowed() -> None:
    installation = discover(parse_config({"load": ["red-router"]}))

    assert statuses(installation) == {"red-router": "loaded", "noisy": "not_allowed"}


@pytest.mark.usefixtures("installed")
def test_a_plugin_outside_the_allow_list_is_never_imported() -> None:
    discover(parse_config({"load": ["red-router"]}))

    assert "noisy_plugin" not in sys.modules


@pytest.mark.usefixtures("installed")
def test_a_disabled_plugin_is_reported_disabled_and_never_imported() -> None:
    installation = discover(parse_config({"plugins": {"noisy": {"enabled": False}}}))

    assert statuses(installation)["noisy"] == "disabled"
    assert "noisy_plugin" not in sys.modules


@pytest.mark.usefixtures("installed")
def test_with_the_variable_unset_every_plugin_is_tried() -> None:
    installation = discover()

    assert statuses(installation) == {"red-router": "loaded", "noisy": "failed"}


@pytest.mark.usefixtures("installed")
def test_the_variable_set_empty_loads_no_plugin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_LOAD_PLUGINS, "")

    installation = discover()

    assert statuses(installation) == {"red-router": "not_allowed", "noisy": "not_allowed"}


@pytest.mark.usefixtures("installed")
def test_the_variable_as_a_comma_list_loads_only_those_and_wins_over_config_load(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(ENV_LOAD_PLUGINS, " red-router , ")

    installation = discover(parse_config({"load": ["noisy"]}))

    assert statuses(installation) == {"red-router": "loaded", "noisy": "not_allowed"}


@pytest.mark.usefixtures("installed")
def test_a_priority_from_the_config_replaces_the_plugin_default() -> None:
    config = parse_config({"plugins": {"red-router": {"priority": 42}}, "load": ["red-router"]})

    registry = discover(config).registry("widgets")

    assert [(p.name, p.priority) for p in registry.plugins] == [("red-router", 42)]


@pytest.mark.usefixtures("installed")
def test_a_disabled_plugin_is_not_in_its_domain_registry() -> None:
    config = parse_config({"plugins": {"red-router": {"enabled": False}, "noisy": {"enabled": False}}})

    registry = discover(config).registry("widgets")

    assert "red-router" not in registry
