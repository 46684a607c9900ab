"""The ``kafka-pipeline`` group itself: version, help, and staying cheap to start."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import Result
from fake_plugins import Site

from kafka_pipeline import __version__


def test_version_is_the_installed_cores(cli: Callable[..., Result]) -> None:
    result = cli("--version")

    assert result.stdout == f"kafka-pipeline, version {__version__}\n"


def test_help_lists_the_commands(cli: Callable[..., Result]) -> None:
    result = cli("--help")

    commands = result.stdout.split("Commands:")[1].split()
    assert {"plugins", "check", "route"} <= set(commands)


def test_starting_the_command_imports_no_kafka_client_and_no_delta_writer() -> None:
    heavy = ("aiokafka", "deltalake", "pyarrow")
    script = (
        "import json, sys, kafka_pipeline._cli\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {heavy!r})))"
    )

    imported = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)

    assert json.loads(imported.stdout) == []


@pytest.fixture
def strict_with_a_broken_plugin(widget_plugins: Site, config_file: Callable[[dict[str, Any]], str]) -> str:
    """A config in strict mode, with a plugin installed that fails to import: start-up must stop."""
    widget_plugins.install_plugin("broken", "import kafka_pipeline_does_not_exist\n", "Broken")
    return config_file({"strict": True})


def test_an_expected_failure_is_one_message_without_a_traceback(
    cli: Callable[..., Result], strict_with_a_broken_plugin: str
) -> None:
    result = cli("worker", "--domain", "widgets", "--config", strict_with_a_broken_plugin)

    assert result.exit_code == 1
    assert "plugin 'broken'" in result.stderr
    assert "Traceback" not in result.output


def test_its_traceback_is_shown_at_log_level_debug(
    cli: Callable[..., Result], strict_with_a_broken_plugin: str
) -> None:
    result = cli(
        "--log-level", "debug", "worker", "--domain", "widgets", "--config", strict_with_a_broken_plugin
    )

    assert result.exit_code == 1
    assert "Traceback (most recent call last)" in result.stderr
