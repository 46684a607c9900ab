"""Hot reload: which plugins a new configuration keeps, replaces, adds and removes, or why it is refused.

The swap itself (between two batches of a running worker) is tested against
the broker in ``integration/test_worker_hot_reload.py``.
"""

from __future__ import annotations

from typing import Any

import pytest
from fake_plugins import WIDGET_PLUGINS

from kafka_pipeline import PipelineConfig, discover, parse_config
from kafka_pipeline._registry import PluginRegistry
from kafka_pipeline._worker.reload import ReloadError, prepare_reload, restart_only_changes

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


def test_settings_for_a_plugin_that_is_not_installed_are_refused() -> None:
    with pytest.raises(ReloadError, match=r"plugins\.red-ruter: no installed plugin is named 'red-ruter'"):
        reload_with({"red-ruter": {"enabled": False}})


def test_the_running_registry_is_untouched_by_a_refused_reload() -> None:
    config, current = running()
    before = current.plugins

    with pytest.raises(ReloadError):
        prepare_reload(
            config, current, parse_config({"plugins": {"red-router": {"config": {"x": 1}}}}), "widgets"
        )

    assert current.plugins == before


def test_settings_outside_the_plugins_are_named_as_needing_a_restart() -> None:
    old = parse_config({"kafka": {"bootstrap_servers": "a:9092"}, "plugins": {"red-router": {"priority": 1}}})
    new = parse_config(
        {"kafka": {"bootstrap_servers": "b:9092"}, "delta": {"root": "/elsewhere"}, "plugins": {}}
    )

    assert restart_only_changes(old, new) == ["kafka.bootstrap_servers", "delta.root"]


def test_a_changed_password_is_named_as_needing_a_restart_without_its_value() -> None:
    old = parse_config({"kafka": {"sasl_password": "hunter2"}})
    new = parse_config({"kafka": {"sasl_password": "hunter3"}})

    assert restart_only_changes(old, new) == ["kafka.sasl_password"]


def test_a_plugin_disabled_at_start_up_is_loaded_and_started_when_enabled() -> None:
    config = parse_config({**RUNNING, "plugins": {"red-router": {"enabled": False}}})
    current = discover(config).registry("widgets")

    plan = prepare_reload(config, current, parse_config(RUNNING), "widgets")

    assert plan.started == {"red-router"}
