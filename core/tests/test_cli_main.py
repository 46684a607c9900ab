"""The ``kafka-pipeline`` group itself: version, help, and staying cheap to start."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable

from click.testing import Result

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
