"""``kafka-pipeline worker`` with plugins that cannot run: each skip is an ERROR; strict mode exits 1.

One configuration names a plugin of each kind that cannot run (its package
fails to import, it was built for another core, its config has a typo, its
hook does not fit) and a misspelt plugin name. Without strict mode the
worker logs each at ERROR, with the reason, and routes with the rest; with
``strict: true`` it refuses to start, listing every one, and exits 1.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from distributions import write_distribution

from integration.kit import (
    Record,
    WorkerProcess,
    config_data,
    create_topics,
    encode,
    make_names,
    parcel,
    produce,
    read_topic,
    write_config,
)
from kafka_pipeline._discovery import ROUTING_GROUP

pytestmark = pytest.mark.integration

OLD_ROUTER = """
from kafka_pipeline import RoutingPlugin


class OldRouter(RoutingPlugin):
    name = "old-router"
    domain = "parcels"

    def should_route(self, message):
        return True

    async def route(self, message):
        self.send_to_topic("parcels.old", message)
"""

#: What each skipped plugin's ERROR line says, and the misspelt name's.
REASONS = {
    "broken": "skipping plugin broken from kafka-pipeline-broken 1.0.0: "
    "import failed: ImportError: needs libfoo 2",
    "old-router": "skipping plugin old-router from kafka-pipeline-old-router 1.0.0: "
    "requires kafka-pipeline-core>=99",
    "loss-alerter": "skipping plugin loss-alerter: invalid configuration in plugin 'loss-alerter':",
    "nosy": "skipping plugin nosy from kafka-pipeline-parcels 1.0.0: plugin 'nosy': "
    "hook 'should_route' of Nosy must take one argument",
    "expres-router": "no installed plugin is named 'expres-router'; did you mean 'express-router'?",
}
EXPRESS = [f"x-{i}" for i in range(5)]


def install_broken_plugins(root: Path) -> Path:
    """``broken`` (fails to import) and ``old-router`` (built for core 99) as two distributions."""
    write_distribution(
        root,
        "kafka-pipeline-broken",
        entry_points={ROUTING_GROUP: {"broken": "broken_plugin:Broken"}},
        modules={"broken_plugin": "raise ImportError('needs libfoo 2')\n"},
    )
    return write_distribution(
        root,
        "kafka-pipeline-old-router",
        entry_points={ROUTING_GROUP: {"old-router": "old_router_plugin:OldRouter"}},
        modules={"old_router_plugin": OLD_ROUTER},
        requires=["kafka-pipeline-core>=99"],
    )


@dataclass
class Run:
    status: int
    output: str
    express: list[Record]

    def errors(self) -> list[str]:
        return [line for line in self.output.splitlines() if " ERROR " in line]


def run_worker(bootstrap: str, parcels_site: Path, tmp_path: Path, *, strict: bool) -> Run:
    names = make_names(tmp_path, f"skipped-strict-{strict}")
    asyncio.run(create_topics(bootstrap, names.source, names.dlq, names.topic("express"), partitions=1))
    asyncio.run(
        produce(
            bootstrap, names.source, [(t.encode(), encode(parcel(t, carrier="express"))) for t in EXPRESS]
        )
    )
    plugins: dict[str, Any] = {
        "express-router": {"config": {"topic": names.topic("express")}},
        "loss-alerter": {"config": {"topik": names.topic("alerts")}},
        "nosy": {},
    }
    data = config_data(bootstrap, names, plugins, strict=strict)
    data["load"] += ["broken", "old-router", "expres-router"]
    config = write_config(tmp_path / f"worker-{strict}.yaml", data)
    worker = WorkerProcess(
        ["--domain", "parcels", "--config", str(config), "--exit-when-idle", "2"],
        parcels_site,
        tmp_path / f"worker-{strict}.log",
        more_sites=(install_broken_plugins(tmp_path / "broken-site"),),
    )
    status = worker.run_to_end()
    return Run(status, worker.output(), asyncio.run(read_topic(bootstrap, names.topic("express"))))


@pytest.fixture(scope="module")
def lenient(bootstrap: str, parcels_site: Path, tmp_path_factory: pytest.TempPathFactory) -> Run:
    return run_worker(bootstrap, parcels_site, tmp_path_factory.mktemp("lenient"), strict=False)


@pytest.fixture(scope="module")
def strict(bootstrap: str, parcels_site: Path, tmp_path_factory: pytest.TempPathFactory) -> Run:
    return run_worker(bootstrap, parcels_site, tmp_path_factory.mktemp("strict"), strict=True)


@pytest.mark.parametrize("plugin", list(REASONS))
def test_each_plugin_that_cannot_run_is_logged_at_error_with_the_reason(lenient: Run, plugin: str) -> None:
    assert [line for line in lenient.errors() if REASONS[plugin] in line] != [], lenient.output


def test_without_strict_mode_the_worker_routes_with_the_rest_and_exits_0(lenient: Run) -> None:
    assert lenient.status == 0, lenient.output
    assert sorted(r.key.decode() for r in lenient.express if r.key) == EXPRESS


def test_strict_mode_refuses_to_start_listing_every_problem_and_exits_1(strict: Run) -> None:
    message = strict.output.split("\nError: ", 1)[-1]

    assert strict.status == 1, strict.output
    assert message.startswith("plugin '*': plugins cannot run (strict mode):")
    assert [plugin for plugin in REASONS if f"'{plugin}'" not in message] == []


def test_strict_mode_consumes_nothing(strict: Run) -> None:
    assert (strict.express, "worker stopped: " in strict.output) == ([], False)
