"""The YAML configuration: every problem named by its path, secrets never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from kafka_pipeline import ConfigError, load_config, parse_config
from kafka_pipeline._config import ENV_SASL_PASSWORD


def problems(data: dict[str, object]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    return caught.value.problems


def test_every_problem_is_listed_with_its_dotted_path() -> None:
    found = problems(
        {
            "kafka": {"group_id": 3},
            "delta": {"flush_max_rows": 0},
            "plugins": {"red-router": {"priority": "high"}},
        }
    )

    assert [p.split(":")[0] for p in found] == [
        "kafka.group_id",
        "delta.flush_max_rows",
        "plugins.red-router.priority",
    ]


def test_an_unknown_key_is_an_error_rather_than_ignored() -> None:
    assert problems({"kafka": {"bootstrap_server": "x:9092"}}) == [
        "kafka.bootstrap_server: Extra inputs are not permitted"
    ]


def test_the_file_name_is_part_of_the_error(tmp_path: Path) -> None:
    path = tmp_path / "worker.yaml"
    path.write_text("source_topic: [1, 2]\n")

    with pytest.raises(ConfigError, match=r"invalid configuration in .*worker\.yaml:\n  source_topic: "):
        load_config(path)


def test_a_missing_file_is_a_config_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"cannot read .*absent\.yaml: No such file or directory"):
        load_config(tmp_path / "absent.yaml")


def test_a_yaml_syntax_error_gives_the_position_without_quoting_the_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("kafka:\n  sasl_password: hunter2: oops\n")

    with pytest.raises(ConfigError) as caught:
        load_config(path)

    assert caught.value.problems == [
        "<file>: not valid YAML at line 2, column 25: mapping values are not allowed here"
    ]


def test_a_file_that_is_not_a_mapping_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text("- kafka\n")

    with pytest.raises(ConfigError, match="<root>: expected a mapping at the top level"):
        load_config(path)


def test_an_empty_file_gives_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("# nothing yet\n")

    assert load_config(path) == parse_config({})


def test_the_sasl_password_comes_from_the_environment_and_is_never_shown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(ENV_SASL_PASSWORD, "hunter2")

    config = parse_config({"kafka": {"sasl_username": "svc"}})

    assert config.kafka.sasl_password is not None
    assert config.kafka.sasl_password.get_secret_value() == "hunter2"
    assert "hunter2" not in f"{config!r} {config.model_dump()}"


def test_command_line_overrides_replace_the_files_values() -> None:
    config = parse_config({"kafka": {"bootstrap_servers": "a:9092", "group_id": "g"}})

    overridden = config.with_overrides(bootstrap_servers="b:9092", group_id=None, delta_root="/data")

    assert (overridden.kafka.bootstrap_servers, overridden.kafka.group_id, overridden.delta.root) == (
        "b:9092",
        "g",
        "/data",
    )
