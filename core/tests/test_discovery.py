"""Discovery through entry points: whatever a plugin package does wrong is reported, never fatal."""

from __future__ import annotations

import sys
from types import ModuleType

import pytest
from fake_plugins import PERMANENT_FAILURES, RED_ROUTER, Site

from kafka_pipeline import LoadStatus, PluginLoadError, PluginRecord, discover, parse_config
from kafka_pipeline._discovery import ENV_STRICT_PLUGINS
from kafka_pipeline._loading import Installation

BROKEN_ON_IMPORT = """
import kafka_pipeline_does_not_exist
"""

NOT_A_PLUGIN = """
class Helper:
    name = "helper"
"""

FOR_AN_UNKNOWN_DOMAIN = RED_ROUTER.replace('domain = "widgets"', 'domain = "sprockets"').replace(
    "red-router", "sprocket-router"
)


def record(installation: Installation, name: str) -> PluginRecord:
    return next(r for r in installation.plugin_records if r.name == name)


@pytest.fixture
def broken(site: Site, widgets: ModuleType) -> Site:
    """``red-router`` installed next to a plugin whose module fails to import."""
    site.install_plugin("red-router", RED_ROUTER, "RedRouter", version="2.1.0")
    site.install_plugin("broken", BROKEN_ON_IMPORT, "Broken", version="0.9.0")
    return site


@pytest.mark.usefixtures("broken")
def test_a_plugin_failing_to_import_is_listed_with_its_error_and_the_others_still_load() -> None:
    installation = discover()

    failed = record(installation, "broken")
    assert (failed.status, failed.distribution, failed.version) == (
        LoadStatus.FAILED,
        "kafka-pipeline-broken",
        "0.9.0",
    )
    assert (
        failed.error == "import failed: ModuleNotFoundError: No module named 'kafka_pipeline_does_not_exist'"
    )
    assert "red-router" in installation.registry("widgets")


@pytest.mark.usefixtures("widgets")
def test_an_entry_point_naming_something_other_than_a_routing_plugin_is_failed(site: Site) -> None:
    site.install_plugin("helper", NOT_A_PLUGIN, "Helper")

    failed = record(discover(), "helper")

    assert failed.status is LoadStatus.FAILED
    assert "is not a RoutingPlugin subclass" in (failed.error or "")


@pytest.mark.usefixtures("widgets")
def test_a_plugin_for_a_domain_that_is_not_installed_is_failed_naming_the_installed_ones(site: Site) -> None:
    site.install_plugin("sprocket-router", FOR_AN_UNKNOWN_DOMAIN, "RedRouter")

    failed = record(discover(), "sprocket-router")

    assert failed.status is LoadStatus.FAILED
    assert "names unknown domain 'sprockets' (installed: " in (failed.error or "")
    assert "widgets" in (failed.error or "")


@pytest.mark.usefixtures("widgets")
def test_a_plugin_built_for_an_incompatible_core_is_skipped_unimported_with_the_reason(site: Site) -> None:
    module = site.install_plugin(
        "from-the-future", RED_ROUTER, "RedRouter", requires=["kafka-pipeline-core>=99"]
    )

    skipped = record(discover(), "from-the-future")

    assert skipped.status is LoadStatus.INCOMPATIBLE
    assert (skipped.error or "").startswith("requires kafka-pipeline-core>=99 but ")
    assert module not in sys.modules


@pytest.mark.usefixtures("widgets")
def test_a_plugin_whose_core_range_fits_loads(site: Site) -> None:
    site.install_plugin("red-router", RED_ROUTER, "RedRouter", requires=["kafka-pipeline-core>=0.1,<99"])

    loaded = record(discover(), "red-router")

    assert (loaded.status, loaded.requires_core) == (LoadStatus.LOADED, "<99,>=0.1")


@pytest.mark.usefixtures("broken")
def test_strict_mode_in_the_config_makes_a_broken_plugin_stop_start_up() -> None:
    with pytest.raises(
        PluginLoadError, match=r"plugin 'broken' \(kafka-pipeline-broken 0.9.0\): import failed"
    ):
        discover(parse_config({"strict": True}))


@pytest.mark.usefixtures("broken")
def test_strict_mode_from_the_environment_makes_a_broken_plugin_stop_start_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(ENV_STRICT_PLUGINS, "1")

    with pytest.raises(PluginLoadError, match="strict mode"):
        discover()


@pytest.mark.usefixtures("broken")
def test_strict_mode_is_satisfied_once_the_broken_plugin_is_disabled() -> None:
    config = parse_config({"strict": True, "plugins": {"broken": {"enabled": False}}})

    assert "red-router" in discover(config).registry("widgets")


@pytest.mark.usefixtures("widgets", "gadgets")
def test_a_cross_domain_plugin_attaches_only_to_domains_whose_messages_satisfy_its_protocols(
    site: Site,
) -> None:
    site.install_plugin("permanent-failures", PERMANENT_FAILURES, "PermanentFailures")

    installation = discover()

    # Other installed domains may be Routable too: only the two test domains are asserted on.
    domains = record(installation, "permanent-failures").domains
    assert ("widgets" in domains, "gadgets" in domains) == (True, False)
    assert "permanent-failures" not in installation.registry("gadgets")


@pytest.mark.usefixtures("widgets")
def test_a_plugin_whose_config_is_invalid_is_left_out_of_the_registry_and_marked_failed(site: Site) -> None:
    site.install_plugin("red-router", RED_ROUTER, "RedRouter")
    installation = discover(parse_config({"plugins": {"red-router": {"config": {"colour": "red"}}}}))

    registry = installation.registry("widgets")

    assert "red-router" not in registry
    assert "plugins.red-router.config.colour: unknown key" in (record(installation, "red-router").error or "")


def test_a_domain_entry_point_that_is_not_a_domain_is_failed_and_others_still_load(
    site: Site, widgets: ModuleType
) -> None:
    site.install(
        "kafka-pipeline-bogus",
        domains={"bogus": "bogus_domain:BOGUS"},
        modules={"bogus_domain": "BOGUS = {'name': 'bogus'}\n"},
    )

    installation = discover()

    bogus = next(r for r in installation.domain_records if r.name == "bogus")
    assert (bogus.status, bogus.error) == (
        LoadStatus.FAILED,
        "bogus_domain:BOGUS is dict, not a kafka_pipeline.Domain",
    )
    assert "widgets" in installation.domains
