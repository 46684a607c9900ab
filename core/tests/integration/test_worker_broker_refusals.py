"""A broker that refuses the worker gets one line naming the setting to change, never a traceback.

The embedded Tansu refuses aiokafka's idempotent producer, and with
``--authentication`` it refuses any SASL login (it knows no user): both are
the refusals an operator meets first, with a development broker or with a
wrong password.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner, Result

from integration.kit import Names, config_data, create_topics, write_config
from kafka_pipeline._broker.embedded import free_port, tansu_binary
from kafka_pipeline._cli import main

pytestmark = pytest.mark.integration

PASSWORD = "pw-refused-by-tansu-4711"


@pytest.fixture(scope="module")
def authenticating_broker() -> Iterator[str]:
    """A Tansu that requires a SASL login, and has no user to log in as."""
    port = free_port()
    url = f"tcp://127.0.0.1:{port}"
    command = [tansu_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url]
    broker = subprocess.Popen(
        [*command, "--storage-engine", "memory://tansu/", "--authentication"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            time.sleep(0.05)
        yield f"127.0.0.1:{port}"
    finally:
        broker.terminate()
        broker.wait(timeout=10)


def run_worker_command(names: Names, data: dict[str, Any]) -> Result:
    path = write_config(names.delta_root.parent / "pipeline.yaml", data)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        args = ["worker", "--domain", "parcels", "--config", str(path), "--exit-when-idle", "1"]
        return CliRunner().invoke(main, args)
    finally:  # the command logs to the runner's stream, which is closed afterwards
        for handler in [h for h in root.handlers if h not in handlers]:
            root.removeHandler(handler)
        root.setLevel(level)


def refused_in_one_line(result: Result) -> str:
    """The command's error line, once it is clear that there is one and no traceback."""
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    (error,) = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    return error


def test_a_broker_that_refuses_the_idempotent_producer_names_the_setting(
    bootstrap: str, names: Names
) -> None:
    asyncio.run(create_topics(bootstrap, names.source, names.dlq, partitions=1))
    data = config_data(bootstrap, names, {})
    data["kafka"]["enable_idempotence"] = True

    error = refused_in_one_line(run_worker_command(names, data))

    assert "refused the idempotent producer" in error
    assert "kafka.enable_idempotence: false" in error


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_a_refused_scram_login_names_the_settings_and_not_the_password(
    authenticating_broker: str, names: Names, monkeypatch: pytest.MonkeyPatch, mechanism: str
) -> None:
    monkeypatch.setenv("KAFKA_PIPELINE_SASL_PASSWORD", PASSWORD)
    data = config_data(authenticating_broker, names, {})
    data["kafka"] |= {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": mechanism,
        "sasl_username": "router",
    }

    result = run_worker_command(names, data)

    error = refused_in_one_line(result)
    assert f"refused the SASL {mechanism} login" in error
    assert "kafka.sasl_username ('router')" in error
    assert PASSWORD not in result.output


def test_a_plain_login_the_broker_hangs_up_on_names_the_login_settings_too(
    authenticating_broker: str, names: Names, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAFKA_PIPELINE_SASL_PASSWORD", PASSWORD)
    data = config_data(authenticating_broker, names, {})
    data["kafka"] |= {"security_protocol": "SASL_PLAINTEXT", "sasl_username": "router"}

    result = run_worker_command(names, data)

    error = refused_in_one_line(result)
    assert "or each refused the SASL login" in error
    assert PASSWORD not in result.output
