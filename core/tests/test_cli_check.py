"""``kafka-pipeline check``: every problem a worker would hit, listed in one run."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from click.testing import Result
from fake_plugins import EXTRA_ARGUMENT, RED_ROUTER, Site

ONLY_TEST_PLUGINS = ["red-router", "permanent-failures"]


def listed(result: Result) -> list[str]:
    """The problem lines of a failed check, continuation lines included."""
    return [line.strip() for line in result.stdout.splitlines()[1:]]


@pytest.mark.usefixtures("widget_plugins")
def test_a_good_config_passes_with_a_one_line_summary(
    cli: Callable[..., Result], config_file: Callable[..., str]
) -> None:
    path = config_file(
        {
            "kafka": {"bootstrap_servers": "kafka:9092", "group_id": "widgets"},
            "plugins": {"red-router": {"priority": 9, "config": {"topic": "widgets.hot"}}},
            "load": ONLY_TEST_PLUGINS,
        }
    )

    result = cli("check", "--config", path)

    assert result.exit_code == 0
    assert result.stdout.startswith(f"OK: {path} is valid. ")
    assert len(result.stdout.splitlines()) == 1


@pytest.mark.usefixtures("widget_plugins")
def test_a_bad_config_lists_every_problem_with_its_path_and_exits_1(
    cli: Callable[..., Result], config_file: Callable[..., str]
) -> None:
    path = config_file(
        {
            "kafka": {"group_id": 7},
            "worker": {"batch_max_record": 10},
            "plugins": {
                "red-router": {"config": {"topic": 3, "colour": "red"}},
                "blue-router": {"enabled": True},
            },
            "load": [*ONLY_TEST_PLUGINS, "green-router"],
        }
    )

    result = cli("check", "--config", path)

    assert result.exit_code == 1
    problems = "\n".join(listed(result))
    for path_of_problem in (
        "kafka.group_id: ",
        "worker.batch_max_record: ",
        "plugins.red-router.config.topic: ",
        "plugins.red-router.config.colour: unknown key for plugin 'red-router'",
        "plugins.blue-router: no installed plugin is named 'blue-router'",
        "load[2]: no installed plugin is named 'green-router'",
    ):
        assert path_of_problem in problems


@pytest.mark.usefixtures("widget_plugins")
def test_plugin_configs_are_checked_even_when_the_rest_of_the_file_is_invalid(
    cli: Callable[..., Result], config_file: Callable[..., str]
) -> None:
    path = config_file(
        {
            "plugins": {"red-router": {"priority": "high", "config": {"min_size": "big"}}},
            "load": ["red-router"],
        }
    )

    result = cli("check", "--config", path)

    problems = "\n".join(listed(result))
    assert "plugins.red-router.priority: " in problems
    assert "plugins.red-router.config.min_size: " in problems


def test_a_hook_signature_that_does_not_fit_its_spec_is_a_problem(
    cli: Callable[..., Result], config_file: Callable[..., str], widget_plugins: Site
) -> None:
    widget_plugins.install_plugin("nosy-router", EXTRA_ARGUMENT, "RedRouter")

    result = cli("check", "--config", config_file({"load": ["nosy-router"]}))

    assert result.exit_code == 1
    assert "hook 'should_route' of RedRouter must take one argument, the message, after self" in result.stdout


def test_a_plugin_built_for_another_core_is_a_problem(
    cli: Callable[..., Result], config_file: Callable[..., str], widget_plugins: Site
) -> None:
    widget_plugins.install_plugin("old-router", RED_ROUTER, "RedRouter", requires=["kafka-pipeline-core>=99"])

    result = cli("check", "--config", config_file({"load": ["old-router"]}))

    assert result.exit_code == 1
    assert "plugin 'old-router' (kafka-pipeline-old-router 1.0.0): requires kafka-pipeline-core>=99" in (
        result.stdout
    )


def test_a_disabled_broken_plugin_is_not_a_problem(
    cli: Callable[..., Result], config_file: Callable[..., str], widget_plugins: Site
) -> None:
    widget_plugins.install_plugin("broken", "raise ImportError('gone')\n", "Broken")
    path = config_file({"plugins": {"broken": {"enabled": False}}, "load": [*ONLY_TEST_PLUGINS, "broken"]})

    result = cli("check", "--config", path)

    assert result.exit_code == 0


@pytest.mark.usefixtures("widget_plugins")
def test_secrets_are_not_printed_even_next_to_a_problem(
    cli: Callable[..., Result], config_file: Callable[..., str]
) -> None:
    path = config_file({"kafka": {"sasl_password": "hunter2", "sasl_mechanism": "ROT13"}})

    result = cli("check", "--config", path)

    assert result.exit_code == 1
    assert "kafka.sasl_mechanism" in result.stdout
    assert "hunter2" not in result.output


@pytest.mark.usefixtures("widget_plugins")
def test_a_file_that_is_not_yaml_exits_1_with_the_position_of_the_error(
    cli: Callable[..., Result], tmp_path: Any
) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("kafka: {group_id: [\n")

    result = cli("check", "--config", str(path))

    assert result.exit_code == 1
    assert "not valid YAML at line 2" in result.stderr


def test_a_config_file_that_does_not_exist_is_a_usage_error(
    cli: Callable[..., Result], tmp_path: Any
) -> None:
    result = cli("check", "--config", str(tmp_path / "absent.yaml"))

    assert result.exit_code == 2
    assert "absent.yaml' does not exist" in result.stderr


@pytest.mark.usefixtures("widget_plugins")
def test_a_name_in_the_load_variable_that_no_plugin_has_is_a_problem(
    cli: Callable[..., Result], config_file: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAFKA_PIPELINE_LOAD_PLUGINS", "red-router,red-ruoter")

    result = cli("check", "--config", config_file({}))

    assert result.exit_code == 1
    assert "KAFKA_PIPELINE_LOAD_PLUGINS: no installed plugin is named 'red-ruoter'" in result.stdout


def test_in_strict_mode_a_broken_plugin_is_listed_like_any_other_problem(
    cli: Callable[..., Result], config_file: Callable[..., str], widget_plugins: Site
) -> None:
    widget_plugins.install_plugin("broken", "raise ImportError('gone')\n", "Broken")
    path = config_file(
        {"strict": True, "load": ["broken", "red-router"], "plugins": {"red-router": {"colour": "red"}}}
    )

    result = cli("check", "--config", path)

    assert result.exit_code == 1
    assert "plugin 'broken' (kafka-pipeline-broken 1.0.0): import failed: ImportError: gone" in result.stdout
    assert "plugins.red-router.colour: Extra inputs are not permitted" in result.stdout
