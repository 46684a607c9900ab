"""Hot reload: which plugins a new configuration keeps, replaces, adds and removes, or why it is refused.

The swap itself (between two batches of a running worker) is tested against
the broker in ``integration/test_worker_hot_reload.py``.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from fake_plugins import EXTRA_ARGUMENT, WIDGET_PLUGINS, Site

from kafka_pipeline import PipelineConfig, discover, parse_config
from kafka_pipeline._registry import PluginRegistry
from kafka_pipeline._worker.reload import ReloadError, prepare_reload

pytestmark = pytest.mark.usefixtures("widget_plugins")

RUNNING = {"load": list(WIDGET_PLUGINS), "plugins": {"red-router": {"config": {"topic": "widgets.red"}}}}


def running() -> tuple[PipelineConfig, PluginRegistry[Any]]:
    config = parse_config(RUNNING)
    return config, discover(config).registry("widgets")


def reload_with(plugins: dict[str, Any], **sections: Any) -> tuple[PluginRegistry[Any], Any]:
    config, registry = running()
    new = parse_config({**RUNNING, "plugins": plugins, **sections})
    return registry, prepare_reload(config, registry, new, "widgets")


def test_an_unchanged_plugin_keeps_its_running_instance() -> None:
    current, plan = reload_with({"red-router": {"config": {"topic": "widgets.red"}}})

    assert plan.registry.get("red-router").plugin is current.get("red-router").plugin
    assert plan.started == plan.retired == frozenset()


def test_a_disabled_plugin_leaves_and_is_stopped() -> None:
    _, plan = reload_with({"red-router": {"enabled": False}})

    assert [p.name for p in plan.registry.plugins] == ["permanent-failures"]
    assert plan.retired == {"red-router"}


def test_a_plugin_whose_config_changed_gets_a_new_instance_started_in_place_of_the_old() -> None:
    current, plan = reload_with({"red-router": {"config": {"topic": "widgets.crimson"}}})

    new = plan.registry.get("red-router").plugin
    assert new is not current.get("red-router").plugin
    assert new.config.topic == "widgets.crimson"
    assert (plan.started, plan.retired) == ({"red-router"}, {"red-router"})


def test_a_new_priority_reorders_without_a_new_instance() -> None:
    _, plan = reload_with(
        {"red-router": {"config": {"topic": "widgets.red"}}, "permanent-failures": {"priority": 50}}
    )

    assert [p.name for p in plan.registry.plugins] == ["permanent-failures", "red-router"]
    assert plan.started == frozenset()
    assert "permanent-failures: priority 0 -> 50" in plan.changes


def test_a_plugin_config_that_does_not_validate_is_refused_naming_its_path() -> None:
    with pytest.raises(ReloadError) as refused:
        reload_with({"red-router": {"config": {"min_size": "big"}}})

    assert any("plugins.red-router.config.min_size" in p for p in refused.value.problems)


def test_settings_for_a_plugin_that_is_not_installed_are_applied_with_a_did_you_mean(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="kafka_pipeline.loading"):
        _, plan = reload_with({"red-ruter": {"enabled": False}})

    assert sorted(p.name for p in plan.registry.plugins) == ["permanent-failures", "red-router"]
    assert "plugins.red-ruter: no installed plugin is named 'red-ruter'; did you mean 'red-router'?" in (
        caplog.text
    )


def test_in_strict_mode_an_unknown_plugin_name_is_refused() -> None:
    with pytest.raises(ReloadError, match=r"plugins\.red-ruter: no installed plugin is named 'red-ruter'"):
        reload_with({"red-ruter": {"enabled": False}}, strict=True)


def test_an_invalid_plugin_that_start_skipped_does_not_block_an_unrelated_reload(
    widget_plugins: Site,
) -> None:
    widget_plugins.install_plugin("nosy-router", EXTRA_ARGUMENT, "RedRouter")
    config = parse_config({**RUNNING, "load": [*WIDGET_PLUGINS, "nosy-router"]})
    current = discover(config).registry("widgets")  # start-up skips nosy-router
    new = parse_config(
        {**RUNNING, "load": [*WIDGET_PLUGINS, "nosy-router"], "plugins": {"red-router": {"enabled": False}}}
    )

    plan = prepare_reload(config, current, new, "widgets")

    assert [p.name for p in plan.registry.plugins] == ["permanent-failures"]
    assert [p for p in plan.skipped if "nosy-router" in p and "must take one argument" in p]


def test_a_plugin_that_start_skipped_for_its_config_does_not_block_an_unrelated_reload() -> None:
    broken = {"red-router": {"config": {"topik": "x"}}}
    config = parse_config({**RUNNING, "plugins": broken})
    current = discover(config).registry("widgets")  # start-up skips red-router
    new = parse_config({**RUNNING, "plugins": {**broken, "permanent-failures": {"priority": 7}}})

    plan = prepare_reload(config, current, new, "widgets")

    assert [(p.name, p.priority) for p in plan.registry.plugins] == [("permanent-failures", 7)]
    assert [p for p in plan.skipped if "plugins.red-router.config.topik" in p]
