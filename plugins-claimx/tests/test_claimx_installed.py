"""The installed distribution: what the worker finds through entry points."""

from __future__ import annotations

from importlib.metadata import version

import pytest
from claimx_support import enrichment_result

from kafka_pipeline import LoadStatus, discover
from kafka_pipeline.testing import HarnessFactory

DISTRIBUTION = "kafka-pipeline-claimx"
PLUGINS = ["media-processor", "project-notifier"]


@pytest.fixture(autouse=True)
def _every_plugin_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAFKA_PIPELINE_LOAD_PLUGINS", raising=False)


def test_discovery_finds_the_claimx_domain_with_its_distribution() -> None:
    [record] = [r for r in discover().domain_records if r.name == "claimx"]

    assert (record.status, record.distribution, record.version) == (
        LoadStatus.LOADED,
        DISTRIBUTION,
        version(DISTRIBUTION),
    )


@pytest.mark.parametrize("name", PLUGINS)
def test_discovery_loads_each_plugin_for_the_claimx_domain(name: str) -> None:
    [record] = [r for r in discover().plugin_records if r.name == name]

    assert (record.status, record.distribution, record.version, record.domains) == (
        LoadStatus.LOADED,
        DISTRIBUTION,
        version(DISTRIBUTION),
        ("claimx",),
    )


async def test_the_installed_plugins_route_a_result_by_domain_name(routing_harness: HarnessFactory) -> None:
    async with routing_harness("claimx", config={"load": PLUGINS}) as harness:
        media = await harness.route(enrichment_result("media.created"))
        project = await harness.route(enrichment_result("project.created"))

    assert [r.plugin for r in media + project] == ["media-processor", "project-notifier"]
