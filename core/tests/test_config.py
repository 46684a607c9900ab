"""The YAML configuration: every problem named by its path, secrets never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from kafka_pipeline import ConfigError, load_config, parse_config
from kafka_pipeline._config import ENV_SASL_PASSWORD, ENV_STORAGE_OPTIONS, is_credential_option


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


def test_a_yaml_error_never_quotes_a_token_that_may_be_a_password(tmp_path: Path) -> None:
    path = tmp_path / "alias.yaml"
    # Unquoted, a password that starts with '*' is read as an alias of that name.
    path.write_text("kafka:\n  sasl_password: *hunter2-pw\n")

    with pytest.raises(ConfigError) as caught:
        load_config(path)

    assert caught.value.problems == [
        "<file>: not valid YAML at line 2, column 18: found undefined alias (value not shown)"
    ]


def test_a_key_given_twice_is_refused_naming_its_path_and_both_lines(tmp_path: Path) -> None:
    path = tmp_path / "twice.yaml"
    path.write_text("kafka:\n  group_id: a\n  client_id: c\n  group_id: b\n")

    with pytest.raises(ConfigError) as caught:
        load_config(path)

    assert caught.value.problems == [
        "kafka.group_id: given twice, at lines 2 and 4; YAML would silently keep only the last one: "
        "delete one of them"
    ]


def test_a_section_given_twice_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "twice.yaml"
    path.write_text("kafka: {group_id: a}\nmetrics: {port: 9108}\nkafka: {client_id: c}\n")

    with pytest.raises(ConfigError, match=r"kafka: given twice, at lines 1 and 3"):
        load_config(path)


def test_anchors_and_merge_keys_still_work(tmp_path: Path) -> None:
    path = tmp_path / "merge.yaml"
    path.write_text("kafka: &k {group_id: a}\nplugins:\n  x: {config: {<<: *k, group_id: b}}\n")

    assert load_config(path).plugins["x"].config == {"group_id": "b"}


def test_a_file_that_is_not_utf8_is_a_config_error_naming_the_byte(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("kafka:\n  group_id: caf\u00e9\n".encode("latin-1"))

    with pytest.raises(ConfigError) as caught:
        load_config(path)

    assert (caught.value.source, caught.value.problems) == (
        str(path),
        ["<file>: not UTF-8 text: byte 22 (line 2, column 16) is not valid UTF-8; save the file as UTF-8"],
    )


def test_storage_options_in_the_environment_that_are_not_json_are_named_but_never_shown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(ENV_STORAGE_OPTIONS, '{"AWS_SECRET_ACCESS_KEY": hunter2-key}')

    with pytest.raises(ConfigError) as caught:
        load_config(None)

    (problem,) = caught.value.problems
    assert problem.startswith(f"{ENV_STORAGE_OPTIONS} (environment): not valid JSON (Expecting value at ")
    assert "hunter2" not in problem


@pytest.mark.parametrize("value", ["[1, 2]", '"key=x"', '{"nested": {"a": "b"}}'])
def test_storage_options_in_the_environment_must_be_an_object_of_strings(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv(ENV_STORAGE_OPTIONS, value)

    with pytest.raises(ConfigError, match=f"^invalid configuration:\n  {ENV_STORAGE_OPTIONS} "):
        load_config(None)


def test_problems_of_the_file_and_of_the_environment_are_listed_together(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "worker.yaml"
    path.write_text("source_topic: [1, 2]\n")
    monkeypatch.setenv(ENV_STORAGE_OPTIONS, "{")

    with pytest.raises(ConfigError) as caught:
        load_config(path)

    assert [p.split(" ")[0] for p in caught.value.problems] == ["source_topic:", ENV_STORAGE_OPTIONS]


def test_only_credential_storage_options_are_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        ENV_STORAGE_OPTIONS, '{"AZURE_STORAGE_SAS_TOKEN": "sv=2024&sig=abc", "allow_http": true}'
    )
    config = parse_config(
        {
            "delta": {
                "storage_options": {
                    "AWS_SECRET_ACCESS_KEY": "s3cr3t-key",
                    "AWS_REGION": "eu-west-1",
                    "max_retries": 1,
                }
            }
        }
    )

    assert sorted(config.secrets()) == ["s3cr3t-key", "sv=2024&sig=abc"]
    assert config.delta.resolved_storage_options()["max_retries"] == "1"
    assert config.delta.resolved_storage_options()["allow_http"] == "true"


@pytest.mark.parametrize(
    ("name", "credential"),
    [
        ("AWS_SECRET_ACCESS_KEY", True),
        ("aws_session_token", True),
        ("azure_storage_account_key", True),
        ("AZURE_STORAGE_CLIENT_SECRET", True),
        ("connection string", True),
        ("google_application_credentials", True),
        ("password", True),
        ("AWS_REGION", False),
        ("max_retries", False),
        ("aws_endpoint", False),
        ("timeout", False),
    ],
)
def test_a_storage_option_is_a_credential_by_its_name(name: str, credential: bool) -> None:
    assert is_credential_option(name) is credential


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


@pytest.mark.parametrize(
    "data",
    [
        {"kafka": {"sasl_password": ["hunter2-secret"]}},
        {"kafka": {"security_protocol": "hunter2-secret"}},
        {"kafka": {"linger_ms": "hunter2-secret"}},
        {"delta": {"storage_options": {"AWS_SECRET_ACCESS_KEY": ["hunter2-secret"]}}},
    ],
    ids=["wrong type", "not a choice", "not a number", "storage option"],
)
def test_a_value_that_fails_validation_is_never_echoed(data: dict[str, object]) -> None:
    assert "hunter2" not in " ".join(problems(data))
