"""``RoutingHarness``: records exactly what the worker's producer would send.

The harnesses here are built as plugin authors build them, ``RoutingHarness("widgets", ...)``
with no type argument: ``mypy --strict`` over these tests (``nox -s typecheck``) is what keeps
that spelling type-checking.
"""

from __future__ import annotations

import importlib
import json
import logging
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from click.testing import Result
from fake_plugins import EXPLODING, Site

from kafka_pipeline import PluginLoadError, RoutingPlugin
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


class CountsColours(RoutingPlugin[Any]):
    """Answers with a number where a bool belongs."""

    name = "counts-colours"
    domain = "widgets"

    def should_route(self, message: Any) -> bool:
        return len(message.colour)  # type: ignore[return-value]  # the mistake under test

    async def route(self, message: Any) -> None:
        self.send_to_topic("widgets.counted", message)


class ReturnsCount(RoutingPlugin[Any]):
    """Sends, then returns how many it sent, which nothing reads."""

    name = "returns-count"
    domain = "widgets"

    def should_route(self, message: Any) -> bool:
        return True

    async def route(self, message: Any) -> int:  # type: ignore[override]  # the mistake under test
        self.send_to_topic("widgets.all", message)
        return 1


RED = {"trace_id": "w-9", "status": "completed", "colour": "red"}


@pytest.mark.usefixtures("widgets")
async def test_a_should_route_that_returns_no_bool_is_a_failure_naming_the_type() -> None:
    async with RoutingHarness("widgets", plugins=[CountsColours]) as harness:
        result = await harness.dispatch(RED)

    [failure] = result.errors
    assert (failure.plugin, failure.stage) == ("counts-colours", "should_route")
    assert str(failure.error).startswith("should_route returned int 3, not a bool")
    assert result.records == []


@pytest.mark.usefixtures("widgets")
async def test_a_should_route_that_returns_no_bool_is_parked_in_the_dlq_for_that_plugin() -> None:
    async with RoutingHarness("widgets", plugins=[CountsColours]) as harness:
        result = await harness.dispatch(RED)

    assert [(d.reason, d.plugin) for d in result.dead_letters] == [("plugin_error", "counts-colours")]


@pytest.mark.usefixtures("widgets")
async def test_route_raises_on_a_should_route_that_returns_no_bool() -> None:
    async with RoutingHarness("widgets", plugins=[CountsColours]) as harness:
        with pytest.raises(PluginRouteError, match="plugin 'counts-colours' raised in should_route"):
            await harness.route(RED)


@pytest.mark.usefixtures("widgets")
async def test_a_route_that_returns_a_value_is_warned_about_once_and_still_sends(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with RoutingHarness("widgets", plugins=[ReturnsCount]) as harness:
        with caplog.at_level(logging.WARNING, logger="kafka_pipeline.worker.routing"):
            sent = [await harness.route(RED) for _ in range(3)]

    warnings = [r.getMessage() for r in caplog.records if r.name == "kafka_pipeline.worker.routing"]
    assert warnings == [
        "plugin returns-count: route returned int 1; its return value is ignored "
        "(send with self.send_to_topic, return None)"
    ]
    assert [len(records) for records in sent] == [1, 1, 1]


CLASS_MISTAKES = {
    "no name": "class Mistaken(RoutingPlugin):\n    domain = 'widgets'\n",
    "not a RoutingPlugin": "class Mistaken:\n    name = 'mistaken'\n",
    "no route": "class Mistaken(RoutingPlugin):\n    name = 'mistaken'\n    domain = 'widgets'\n"
    "    def should_route(self, message):\n        return True\n",
    "a synchronous route": "class Mistaken(RoutingPlugin):\n    name = 'mistaken'\n    domain = 'widgets'\n"
    "    def should_route(self, message):\n        return True\n"
    "    def route(self, message):\n        pass\n",
    "an async should_route": "class Mistaken(RoutingPlugin):\n    name = 'mistaken'\n    domain = 'widgets'\n"
    "    async def should_route(self, message):\n        return True\n"
    "    async def route(self, message):\n        pass\n",
    "a should_route without the message": "class Mistaken(RoutingPlugin):\n    name = 'mistaken'\n"
    "    domain = 'widgets'\n    def should_route(self) -> bool:\n        return True\n"
    "    async def route(self, message):\n        pass\n",
}


@pytest.mark.parametrize("mistake", list(CLASS_MISTAKES))
async def test_a_class_mistake_fails_in_the_harness_with_the_sentence_plugins_gives(
    mistake: str, site: Site, widgets: ModuleType, cli: Callable[..., Result]
) -> None:
    source = "from kafka_pipeline import RoutingPlugin\n\n" + CLASS_MISTAKES[mistake]
    module = site.install_plugin("mistaken", source, "Mistaken")
    listing = json.loads(cli("plugins", "--json").stdout)
    [listed] = [p for p in listing["plugins"] if p["name"] == "mistaken"]
    cls = importlib.import_module(module).Mistaken

    with pytest.raises(PluginLoadError) as caught:
        RoutingHarness("widgets", plugins=[cls])

    # The same sentence after the "plugin '<label>': " prefix, whose label is the entry point's there.
    assert str(caught.value).split(": ", 1)[1] == listed["error"].split(": ", 1)[1]
