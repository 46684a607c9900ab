"""A plugin's start and stop run under ``resilience.lifecycle_timeout_seconds``, and a timed-out
call ends even when the plugin swallows the cancellation."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import pytest
from pydantic import BaseModel

from kafka_pipeline import Domain, KafkaPipelineError, RoutingPlugin
from kafka_pipeline._registry import PluginRegistry
from kafka_pipeline.testing import RoutingHarness


class Note(BaseModel):
    trace_id: str
    status: str = "completed"


NOTES = Domain(name="notes", model=Note, source_topic="notes.results", tables={})


async def swallow_every_cancellation() -> None:
    while True:
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(3600)


class Quick(RoutingPlugin[Note]):
    name = "quick"
    domain = "notes"
    started = stopped = False

    def should_route(self, message: Note) -> bool:
        return True

    async def route(self, message: Note) -> None:
        self.send_to_topic("notes.quick", message)

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.stopped = True


class Stuck(RoutingPlugin[Note]):
    """Hangs in the hook named by ``hang_in``, catching every cancellation."""

    name = "stuck"
    domain = "notes"
    default_priority = 10
    hang_in = "start"

    def should_route(self, message: Note) -> bool:
        return True

    async def route(self, message: Note) -> None:
        if self.hang_in == "route":
            await swallow_every_cancellation()

    async def start(self) -> None:
        if self.hang_in == "start":
            await swallow_every_cancellation()

    async def stop(self) -> None:
        if self.hang_in == "stop":
            await swallow_every_cancellation()


class Exits(Quick):
    name = "exits"

    async def start(self) -> None:
        raise SystemExit(3)


def registry(*plugins: RoutingPlugin[Any], timeout: float = 0.2) -> PluginRegistry[Any]:
    built: PluginRegistry[Any] = PluginRegistry("notes", lifecycle_timeout=timeout)
    for plugin in plugins:
        built.register(plugin)
    return built


def stuck(hang_in: str) -> Stuck:
    plugin = Stuck({})
    plugin.hang_in = hang_in
    return plugin


async def test_a_start_that_hangs_fails_after_the_timeout_and_the_others_start() -> None:
    quick = Quick({})
    began = time.monotonic()

    failed = await registry(stuck("start"), quick).start()

    assert (sorted(failed), type(failed["stuck"]), quick.started) == (["stuck"], TimeoutError, True)
    assert time.monotonic() - began < 2


async def test_a_stop_that_hangs_is_abandoned_after_the_timeout(caplog: pytest.LogCaptureFixture) -> None:
    quick = Quick({})

    failed = await registry(stuck("stop"), quick).stop()

    assert (sorted(failed), quick.stopped) == (["stuck"], True)
    assert (
        "plugin stuck: stop did not finish within 0.2s (resilience.lifecycle_timeout_seconds)" in caplog.text
    )
    assert "plugin stuck caught the cancellation of its stop and went on waiting" in caplog.text


async def test_a_start_that_raises_system_exit_is_that_plugins_failure() -> None:
    failed = await registry(Exits({}), Quick({})).start()

    assert [(name, type(exc)) for name, exc in failed.items()] == [("exits", SystemExit)]


async def test_the_worker_s_own_cancellation_still_cancels_a_start() -> None:
    starting = asyncio.ensure_future(registry(stuck("start"), timeout=60).start())
    await asyncio.sleep(0.05)

    starting.cancel()

    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(starting, 2)


async def test_the_test_kit_fails_on_a_start_that_hangs_under_the_configured_timeout() -> None:
    config = {"resilience": {"lifecycle_timeout_seconds": 0.2}}
    with pytest.raises(KafkaPipelineError, match="plugin 'stuck' failed to start: TimeoutError"):
        async with RoutingHarness(NOTES, plugins=[stuck("start")], config=config):
            pass


async def test_a_route_that_swallows_its_timeout_is_parked_as_timed_out_and_named_in_the_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = {"plugins": {"stuck": {"timeout_seconds": 0.1, "max_retries": 1}}}
    async with RoutingHarness(NOTES, plugins=[stuck("route"), Quick({})], config=config) as harness:
        result = await asyncio.wait_for(harness.dispatch({"trace_id": "n-1"}), 5)

    assert [(d.plugin, d.reason, d.error) for d in result.dead_letters] == [
        ("stuck", "plugin_error", "route: timed out after 0.1s")
    ]
    assert [r.plugin for r in result.records] == ["quick"]
    assert harness.stats.plugins["stuck"].timeouts == 2
    assert "plugin stuck caught the cancellation of its timed-out route and went on waiting" in caplog.text
