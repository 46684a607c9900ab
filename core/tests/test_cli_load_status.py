"""One truth about load status, in every command: ``plugins``, ``check`` and ``route`` agree.

Each case is a way a plugin the worker would run ends up skipped, or a name
in the configuration that no plugin has. ``plugins --config`` shows it (the
status and the reason, in the table and in JSON), ``check`` fails on it, and
``route`` warns and exits 1 unless ``--allow-skipped``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from fake_plugins import EXTRA_ARGUMENT, RED_ROUTER, Site

RED_DONE = '{"trace_id": "w-1", "status": "completed", "colour": "red"}'


@dataclass(frozen=True)
class Case:
    """A configuration (and maybe an extra installed plugin) under which ``plugin`` cannot run."""

    plugin: str
    config: dict[str, Any]
    #: The status ``plugins`` gives it; None for a name that no plugin has.
    status: str | None
    reason: str
    install: tuple[str, str, dict[str, Any]] | None = None


CASES = {
    "a typo in its config": Case(
        "red-router",
        {"load": ["red-router"], "plugins": {"red-router": {"config": {"topik": "widgets.hot"}}}},
        "invalid-config",
        "plugins.red-router.config.topik: unknown key for plugin 'red-router'; did you mean 'topic'?",
    ),
    "an import that fails": Case(
        "broken",
        {"load": ["broken", "red-router"]},
        "failed",
        "import failed: ImportError: needs libfoo 2",
        install=("broken", "raise ImportError('needs libfoo 2')\n", {}),
    ),
    "a hook signature that does not fit": Case(
        "nosy-router",
        {"load": ["nosy-router", "red-router"]},
        "failed",
        "hook 'should_route' of RedRouter must take one argument, the message, after self",
        install=("nosy-router", EXTRA_ARGUMENT, {}),
    ),
    "an incompatible core": Case(
        "old-router",
        {"load": ["old-router", "red-router"]},
        "incompatible",
        "requires kafka-pipeline-core>=99 but ",
        install=(
            "old-router",
            RED_ROUTER.replace("red-router", "old-router"),
            {"requires": ["kafka-pipeline-core>=99"]},
        ),
    ),
    "a misspelt name under plugins:": Case(
        "red-ruter",
        {"load": ["red-router"], "plugins": {"red-ruter": {"priority": 3}}},
        None,
        "plugins.red-ruter: no installed plugin is named 'red-ruter'; did you mean 'red-router'?",
    ),
    "a misspelt name under load:": Case(
        "red-ruter",
        {"load": ["red-ruter", "permanent-failures"]},
        None,
        "load[0]: no installed plugin is named 'red-ruter'; did you mean 'red-router'?",
    ),
}


@pytest.fixture(params=list(CASES))
def case(request: pytest.FixtureRequest, widget_plugins: Site) -> Case:
    chosen = CASES[request.param]
    if chosen.install is not None:
        name, source, options = chosen.install
        cls = "RedRouter" if "class RedRouter" in source else "Broken"
        widget_plugins.install_plugin(name, source, cls, **options)
    return chosen


@pytest.fixture
def path(case: Case, config_file: Callable[[dict[str, Any]], str]) -> str:
    return config_file(case.config)


@pytest.fixture
def messages(tmp_path: Path) -> str:
    file = tmp_path / "messages.jsonl"
    file.write_text(RED_DONE + "\n")
    return str(file)


def row(output: str, name: str) -> list[str]:
    return next(line.split() for line in output.splitlines() if line.split()[:1] == [name])


def test_the_plugins_table_shows_the_status_and_the_reason(
    cli: Callable[..., Result], case: Case, path: str
) -> None:
    result = cli("plugins", "--config", path)

    assert result.exit_code == 0
    if case.status is None:
        assert f"  {case.reason}" in result.stdout.split("Unknown names in the configuration")[1]
    else:
        assert row(result.stdout, case.plugin)[-1] == case.status
        errors = result.stdout.split("\nErrors\n")[1]
        assert f"  plugin {case.plugin}: " in errors
        assert case.reason in errors


def test_plugins_json_gives_the_same_status_and_reason(
    cli: Callable[..., Result], case: Case, path: str
) -> None:
    listing = json.loads(cli("plugins", "--config", path, "--json").stdout)

    if case.status is None:
        assert [n for n in listing["unknown_names"] if n.startswith(case.reason)] != []
    else:
        [plugin] = [p for p in listing["plugins"] if p["name"] == case.plugin]
        assert plugin["status"] == case.status
        assert case.reason in plugin["error"]


def test_check_lists_it_and_exits_1(cli: Callable[..., Result], case: Case, path: str) -> None:
    result = cli("check", "--config", path)

    assert result.exit_code == 1
    assert case.reason in result.stdout


def test_route_warns_that_the_worker_would_run_without_it_and_exits_1(
    cli: Callable[..., Result], case: Case, path: str, messages: str
) -> None:
    result = cli("route", "--domain", "widgets", "--config", path, messages)

    assert result.exit_code == 1
    assert "warning: the worker would run without it: " in result.stderr
    assert case.reason in result.stderr


def test_route_with_allow_skipped_exits_0(
    cli: Callable[..., Result], case: Case, path: str, messages: str
) -> None:
    result = cli("route", "--domain", "widgets", "--config", path, "--allow-skipped", messages)

    assert result.exit_code == 0, result.output
