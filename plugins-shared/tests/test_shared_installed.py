"""The installed distribution: what the worker finds through entry points.

The alerter must attach to the real domains too, so these specifications
need the XACT and ClaimX packages installed beside this one (the nox session
``tests-plugins(shared)`` installs them). They fail, with the install
command, when those packages are missing: a skip would let a run without
them pass while testing nothing. The package itself still depends on core
only (``test_the_package_depends_on_core_only``).
"""

from __future__ import annotations

import json
import random
from importlib.metadata import version
from typing import Any

import pytest

from kafka_pipeline import Domain, LoadStatus, Routable, discover
from kafka_pipeline.testing import HarnessFactory

DISTRIBUTION = "kafka-pipeline-shared"
REAL_DOMAINS = ("xact", "claimx")


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


def installed_domain(name: str) -> Domain[Any]:
    """The installed domain ``name``; fails the test, saying how to install it, when it is missing."""
    installation = discover()
    if name not in installation.domains:
        pytest.fail(
            f"the {name!r} domain is not installed, so the alerter cannot be tested against it; "
            f"from the repository root, run `pip install ./plugins-{name}`, "
            'or run these tests with `nox -s "tests-plugins(shared)"`',
            pytrace=False,
        )
    return installation.domain(name)


def first_sample_with_status(domain: Domain[Any], status: str) -> str:
    """Raw JSON of the first of ``domain``'s own samples that has ``status``."""
    assert domain.sample is not None, f"domain {domain.name!r} has no sample factory"
    rng = random.Random(5)
    for _ in range(1_000):
        raw = json.dumps(domain.sample(rng))
        if domain.status(domain.parse(raw)) == status:
            return raw
    raise AssertionError(f"no {status} sample among 1000 of domain {domain.name!r}")


@pytest.mark.parametrize("name", REAL_DOMAINS)
async def test_a_permanent_failure_of_an_installed_domain_alerts_on_its_topic(
    name: str, routing_harness: HarnessFactory
) -> None:
    raw = first_sample_with_status(installed_domain(name), "failed_permanent")

    async with routing_harness(name, config={"load": ["generic-alerter"]}) as harness:
        sent = await harness.route(raw)

    assert [(r.topic, json.loads(r.value)["domain"]) for r in sent] == [(f"alerts.{name}", name)]
