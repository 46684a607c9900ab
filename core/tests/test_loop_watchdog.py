"""The loop watchdog sees a blocked event loop, names the plugin that blocked it, and fails ``/healthz``."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from typing import Any

import pytest
from prometheus_client.registry import CollectorRegistry

from kafka_pipeline import RoutingPlugin
from kafka_pipeline._observability.server import MetricsServer, Readiness
from kafka_pipeline._observability.watchdog import LoopWatchdog


class Sleeper(RoutingPlugin[Any]):
    name = "sleeper"
    domain = "any"

    def should_route(self, message: Any) -> bool:
        time.sleep(message)
        return False

    async def route(self, message: Any) -> None:
        return None


async def stall(watchdog: LoopWatchdog, seconds: float, *, in_plugin: bool = True) -> None:
    watchdog.start(asyncio.get_running_loop())
    try:
        await asyncio.sleep(0.2)
        if in_plugin:
            Sleeper({}).should_route(seconds)
        else:
            time.sleep(seconds)  # noqa: ASYNC251 - the very thing watched for
        await asyncio.sleep(0.3)  # the heartbeat after the stall
    finally:
        watchdog.stop()


async def test_a_stall_in_a_plugin_is_counted_and_logged_with_the_plugin_hook_and_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    watchdog = LoopWatchdog(warn_seconds=0.3, unhealthy_seconds=10)

    await stall(watchdog, 0.6)

    assert (watchdog.stalls, dict(watchdog.plugin_stalls), watchdog.health().ready) == (
        1,
        {"sleeper": 1},
        True,
    )
    assert "in plugin sleeper (should_route), at test_loop_watchdog.py:" in caplog.text


async def test_a_stall_outside_any_plugin_is_counted_as_such(caplog: pytest.LogCaptureFixture) -> None:
    watchdog = LoopWatchdog(warn_seconds=0.3, unhealthy_seconds=10)

    await stall(watchdog, 0.6, in_plugin=False)

    assert (watchdog.stalls, dict(watchdog.plugin_stalls)) == (1, {})
    assert "outside any plugin" in caplog.text


async def test_a_loop_that_never_blocks_has_no_stall() -> None:
    watchdog = LoopWatchdog(warn_seconds=0.3, unhealthy_seconds=10)

    await stall(watchdog, 0.0)

    assert (watchdog.stalls, watchdog.health()) == (0, Readiness(True))


async def test_a_stall_past_the_unhealthy_bound_makes_the_worker_unhealthy_for_good() -> None:
    watchdog = LoopWatchdog(warn_seconds=0.2, unhealthy_seconds=0.4)

    await stall(watchdog, 0.6)

    health = watchdog.health()
    assert (health.ready, "in plugin sleeper (should_route)" in health.reasons[0]) == (False, True)


def test_healthz_answers_503_with_the_reasons_when_unhealthy() -> None:
    reason = "the event loop stalled for 75.0s in plugin x (route)"
    server = MetricsServer(
        CollectorRegistry(),
        lambda: Readiness(True),
        host="127.0.0.1",
        health=lambda: Readiness(False, (reason,)),
    )
    with server:
        try:
            urllib.request.urlopen(server.url + "/healthz", timeout=5)
        except urllib.error.HTTPError as error:
            status, body = error.code, json.loads(error.read())

    assert (status, body) == (503, {"status": "unhealthy", "reasons": [reason]})
