"""A SASL password, in the config file or in the environment, is never printed by ``check`` or ``plugins``.

The worker's logs are checked against the broker in ``integration/test_worker_secrets.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from click.testing import Result

FILE_PASSWORD = "pw-in-the-file-4711"
ENV_PASSWORD = "pw-in-the-env-0815"

COMMANDS = [
    pytest.param(("check",), id="check"),
    pytest.param(("plugins", "--json"), id="plugins --json"),
    pytest.param(("plugins",), id="plugins"),
]


@pytest.fixture
def env_password(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("KAFKA_PIPELINE_SASL_PASSWORD", ENV_PASSWORD)
    return ENV_PASSWORD


@pytest.mark.usefixtures("widget_plugins")
@pytest.mark.parametrize("log_format", ["text", "json"])
@pytest.mark.parametrize("command", COMMANDS)
def test_a_password_from_the_file_is_never_printed(
    cli: Callable[..., Result],
    config_file: Callable[[dict[str, Any]], str],
    command: tuple[str, ...],
    log_format: str,
) -> None:
    path = config_file(
        {
            "kafka": {
                "security_protocol": "SASL_SSL",
                "sasl_username": "router",
                "sasl_password": FILE_PASSWORD,
            }
        }
    )

    result = cli("--log-level", "debug", "--log-format", log_format, *command, "--config", path)

    assert result.exit_code == 0, result.output
    assert FILE_PASSWORD not in result.output


@pytest.mark.usefixtures("widget_plugins")
@pytest.mark.parametrize("log_format", ["text", "json"])
@pytest.mark.parametrize("command", COMMANDS)
def test_a_password_from_the_environment_is_never_printed(
    cli: Callable[..., Result],
    config_file: Callable[[dict[str, Any]], str],
    env_password: str,
    command: tuple[str, ...],
    log_format: str,
) -> None:
    path = config_file({"kafka": {"security_protocol": "SASL_SSL", "sasl_username": "router"}})

    result = cli("--log-level", "debug", "--log-format", log_format, *command, "--config", path)

    assert result.exit_code == 0, result.output
    assert env_password not in result.output


@pytest.mark.usefixtures("widget_plugins")
def test_a_password_next_to_a_problem_in_a_plugin_config_is_not_printed(
    cli: Callable[..., Result], config_file: Callable[[dict[str, Any]], str], env_password: str
) -> None:
    path = config_file(
        {
            "kafka": {"sasl_password": FILE_PASSWORD},
            "plugins": {"red-router": {"config": {"min_size": "big"}}},
        }
    )

    result = cli("--log-level", "debug", "check", "--config", path)

    assert result.exit_code == 1
    assert "plugins.red-router.config.min_size" in result.stdout
    assert FILE_PASSWORD not in result.output
    assert env_password not in result.output
