"""Every command answers a broken configuration with one message and exit 1, never a traceback.

The file may not be UTF-8 or may give a key twice, and the storage options in
the environment may not be JSON: each is named (the file and the byte, the key
and its lines, the variable), and no value is shown.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from kafka_pipeline._config import ENV_STORAGE_OPTIONS

SECRET = "hunter2-storage-key"

COMMANDS = [
    pytest.param(("check",), id="check"),
    pytest.param(("plugins",), id="plugins"),
    pytest.param(("route", "--domain", "widgets"), id="route"),
    pytest.param(("worker", "--domain", "widgets"), id="worker"),
    pytest.param(("replay", "--domain", "widgets"), id="replay"),
]


@pytest.fixture
def run(cli: Callable[..., Result], tmp_path: Path) -> Callable[..., Result]:
    """Runs a command on a config file; ``route`` gets an empty input file."""
    messages = tmp_path / "in.jsonl"
    messages.write_text("")

    def invoke(command: tuple[str, ...], config: Path) -> Result:
        extra = (str(messages),) if command[0] == "route" else ()
        return cli(*command, "--config", str(config), *extra)

    return invoke


def failed_with_one_message(result: Result) -> bool:
    return result.exit_code == 1 and "Traceback" not in result.output


@pytest.mark.usefixtures("widget_plugins")
@pytest.mark.parametrize("command", COMMANDS)
def test_storage_options_that_are_not_json_are_named_by_every_command(
    run: Callable[..., Result], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: tuple[str, ...]
) -> None:
    config = tmp_path / "ok.yaml"
    config.write_text("kafka: {group_id: widgets}\n")
    monkeypatch.setenv(ENV_STORAGE_OPTIONS, f'{{"AWS_SECRET_ACCESS_KEY": {SECRET}}}')

    result = run(command, config)

    assert failed_with_one_message(result), result.output
    assert f"{ENV_STORAGE_OPTIONS} (environment): not valid JSON" in result.output
    assert SECRET not in result.output


@pytest.mark.usefixtures("widget_plugins")
@pytest.mark.parametrize("command", COMMANDS)
def test_a_file_that_is_not_utf8_is_named_with_the_byte_by_every_command(
    run: Callable[..., Result], tmp_path: Path, command: tuple[str, ...]
) -> None:
    config = tmp_path / "latin1.yaml"
    config.write_bytes("kafka:\n  group_id: caf\u00e9\n".encode("latin-1"))

    result = run(command, config)

    assert failed_with_one_message(result), result.output
    assert str(config) in result.output
    assert "not UTF-8 text: byte 22 (line 2, column 16)" in result.output


@pytest.mark.usefixtures("widget_plugins")
@pytest.mark.parametrize("command", COMMANDS)
def test_a_key_given_twice_is_refused_by_every_command(
    run: Callable[..., Result], tmp_path: Path, command: tuple[str, ...]
) -> None:
    config = tmp_path / "twice.yaml"
    config.write_text("kafka:\n  group_id: a\n  group_id: b\n")

    result = run(command, config)

    assert failed_with_one_message(result), result.output
    assert "kafka.group_id: given twice, at lines 2 and 3" in result.output


@pytest.mark.usefixtures("widget_plugins")
def test_a_password_that_yaml_reads_as_an_alias_is_not_shown(
    run: Callable[..., Result], tmp_path: Path
) -> None:
    config = tmp_path / "alias.yaml"
    config.write_text(f"kafka:\n  sasl_password: *{SECRET}\n")

    result = run(("check",), config)

    assert failed_with_one_message(result), result.output
    assert "found undefined alias (value not shown)" in result.output
    assert SECRET not in result.output
