"""``RoutingHarness``: records exactly what the worker's producer would send.

The harnesses here are built as plugin authors build them, ``RoutingHarness("widgets", ...)``
with no type argument: ``mypy --strict`` over these tests (``nox -s typecheck``) is what keeps
that spelling type-checking.
"""

from __future__ import annotations

from types import ModuleType

import pytest
from fake_plugins import EXPLODING, Site

from kafka_pipeline.testing import PluginRouteError, RoutingHarness

RED_BYTES = b'{"trace_id":"w-7", "status":"completed",  "colour":"red", "note":"kept as sent"}'


@pytest.mark.usefixtures("widget_plugins")
async def test_routing_the_message_itself_forwards_its_original_bytes_unchanged() -> None:
    async with RoutingHarness("widgets", config={"load": ["red-router"]}) as harness:
        (record,) = await harness.route(RED_BYTES)

    assert (record.topic, record.value) == ("widgets.red", RED_BYTES)


@pytest.mark.usefixtures("widget_plugins")
async def test_every_routed_record_names_its_plugin_and_source_in_headers_and_is_keyed_by_trace_id() -> None:
    async with RoutingHarness("widgets", config={"load": ["red-router"]}) as harness:
        (record,) = await harness.route(RED_BYTES)

    assert record.key == b"w-7"
    assert {k: v.decode() for k, v in record.headers} == {
        "x-routed-by": "red-router",
        "x-source-topic": "widgets.results",
        "x-source-partition": "0",
        "x-source-offset": "0",
        "x-trace-id": "w-7",
    }


async def test_route_raises_naming_the_plugin_when_one_fails(site: Site, widgets: ModuleType) -> None:
    site.install_plugin("exploding", EXPLODING, "Exploding")

    async with RoutingHarness("widgets", config={"load": ["exploding"]}) as harness:
        with pytest.raises(PluginRouteError, match="plugin 'exploding' raised in route"):
            await harness.route({"trace_id": "w-8", "status": "completed", "colour": "blue"})
