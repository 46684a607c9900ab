"""``generic-alerter``: an alert on ``alerts.<domain>`` for every result given up on, in any domain."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest
from shared_support import HEARTBEATS, INVOICES, PARCELS, Parcel, Route

from kafka_pipeline import Domain, KafkaPipelineError, PluginConfigError
from kafka_pipeline._discovery import plugin_domains
from kafka_pipeline_shared import GenericAlerterPlugin

PERMANENT_PARCEL = '{"trace_id": "p-1", "status": "failed_permanent"}'
PERMANENT_INVOICE = '{"invoice_id": "inv-9", "paid": false}'


def test_it_attaches_to_every_domain_whose_messages_are_routable() -> None:
    domains = {d.name: d for d in (PARCELS, INVOICES, HEARTBEATS)}

    assert plugin_domains(GenericAlerterPlugin, domains) == ("invoices", "parcels")


@pytest.mark.parametrize(
    ("domain", "raw", "topic"),
    [
        pytest.param(PARCELS, PERMANENT_PARCEL, "alerts.parcels", id="status as a field"),
        pytest.param(INVOICES, PERMANENT_INVOICE, "alerts.invoices", id="status derived"),
    ],
)
async def test_a_permanent_failure_alerts_on_its_domains_topic(
    domain: Domain[Any], raw: str, topic: str, route: Route
) -> None:
    sent = await route(domain, GenericAlerterPlugin, raw)

    assert [r.topic for r in sent] == [topic]


@pytest.mark.parametrize("status", ["completed", "failed"])
async def test_results_not_given_up_on_raise_no_alert(status: str, route: Route) -> None:
    raw = json.dumps({"trace_id": "p-1", "status": status})

    assert await route(PARCELS, GenericAlerterPlugin, raw) == []


async def test_the_alert_names_the_domain_the_result_and_where_it_was_read(route: Route) -> None:
    [alert] = await route(INVOICES, GenericAlerterPlugin, PERMANENT_INVOICE)

    assert json.loads(alert.value) == {
        "domain": "invoices",
        "trace_id": "inv-9",
        "status": "failed_permanent",
        "source_topic": "invoices.results",
        "source_partition": 0,
        "source_offset": 0,
    }


async def test_the_alert_is_keyed_by_trace_id_and_names_its_origin_in_headers(route: Route) -> None:
    [alert] = await route(PARCELS, GenericAlerterPlugin, PERMANENT_PARCEL)

    assert (alert.key, alert.header("x-routed-by"), alert.header("x-source-topic")) == (
        b"p-1",
        b"generic-alerter",
        b"parcels.results",
    )


async def test_the_alerting_statuses_are_configurable(route: Route) -> None:
    config = {"statuses": ["failed"]}
    failed, permanent = '{"trace_id": "p-1", "status": "failed"}', PERMANENT_PARCEL

    sent = [await route(PARCELS, GenericAlerterPlugin, raw, config) for raw in (failed, permanent)]

    assert [len(records) for records in sent] == [1, 0]


async def test_the_topic_prefix_is_configurable(route: Route) -> None:
    sent = await route(PARCELS, GenericAlerterPlugin, PERMANENT_PARCEL, {"topic_prefix": "ops.alerts."})

    assert [r.topic for r in sent] == ["ops.alerts.parcels"]


async def test_a_status_that_no_result_can_have_is_rejected_naming_its_path(route: Route) -> None:
    with pytest.raises(PluginConfigError, match=r"plugins\.generic-alerter\.config\.statuses\.0"):
        await route(PARCELS, GenericAlerterPlugin, PERMANENT_PARCEL, {"statuses": ["failed-permanent"]})


async def test_an_unknown_config_key_is_rejected_naming_plugin_and_key(route: Route) -> None:
    with pytest.raises(PluginConfigError) as caught:
        await route(PARCELS, GenericAlerterPlugin, PERMANENT_PARCEL, {"prefix": "ops."})

    assert "plugins.generic-alerter.config.prefix: unknown key" in str(caught.value)


async def test_an_alerter_serving_no_domain_says_how_to_attach_it() -> None:
    alerter = GenericAlerterPlugin()

    with pytest.raises(KafkaPipelineError, match="register it with a PluginRegistry"):
        await alerter.route(Parcel(trace_id="p-1", status="failed_permanent"))


def test_the_package_depends_on_core_only() -> None:
    package = Path(__file__).parents[1] / "src" / "kafka_pipeline_shared"
    imported = {
        name.split(".")[0]
        for path in package.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for name in ([a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""])
    }

    assert not imported & {"kafka_pipeline_xact", "kafka_pipeline_claimx"}
