"""``kafka-pipeline worker``: its usage errors, before any broker is contacted."""

from __future__ import annotations

import re
from collections.abc import Callable
from types import ModuleType
from typing import Any

from click.testing import Result


def test_an_unknown_domain_is_a_usage_error_naming_the_installed_ones(
    cli: Callable[..., Result], config_file: Callable[[dict[str, Any]], str], widgets: ModuleType
) -> None:
    result = cli("worker", "--domain", "parcels", "--config", config_file({}))

    assert result.exit_code == 2
    assert re.search(r"unknown domain 'parcels' \(installed: [^)]*\bwidgets\b", result.stderr), result.stderr


def test_the_config_file_is_required(cli: Callable[..., Result]) -> None:
    result = cli("worker", "--domain", "widgets")

    assert (result.exit_code, "Missing option '--config'" in result.stderr) == (2, True)


def test_an_invalid_config_is_reported_with_every_problem(
    cli: Callable[..., Result], config_file: Callable[[dict[str, Any]], str], widgets: ModuleType
) -> None:
    path = config_file({"delta": {"flush_max_rows": 0}, "worker": {"batch_max_records": -1}})

    result = cli("worker", "--domain", "widgets", "--config", path)

    assert result.exit_code == 1
    assert "delta.flush_max_rows: Input should be greater than 0" in result.stderr
    assert "worker.batch_max_records: Input should be greater than 0" in result.stderr
