"""Which storage settings are refused before a worker commits anything, and why."""

from __future__ import annotations

import pytest
from packaging.version import Version

from kafka_pipeline._config import DeltaSettings, parse_config
from kafka_pipeline._errors import ConfigError
from kafka_pipeline._sinks.storage import commit_safety, store_kind

S3 = "s3://bucket/delta"
NOW = Version("1.6.6")


def safety(root: str = S3, options: dict[str, str] | None = None, **settings: object) -> list[str]:
    delta = DeltaSettings.model_validate({"root": root, **settings})
    return list(commit_safety(delta, options or {}, environ={}, deltalake_version=NOW).problems)


@pytest.mark.parametrize(
    ("root", "kind"),
    [
        ("s3://b/p", "S3"),
        ("s3a://b/p", "S3"),
        ("az://c/p", "Azure Blob"),
        ("abfss://c@acct.dfs.core.windows.net/p", "Azure Blob"),
        ("gs://b/p", "Google Cloud Storage"),
        ("./delta", "local"),
        ("file:///data/delta", "local"),
    ],
)
def test_delta_root_accepts_every_store_deltalake_writes(root: str, kind: str) -> None:
    assert (parse_config({"delta": {"root": root}}).delta.root, store_kind(root)) == (root, kind)


def test_a_root_deltalake_cannot_write_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"delta.root: .*deltalake cannot write to hdfs:// URIs"):
        parse_config({"delta": {"root": "hdfs://nn/delta"}})


def test_s3_with_default_settings_commits_by_conditional_put() -> None:
    delta = DeltaSettings(root=S3)

    assert commit_safety(delta, {}, environ={}).mechanism == "conditional put (If-None-Match)"


@pytest.mark.parametrize("key", ["AWS_S3_ALLOW_UNSAFE_RENAME", "aws_s3_allow_unsafe_rename"])
def test_the_unsafe_rename_option_is_refused(key: str) -> None:
    (problem,) = safety(options={key: "true"})

    assert problem.startswith("delta.storage_options: AWS_S3_ALLOW_UNSAFE_RENAME is set")
    assert "delta.single_writer: true" in problem


def test_the_unsafe_rename_option_is_refused_from_the_process_environment() -> None:
    delta = DeltaSettings(root=S3)

    problems = commit_safety(delta, {}, environ={"AWS_S3_ALLOW_UNSAFE_RENAME": "1"}).problems

    assert len(problems) == 1


def test_the_unsafe_rename_option_is_accepted_for_a_single_writer() -> None:
    assert safety(options={"AWS_S3_ALLOW_UNSAFE_RENAME": "true"}, single_writer=True) == []


def test_a_false_unsafe_rename_option_is_harmless() -> None:
    assert safety(options={"AWS_S3_ALLOW_UNSAFE_RENAME": "false"}) == []


def test_the_dynamodb_locking_provider_is_refused_where_deltalake_ignores_it() -> None:
    (problem,) = safety(options={"AWS_S3_LOCKING_PROVIDER": "dynamodb"})

    assert "deltalake 1.6.6 no longer has the DynamoDB log store (removed in 1.6.1)" in problem
    assert "deltalake>=1.0,<1.6.1" in problem


def test_the_dynamodb_locking_provider_is_used_where_deltalake_has_it() -> None:
    delta = DeltaSettings(root=S3)
    options = {"AWS_S3_LOCKING_PROVIDER": "dynamodb"}

    safety_ = commit_safety(delta, options, environ={}, deltalake_version=Version("1.6.0"))

    assert (safety_.mechanism, safety_.problems) == (
        "DynamoDB locking provider (AWS_S3_LOCKING_PROVIDER=dynamodb)",
        (),
    )


def test_s3_settings_do_not_matter_on_azure() -> None:
    assert safety(root="az://c/delta", options={"AWS_S3_ALLOW_UNSAFE_RENAME": "true"}) == []
