"""``status-subtype-router``: completed downloads go to a topic chosen by their status subtype."""

from __future__ import annotations

import pytest
from xact_support import Route, download_result

from kafka_pipeline import PluginConfigError
from kafka_pipeline_xact import StatusSubtypeRouterPlugin


@pytest.mark.parametrize(
    ("subtype", "topic"),
    [
        ("estimateCreated", "xact.estimates.received"),
        ("documentsReceived", "xact.documents.received"),
    ],
)
async def test_a_completed_result_goes_to_its_subtypes_topic(subtype: str, topic: str, route: Route) -> None:
    sent = await route(StatusSubtypeRouterPlugin, download_result(status_subtype=subtype))

    assert [r.topic for r in sent] == [topic]


async def test_the_result_is_forwarded_byte_for_byte(route: Route) -> None:
    raw = download_result(status_subtype="documentsReceived", file_type="pdf")

    [record] = await route(StatusSubtypeRouterPlugin, raw)

    assert record.value == raw.encode()


@pytest.mark.parametrize("subtype", ["photosReceived", "estimatecreated", None])
async def test_a_subtype_without_a_route_is_not_sent(subtype: str | None, route: Route) -> None:
    assert await route(StatusSubtypeRouterPlugin, download_result(status_subtype=subtype)) == []


@pytest.mark.parametrize("status", ["failed", "failed_permanent"])
async def test_a_routed_subtype_on_a_failed_result_is_not_sent(status: str, route: Route) -> None:
    raw = download_result(status=status, status_subtype="estimateCreated")

    assert await route(StatusSubtypeRouterPlugin, raw) == []


async def test_configured_routes_replace_the_defaults(route: Route) -> None:
    config = {"routes": {"photosReceived": "xact.photos.received"}}
    photos = download_result(status_subtype="photosReceived")
    estimate = download_result(status_subtype="estimateCreated")

    sent = [await route(StatusSubtypeRouterPlugin, raw, config) for raw in (photos, estimate)]

    assert [[r.topic for r in records] for records in sent] == [["xact.photos.received"], []]


async def test_an_invalid_route_topic_is_rejected_naming_the_subtype(route: Route) -> None:
    with pytest.raises(PluginConfigError, match=r"plugins\.status-subtype-router\.config\.routes\.noteAdded"):
        await route(StatusSubtypeRouterPlugin, download_result(), config={"routes": {"noteAdded": ""}})
