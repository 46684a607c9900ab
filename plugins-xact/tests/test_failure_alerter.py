"""``failure-alerter``: an alert for each download given up on after repeated retries."""

from __future__ import annotations

import json

import pytest
from xact_support import TRACE_ID, Route, download_result

from kafka_pipeline import PluginConfigError
from kafka_pipeline_xact import FailureAlerterPlugin


def permanent_failure(retry_count: int, **fields: object) -> str:
    failure = {
        "status": "failed_permanent",
        "retry_count": retry_count,
        "http_status": 503,
        "error_message": "XACT API unavailable",
        "bytes_downloaded": 0,
        "blob_path": None,
    }
    return download_result(**(failure | fields))


async def test_a_permanent_failure_below_min_retries_raises_no_alert(route: Route) -> None:
    assert await route(FailureAlerterPlugin, permanent_failure(retry_count=2)) == []


@pytest.mark.parametrize(
    ("retry_count", "severity"),
    [(3, "medium"), (4, "medium"), (5, "high"), (6, "high")],
)
async def test_a_permanent_failure_at_min_retries_alerts_with_severity_by_retries(
    retry_count: int, severity: str, route: Route
) -> None:
    [alert] = await route(FailureAlerterPlugin, permanent_failure(retry_count))

    assert (alert.topic, json.loads(alert.value)["severity"]) == ("xact.alerts.failures", severity)


async def test_the_alert_carries_what_triage_needs(route: Route) -> None:
    [alert] = await route(FailureAlerterPlugin, permanent_failure(retry_count=4))

    assert json.loads(alert.value) == {
        "alert_type": "download_failure",
        "severity": "medium",
        "trace_id": TRACE_ID,
        "assignment_id": "ASG-2026-000042",
        "error_message": "XACT API unavailable",
        "retry_count": 4,
        "http_status": 503,
    }


async def test_a_failure_without_an_http_status_alerts_with_a_null_one(route: Route) -> None:
    [alert] = await route(FailureAlerterPlugin, permanent_failure(retry_count=3, http_status=None))

    assert json.loads(alert.value)["http_status"] is None


async def test_the_alert_is_keyed_by_the_failed_results_trace_id(route: Route) -> None:
    [alert] = await route(FailureAlerterPlugin, permanent_failure(retry_count=3))

    assert alert.key == TRACE_ID.encode()


@pytest.mark.parametrize("status", ["failed", "completed"])
async def test_results_not_given_up_on_raise_no_alert_however_many_retries(status: str, route: Route) -> None:
    assert await route(FailureAlerterPlugin, download_result(status=status, retry_count=6)) == []


@pytest.mark.parametrize(("retry_count", "alerts"), [(0, 0), (1, 1)])
async def test_min_retries_is_configurable(retry_count: int, alerts: int, route: Route) -> None:
    sent = await route(FailureAlerterPlugin, permanent_failure(retry_count), config={"min_retries": 1})

    assert len(sent) == alerts


async def test_the_topic_is_configurable(route: Route) -> None:
    sent = await route(FailureAlerterPlugin, permanent_failure(retry_count=3), config={"topic": "pager"})

    assert [r.topic for r in sent] == ["pager"]


async def test_an_unknown_config_key_is_rejected_naming_plugin_and_key(route: Route) -> None:
    with pytest.raises(PluginConfigError) as caught:
        await route(FailureAlerterPlugin, permanent_failure(3), config={"min_retry": 1})

    assert "plugins.failure-alerter.config.min_retry: unknown key" in str(caught.value)


async def test_a_negative_min_retries_is_rejected_naming_its_path(route: Route) -> None:
    with pytest.raises(PluginConfigError, match=r"plugins\.failure-alerter\.config\.min_retries"):
        await route(FailureAlerterPlugin, permanent_failure(3), config={"min_retries": -1})
