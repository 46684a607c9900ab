"""The demo against a real broker: every number of its summary is what the topics and Delta tables hold.

One demo run over the test domains (``widgets`` with two plugins, ``gadgets``
with none, ``parcels`` without a sample factory); the topics and tables are
read back right after it, and each test holds one part of the summary
against them.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from distributions import forget_modules
from fake_plugins import PERMANENT_FAILURES, RED_ROUTER, Site
from widget_domain import install_gadgets, install_widgets

from integration.kit import Record, committed_offsets, end_offsets, read_table, read_topic
from kafka_pipeline._demo.plan import DemoSettings, plan_demo
from kafka_pipeline._demo.runner import group_id, run_demo
from kafka_pipeline._demo.summary import DemoSummary, DomainRun
from kafka_pipeline._discovery import ENV_LOAD_PLUGINS, ENV_STRICT_PLUGINS

pytestmark = pytest.mark.integration

MESSAGES = 300
PARTITIONS = 2

#: A domain of its own, and a plugin that sends SIGINT to its own process on the first
#: message: a Ctrl-C at a known moment, on topics no other test reads.
DOORBELLS = """
import os
import random
import signal
from typing import Literal

from pydantic import BaseModel

from kafka_pipeline import Domain, RoutingPlugin


class Ring(BaseModel):
    trace_id: str
    status: Literal["completed", "failed", "failed_permanent"]


DOORBELLS = Domain(
    name="doorbells",
    model=Ring,
    source_topic="doorbells.results",
    tables={"completed": "doorbells"},
    sample=lambda rng: {"trace_id": f"d-{rng.randrange(10**9)}", "status": "completed"},
)


class Interrupter(RoutingPlugin):
    name = "interrupter"
    domain = "doorbells"
    pressed = False

    def should_route(self, message):
        return not self.pressed

    async def route(self, message):
        type(self).pressed = True
        os.kill(os.getpid(), signal.SIGINT)
"""


@dataclass
class Topics:
    """What one domain's topics held right after the demo."""

    source: list[Record]
    dlq: list[Record]
    routed: dict[str, list[Record]]
    ends: dict[int, int]
    committed: dict[int, int | None]


@dataclass
class Demo:
    summary: DemoSummary
    topics: dict[str, Topics]

    def run(self, domain: str) -> DomainRun:
        return next(run for run in self.summary.domains if run.name == domain)


@pytest.fixture(scope="module")
def test_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The test domains and the widgets' plugins, importable for this module's demo runs."""
    site = Site(tmp_path_factory.mktemp("demo-site"))
    install_widgets(site.root)
    install_gadgets(site.root)
    site.modules += ["widgets_domain", "gadgets_domain"]
    site.install_plugin("red-router", RED_ROUTER, "RedRouter")
    site.install_plugin("permanent-failures", PERMANENT_FAILURES, "PermanentFailures")
    sys.path.insert(0, str(site.root))
    importlib.invalidate_caches()
    yield site
    sys.path.remove(str(site.root))
    for module in site.modules:
        forget_modules(module)


@pytest.fixture(scope="module")
def demo(bootstrap: str, test_site: Site, tmp_path_factory: pytest.TempPathFactory) -> Demo:
    settings = DemoSettings(
        messages=MESSAGES,
        seed=11,
        delta_root=tmp_path_factory.mktemp("demo") / "delta",
        partitions=PARTITIONS,
        domains=("gadgets", "parcels", "widgets"),
    )
    with pytest.MonkeyPatch.context() as env:
        env.delenv(ENV_LOAD_PLUGINS, raising=False)
        env.delenv(ENV_STRICT_PLUGINS, raising=False)
        summary = asyncio.run(run_demo(plan_demo(settings), bootstrap))
    return Demo(summary, {run.name: asyncio.run(_read_topics(bootstrap, run)) for run in summary.domains})


async def _read_topics(bootstrap: str, run: DomainRun) -> Topics:
    return Topics(
        source=await read_topic(bootstrap, run.source_topic),
        dlq=await read_topic(bootstrap, run.dlq_topic),
        routed={topic: await read_topic(bootstrap, topic) for topic in run.stats.routed_by_topic},
        ends=await end_offsets(bootstrap, run.source_topic),
        committed=await committed_offsets(bootstrap, group_id(run.name), run.source_topic, PARTITIONS),
    )


def valid_widgets(records: list[Record]) -> list[dict[str, str]]:
    widgets = []
    for record in records:
        try:
            message = json.loads(record.value or b"")
        except ValueError:
            continue
        if isinstance(message, dict) and {"trace_id", "status", "colour"} <= message.keys():
            widgets.append(message)
    return widgets


@pytest.mark.parametrize("domain", ["gadgets", "widgets"])
def test_every_produced_result_is_consumed_and_its_offset_committed(demo: Demo, domain: str) -> None:
    run, topics = demo.run(domain), demo.topics[domain]

    assert (run.produced_total, run.stats.consumed, len(topics.source), run.drained) == (
        MESSAGES,
        MESSAGES,
        MESSAGES,
        True,
    )
    assert topics.committed == topics.ends


@pytest.mark.parametrize("domain", ["gadgets", "widgets"])
def test_each_routed_topic_holds_as_many_records_as_the_summary_says(demo: Demo, domain: str) -> None:
    run, topics = demo.run(domain), demo.topics[domain]

    assert {topic: len(records) for topic, records in topics.routed.items()} == dict(
        run.stats.routed_by_topic
    )


def test_each_plugin_sent_what_the_routed_topics_hold_from_it(demo: Demo) -> None:
    run, topics = demo.run("widgets"), demo.topics["widgets"]
    by_plugin = Counter(r.headers["x-routed-by"] for records in topics.routed.values() for r in records)

    assert dict(by_plugin) == {name: p.sent for name, p in run.stats.plugins.items() if p.sent}


def test_the_plugins_matched_what_their_rules_select_from_the_source_topic(demo: Demo) -> None:
    plugins = demo.run("widgets").stats.plugins
    widgets = valid_widgets(demo.topics["widgets"].source)

    assert (plugins["red-router"].matched, plugins["permanent-failures"].matched) == (
        sum(w["colour"] == "red" for w in widgets),
        sum(w["status"] == "failed_permanent" for w in widgets),
    )


def test_each_delta_table_holds_as_many_rows_as_the_summary_says(demo: Demo) -> None:
    stats = demo.run("widgets").stats

    assert {table: read_table(uri).num_rows for table, uri in stats.delta_tables.items()} == {
        table: stats.delta_rows[table] for table in stats.delta_tables
    }


def test_the_results_stored_are_the_rows_in_delta(demo: Demo) -> None:
    stats = demo.run("widgets").stats

    assert stats.messages["stored"] == sum(read_table(uri).num_rows for uri in stats.delta_tables.values())


@pytest.mark.parametrize("domain", ["gadgets", "widgets"])
def test_the_dlq_holds_the_invalid_results_by_the_reasons_the_summary_counts(demo: Demo, domain: str) -> None:
    run, topics = demo.run(domain), demo.topics[domain]

    assert Counter(r.headers["x-dlq-reason"] for r in topics.dlq) == run.stats.dlq_by_reason
    assert len(topics.dlq) == run.invalid_produced > 0


def test_a_domain_without_plugins_or_tables_counts_every_valid_result_as_neither(demo: Demo) -> None:
    run = demo.run("gadgets")

    assert run.stats.messages["skipped"] == run.produced["valid"]


def test_a_domain_without_a_sample_factory_is_left_out_with_the_reason(demo: Demo) -> None:
    assert [run.name for run in demo.summary.domains] == ["gadgets", "widgets"]
    assert "no sample factory" in demo.summary.skipped["parcels"]


def test_the_json_summary_gives_the_same_numbers(demo: Demo) -> None:
    widgets = json.loads(json.dumps(demo.summary.as_dict()))["domains"]["widgets"]
    stats = demo.run("widgets").stats

    assert (widgets["routed_topics"], widgets["dlq"]["by_reason"], widgets["consumed"]) == (
        dict(stats.routed_by_topic),
        dict(stats.dlq_by_reason),
        stats.consumed,
    )


def test_a_ctrl_c_makes_the_workers_finish_their_batch_and_the_summary_say_so(
    bootstrap: str, site: Site, tmp_path: Path
) -> None:
    site.install(
        "kafka-pipeline-doorbells",
        domains={"doorbells": "doorbells:DOORBELLS"},
        plugins={"interrupter": "doorbells:Interrupter"},
        modules={"doorbells": DOORBELLS},
    )
    settings = DemoSettings(messages=60, delta_root=tmp_path / "delta", domains=("doorbells",))

    summary = asyncio.run(run_demo(plan_demo(settings), bootstrap, handle_signals=True))

    stats = summary.domains[0].stats
    assert summary.interrupted
    assert read_table(stats.delta_tables["doorbells"]).num_rows == stats.delta_rows["doorbells"]
