"""Shared fixtures: a throwaway site directory for fake distributions, the widgets domain, plugins.

Core's tests never use the real domains: ``widgets`` (Routable) and
``gadgets`` (not Routable) from ``widget_domain`` stand in for them, and the
plugins of ``fake_plugins`` are installed as fake distributions next to them.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result
from distributions import forget_modules
from fake_plugins import PERMANENT_FAILURES, RED_ROUTER, Site
from fuzz_outcomes import report
from hypothesis import HealthCheck, settings
from integration.parcels import install_parcels
from widget_domain import install_gadgets, install_widgets

from kafka_pipeline._cli import main
from kafka_pipeline._discovery import ENV_LOAD_PLUGINS, ENV_STRICT_PLUGINS

# Property tests: a few examples in the normal suite; `nox -s fuzz` runs the `fuzz` profile.
settings.register_profile(
    "ci", max_examples=15, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "fuzz",
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "1000")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    report(terminalreporter)


@pytest.fixture(autouse=True)
def _plugin_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's shell must not choose which plugins a test sees."""
    monkeypatch.delenv(ENV_LOAD_PLUGINS, raising=False)
    monkeypatch.delenv(ENV_STRICT_PLUGINS, raising=False)


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """The CLI installs a stderr handler (CliRunner's stream, closed afterwards): take it down."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in [h for h in root.handlers if h not in handlers]:
        root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    root = tmp_path / "site"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    installed = Site(root)
    yield installed
    for module in installed.modules:
        forget_modules(module)


@pytest.fixture
def widgets(site: Site) -> ModuleType:
    """The ``widgets`` domain installed; the module holds ``WIDGETS`` and ``WidgetResult``."""
    install_widgets(site.root)
    site.modules.append("widgets_domain")
    return importlib.import_module("widgets_domain")


@pytest.fixture
def gadgets(site: Site) -> ModuleType:
    """The ``gadgets`` domain installed: its messages have no ``status``, so are not Routable."""
    install_gadgets(site.root)
    site.modules.append("gadgets_domain")
    return importlib.import_module("gadgets_domain")


@pytest.fixture
def parcels(site: Site) -> ModuleType:
    """The integration tests' ``parcels`` domain and plugins installed; the module holds ``PARCELS``.

    Its model has a column of every kind (ints, datetimes, enums, nested models, lists).
    """
    install_parcels(site.root)
    site.modules += ["parcels_domain", "parcels_plugins"]
    return importlib.import_module("parcels_domain")


@pytest.fixture
def widget_plugins(site: Site, widgets: ModuleType) -> Site:
    """``red-router`` and ``permanent-failures`` installed next to the widgets domain."""
    site.install_plugin("red-router", RED_ROUTER, "RedRouter", version="2.1.0")
    site.install_plugin("permanent-failures", PERMANENT_FAILURES, "PermanentFailures")
    return site


@pytest.fixture
def widget(widgets: ModuleType) -> Any:
    """Makes a ``WidgetResult``: ``widget(colour="red", status="completed")``."""

    def make(colour: str = "green", status: str = "completed", trace_id: str = "w-1") -> Any:
        return widgets.WidgetResult(trace_id=trace_id, status=status, colour=colour)

    return make


@pytest.fixture
def cli() -> Callable[..., Result]:
    """Runs ``kafka-pipeline ARGS...`` in process; stdout and stderr are kept apart."""
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None) -> Result:
        return runner.invoke(main, list(args), input=input, catch_exceptions=False)

    return invoke


@pytest.fixture
def config_file(tmp_path: Path) -> Callable[[dict[str, Any]], str]:
    """Writes a YAML configuration and returns its path."""

    def write(data: dict[str, Any], name: str = "config.yaml") -> str:
        path = tmp_path / name
        path.write_text(yaml.safe_dump(data))
        return str(path)

    return write
