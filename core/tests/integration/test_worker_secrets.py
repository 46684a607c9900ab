"""The worker never logs a secret: a SASL password from the file or the environment, in text or JSON.

The broker here is plaintext, so the password is configured but never used:
what matters is that nothing the worker logs at debug level (start-up,
routing, plugin failures, invalid input, shutdown) contains it. The JSON
run also checks that the records about a message carry its trace id and
the records about a plugin the plugin's name.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest
from click.testing import CliRunner, Result

from integration.kit import (
    Names,
    config_data,
    create_topics,
    encode,
    parcel,
    produce,
    read_topic,
    write_config,
)
from kafka_pipeline._cli import main

pytestmark = pytest.mark.integration

FILE_PASSWORD = "pw-in-the-file-4711"
ENV_PASSWORD = "pw-in-the-env-0815"

SENT = [
    (b"e1", encode(parcel("e1", carrier="express"))),
    (b"f1", encode(parcel("f1", tags=["fussy"]))),
    (b"x1", b"{not json"),
]


def run_worker_command(
    bootstrap: str,
    names: Names,
    log_format: str,
    kafka: dict[str, Any],
    *,
    sent: list[tuple[bytes, bytes]] = SENT,
    plugins: dict[str, Any] | None = None,
) -> Result:
    asyncio.run(create_topics(bootstrap, names.source, names.dlq, partitions=1))
    asyncio.run(create_topics(bootstrap, names.topic("express"), names.topic("fussy"), partitions=1))
    asyncio.run(produce(bootstrap, names.source, sent))
    data = config_data(
        bootstrap,
        names,
        plugins
        or {
            "express-router": {"config": {"topic": names.topic("express")}},
            "fussy": {"config": {"topic": names.topic("fussy")}, "max_retries": 1},
        },
        resilience={"retry_backoff_seconds": 0.01},
    )
    data["kafka"] |= kafka
    path = write_config(names.delta_root.parent / "pipeline.yaml", data)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        args = ["--log-level", "debug", "--log-format", log_format, "worker", "--domain", "parcels"]
        return CliRunner().invoke(main, [*args, "--config", str(path), "--exit-when-idle", "1.5"])
    finally:  # the command logs to the runner's stream, which is closed afterwards
        for handler in [h for h in root.handlers if h not in handlers]:
            root.removeHandler(handler)
        root.setLevel(level)


def test_a_password_from_the_file_is_never_in_the_text_log(bootstrap: str, names: Names) -> None:
    result = run_worker_command(
        bootstrap, names, "text", {"sasl_username": "router", "sasl_password": FILE_PASSWORD}
    )

    assert result.exit_code == 0, result.output
    assert "plugin fussy failed" in result.stderr
    assert FILE_PASSWORD not in result.output


def test_a_password_from_the_environment_is_never_in_the_json_log(
    bootstrap: str, names: Names, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAFKA_PIPELINE_SASL_PASSWORD", ENV_PASSWORD)

    result = run_worker_command(bootstrap, names, "json", {"sasl_username": "router"})

    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    about_fussy = [r for r in records if r["message"].startswith("plugin fussy")]
    assert about_fussy
    assert all(r["plugin"] == "fussy" and r["trace_id"] == "f1" for r in about_fussy)
    assert ENV_PASSWORD not in result.output


def test_a_password_quoted_by_a_failing_plugin_is_masked_in_the_log_and_the_dlq_header(
    bootstrap: str, names: Names, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAFKA_PIPELINE_SASL_PASSWORD", ENV_PASSWORD)

    result = run_worker_command(
        bootstrap,
        names,
        "text",
        {"sasl_username": "router"},
        sent=[(b"k1", encode(parcel("k1", tags=["leaky"])))],
        plugins={"leaky": {"max_retries": 0}},
    )

    assert result.exit_code == 0, result.output
    (parked,) = asyncio.run(read_topic(bootstrap, names.dlq))
    assert parked.headers["x-dlq-error"] == "route: PermissionError: login with ********** refused"
    assert "plugin leaky failed" in result.stderr
    assert ENV_PASSWORD not in result.output
