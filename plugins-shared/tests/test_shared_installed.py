"""The installed distribution: what the worker finds through entry points.

The XACT and ClaimX cases run when those packages are installed too (as in
the all-plugins session) and are skipped otherwise: this package must not
depend on them.
"""

from __future__ import annotations

import json
import random
from importlib.metadata import version
from typing import Any

import pytest
from pydantic import BaseModel

from kafka_pipeline import Domain, LoadStatus, Routable, discover
from kafka_pipeline.testing import RoutingHarness

DISTRIBUTION = "kafka-pipeline-shared"


@pytest.fixture(autouse=True)
def _every_plugin_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAFKA_PIPELINE_LOAD_PLUGINS", raising=False)


def test_discovery_attaches_the_alerter_to_every_installed_routable_domain() -> None:
    installation = discover()
    [record] = [r for r in installation.plugin_records if r.name == "generic-alerter"]
    routable = sorted(name for name, d in installation.domains.items() if d.satisfies(Routable))

    assert (record.status, record.distribution, record.version, list(record.domains)) == (
        LoadStatus.LOADED,
        DISTRIBUTION,
        version(DISTRIBUTION),
        routable,
    )


def first_sample_with_status(domain: Domain[Any], status: str) -> str:
    """Raw JSON of the first of ``domain``'s own samples that has ``status``."""
    assert domain.sample is not None, f"domain {domain.name!r} has no sample factory"
    rng = random.Random(5)
    for _ in range(1_000):
        raw = json.dumps(domain.sample(rng))
        if domain.status(domain.parse(raw)) == status:
            return raw
    raise AssertionError(f"no {status} sample among 1000 of domain {domain.name!r}")


@pytest.mark.parametrize("name", ["xact", "claimx"])
async def test_a_permanent_failure_of_an_installed_domain_alerts_on_its_topic(name: str) -> None:
    installation = discover()
    if name not in installation.domains:
        pytest.skip(f"the {name} domain's package is not installed")
    raw = first_sample_with_status(installation.domain(name), "failed_permanent")

    async with RoutingHarness[BaseModel](name, config={"load": ["generic-alerter"]}) as harness:
        sent = await harness.route(raw)

    assert [(r.topic, json.loads(r.value)["domain"]) for r in sent] == [(f"alerts.{name}", name)]
