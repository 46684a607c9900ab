"""One plugin name from two installed distributions: never a silent pick.

The one first on ``sys.path`` is used, as for imports, and the other is
reported as shadowed (a warning). Two in the same directory have no "first"
but the file system's order: neither is used, and both are named.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from click.testing import Result
from distributions import forget_modules
from fake_plugins import RED_ROUTER, Site

from kafka_pipeline import LoadStatus, discover, parse_config

#: The same plugin name, from another team's distribution, in a module of its own.
ACME_RED_ROUTER = RED_ROUTER.replace("class RedRouter", "class AcmeRedRouter")


def install_acme(site: Site) -> None:
    site.install(
        "acme-red-router",
        "3.0.0",
        plugins={"red-router": "acme_red_router:AcmeRedRouter"},
        modules={"acme_red_router": ACME_RED_ROUTER},
    )


@pytest.fixture
def earlier_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, site: Site) -> Iterator[Site]:
    """A second site directory, before ``site`` on ``sys.path`` (a ``--target`` folder on PYTHONPATH)."""
    root = tmp_path / "earlier-site"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    earlier = Site(root)
    yield earlier
    for module in earlier.modules:
        forget_modules(module)


@pytest.fixture
def shadowing(widgets: ModuleType, site: Site, earlier_site: Site) -> Site:
    """``red-router`` from kafka-pipeline-red-router in ``site``, and from acme-red-router before it."""
    site.install_plugin("red-router", RED_ROUTER, "RedRouter", version="2.1.0")
    install_acme(earlier_site)
    return earlier_site


@pytest.fixture
def conflicting(widgets: ModuleType, site: Site) -> Site:
    """``red-router`` from two distributions installed in the same directory."""
    site.install_plugin("red-router", RED_ROUTER, "RedRouter", version="2.1.0")
    install_acme(site)
    return site


@pytest.mark.usefixtures("shadowing")
def test_the_distribution_first_on_sys_path_is_loaded_and_the_other_recorded_as_shadowed(site: Site) -> None:
    [record] = [r for r in discover().plugin_records if r.name == "red-router"]

    assert (record.status, record.distribution) == (LoadStatus.LOADED, "acme-red-router")
    assert [(s.distribution, s.version, s.location) for s in record.shadows] == [
        ("kafka-pipeline-red-router", "2.1.0", str(site.root.resolve()))
    ]


@pytest.mark.usefixtures("shadowing")
def test_plugins_warns_which_distribution_is_shadowed(cli: Callable[..., Result]) -> None:
    result = cli("plugins")

    assert result.exit_code == 0
    warnings = result.stdout.split("\nWarnings\n")[1]
    assert (
        "  plugin 'red-router' (acme-red-router 3.0.0) shadows red-router from kafka-pipeline-red-router "
        "2.1.0 in "
    ) in warnings


@pytest.mark.usefixtures("shadowing")
def test_plugins_json_lists_the_shadowed_distribution_and_the_warning(cli: Callable[..., Result]) -> None:
    listing = json.loads(cli("plugins", "--json").stdout)

    [red] = [p for p in listing["plugins"] if p["name"] == "red-router"]
    assert [(s["distribution"], s["version"]) for s in red["shadows"]] == [
        ("kafka-pipeline-red-router", "2.1.0")
    ]
    assert [w.split(" in ")[0] for w in listing["warnings"]] == [
        "plugin 'red-router' (acme-red-router 3.0.0) shadows red-router from kafka-pipeline-red-router 2.1.0"
    ]


@pytest.mark.usefixtures("shadowing")
def test_check_warns_about_shadowing_but_passes(
    cli: Callable[..., Result], config_file: Callable[[dict[str, Any]], str]
) -> None:
    result = cli("check", "--config", config_file({}))

    assert (result.exit_code, result.stdout.startswith("OK: ")) == (0, True)
    assert "warning: plugin 'red-router' (acme-red-router 3.0.0) shadows red-router from " in result.stderr


@pytest.mark.usefixtures("shadowing")
def test_the_worker_logs_the_shadowing_when_it_discovers_its_plugins(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="kafka_pipeline.loading"):
        discover()

    assert "plugin 'red-router' (acme-red-router 3.0.0) shadows red-router" in caplog.text


@pytest.mark.usefixtures("conflicting")
def test_two_distributions_in_one_directory_are_both_refused_and_named() -> None:
    installation = discover()

    [record] = [r for r in installation.plugin_records if r.name == "red-router"]
    assert record.status is LoadStatus.FAILED
    assert record.error is not None
    assert record.error.startswith("two installed distributions provide 'red-router': ")
    assert "acme-red-router 3.0.0" in record.error
    assert "kafka-pipeline-red-router 2.1.0" in record.error
    assert record.error.endswith("uninstall one")
    assert "red-router" not in installation.registry("widgets")


@pytest.mark.usefixtures("conflicting")
def test_check_fails_on_two_distributions_in_one_directory(
    cli: Callable[..., Result], config_file: Callable[[dict[str, Any]], str]
) -> None:
    result = cli("check", "--config", config_file({}))

    assert result.exit_code == 1
    assert "plugin 'red-router' (" in result.stdout
    assert "two installed distributions provide 'red-router'" in result.stdout


@pytest.mark.usefixtures("conflicting")
def test_a_disabled_name_is_no_conflict() -> None:
    installation = discover(parse_config({"plugins": {"red-router": {"enabled": False}}}))

    [record] = [r for r in installation.plugin_records if r.name == "red-router"]
    assert record.status is LoadStatus.DISABLED
