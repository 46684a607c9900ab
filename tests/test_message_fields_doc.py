"""docs/message-fields.md is what ``kafka-pipeline domains --markdown`` prints for the real domains.

The page is generated from the XACT and ClaimX models; a field or a
description changed without regenerating it fails here, with the command
that regenerates it. Runs where every package is installed (nox's tests-all
session).
"""

from __future__ import annotations

import difflib
import importlib.util
from pathlib import Path

import pytest
from click.testing import CliRunner

from kafka_pipeline._cli import main
from kafka_pipeline._cli.domains import markdown_command

PAGE = Path(__file__).resolve().parents[1] / "docs" / "message-fields.md"
#: The domains the page documents, and the packages that provide them.
DOMAINS = {"claimx": "kafka_pipeline_claimx", "xact": "kafka_pipeline_xact"}


def test_the_message_field_reference_is_up_to_date() -> None:
    missing = [package for package in DOMAINS.values() if importlib.util.find_spec(package) is None]
    if missing:
        pytest.fail(
            f"{', '.join(missing)} not installed: the page documents their domains. "
            "pip install ./plugins-xact ./plugins-claimx (nox -s tests-all installs every package)"
        )
    args = ["domains", "--markdown", *(f"--domain={name}" for name in DOMAINS)]
    generated = CliRunner().invoke(main, args, catch_exceptions=False).stdout

    committed = PAGE.read_text(encoding="utf-8") if PAGE.is_file() else ""
    diff = difflib.unified_diff(
        committed.splitlines(), generated.splitlines(), "committed", "generated", lineterm="", n=1
    )
    assert committed == generated, (
        f"{PAGE.name} is stale: the domain models changed since it was generated. From the "
        f"repository root, run\n\n    {markdown_command(list(DOMAINS))}\n\nand commit the page. "
        "Differences:\n" + "\n".join(list(diff)[:40])
    )
