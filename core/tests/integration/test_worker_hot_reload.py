"""Hot reload against the broker: plugin settings change in a running worker, between two batches.

Each test runs a worker from a configuration file, changes the file (or
sends SIGHUP), and checks what the next messages do. The standard
processing never stops: every message is in Delta, whatever the plugins do.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from integration.kit import (
    Names,
    config_data,
    create_topics,
    encode,
    parcel,
    produce,
    read_table,
    read_topic,
    write_config,
)
from integration.ops import Progress, until
from kafka_pipeline import parse_config
from kafka_pipeline._worker.config_watch import ConfigFile
from kafka_pipeline._worker.runner import Worker

pytestmark = pytest.mark.integration


def express(prefix: str, count: int = 3) -> list[tuple[bytes, bytes]]:
    return [
        (f"{prefix}{i}".encode(), encode(parcel(f"{prefix}{i}", carrier="express"))) for i in range(count)
    ]


def settings(
    bootstrap: str, names: Names, *, also: tuple[str, ...] = (), **express_router: Any
) -> dict[str, Any]:
    plugin = {"config": {"topic": names.topic("express")}} | express_router
    others: dict[str, dict[str, Any]] = {name: {} for name in also}
    return config_data(bootstrap, names, {"express-router": plugin, "loss-alerter": {}, **others})


Scenario = Callable[[Worker, Progress, Path], Awaitable[None]]


async def run_with_config_file(
    bootstrap: str,
    names: Names,
    scenario: Scenario,
    *,
    handle_signals: bool = False,
    also: tuple[str, ...] = (),
    **options: Any,
) -> Worker:
    """Run a worker from a config file through ``scenario``, then stop it; ``also``: more plugins to load."""
    await create_topics(bootstrap, names.source, names.dlq, partitions=1)
    await create_topics(bootstrap, names.topic("express"), names.topic("express-2"), partitions=1)
    path = write_config(names.delta_root.parent / "pipeline.yaml", settings(bootstrap, names, also=also))
    worker = Worker.from_config(
        parse_config(settings(bootstrap, names, also=also)),
        "parcels",
        config_file=ConfigFile(path),
        **options,
    )
    progress = Progress(worker)
    running = asyncio.create_task(worker.run(handle_signals=handle_signals))
    try:
        await scenario(worker, progress, path)
    finally:
        worker.request_stop()
        await asyncio.wait_for(running, 60)
    return worker


def trace_ids(records: list[Any]) -> list[str]:
    return sorted(r.key.decode() for r in records)


async def test_a_plugin_disabled_in_the_file_stops_routing_while_the_worker_runs(
    bootstrap: str, names: Names
) -> None:
    async def scenario(worker: Worker, progress: Progress, path: Path) -> None:
        await produce(bootstrap, names.source, express("before"))
        await progress.consumed(3)
        write_config(path, settings(bootstrap, names, enabled=False))
        await until(lambda: worker.stats.reloads["applied"] == 1, "the reload")
        await produce(bootstrap, names.source, express("after"))
        await progress.consumed(6)

    await run_with_config_file(bootstrap, names, scenario, reload_interval=0.1)

    assert trace_ids(await read_topic(bootstrap, names.topic("express"))) == ["before0", "before1", "before2"]
    assert read_table(names.table("parcels")).num_rows == 6


async def test_a_plugin_config_change_routes_to_the_new_topic_without_a_restart(
    bootstrap: str, names: Names
) -> None:
    async def scenario(worker: Worker, progress: Progress, path: Path) -> None:
        await produce(bootstrap, names.source, express("before"))
        await progress.consumed(3)
        write_config(
            path, settings(bootstrap, names, config={"topic": names.topic("express-2")}, priority=50)
        )
        await until(lambda: worker.stats.reloads["applied"] == 1, "the reload")
        await produce(bootstrap, names.source, express("after"))
        await progress.consumed(6)

    worker = await run_with_config_file(bootstrap, names, scenario, reload_interval=0.1)

    assert trace_ids(await read_topic(bootstrap, names.topic("express-2"))) == ["after0", "after1", "after2"]
    assert [(p.name, p.priority) for p in worker.registry.plugins] == [
        ("express-router", 50),
        ("loss-alerter", 0),
    ]


async def test_an_invalid_config_is_refused_and_the_worker_routes_on_with_the_old_one(
    bootstrap: str, names: Names, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario(worker: Worker, progress: Progress, path: Path) -> None:
        write_config(path, settings(bootstrap, names, config={"topik": "typo.topic"}))
        await until(lambda: worker.stats.reloads["refused"] == 1, "the refusal")
        await produce(bootstrap, names.source, express("after"))
        await progress.consumed(3)

    with caplog.at_level(logging.ERROR, logger="kafka_pipeline"):
        worker = await run_with_config_file(bootstrap, names, scenario, reload_interval=0.1)

    assert trace_ids(await read_topic(bootstrap, names.topic("express"))) == ["after0", "after1", "after2"]
    assert "plugins.express-router.config.topik" in caplog.text
    assert worker.stats.reloads == {"refused": 1}


async def test_an_invalid_plugin_skipped_at_start_does_not_stop_a_reload_that_disables_another(
    bootstrap: str, names: Names, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario(worker: Worker, progress: Progress, path: Path) -> None:
        await produce(bootstrap, names.source, express("before"))
        await progress.consumed(3)
        write_config(path, settings(bootstrap, names, also=("nosy",), enabled=False))
        await until(lambda: worker.stats.reloads["applied"] == 1, "the reload")
        await produce(bootstrap, names.source, express("after"))
        await progress.consumed(6)

    with caplog.at_level(logging.WARNING, logger="kafka_pipeline"):
        worker = await run_with_config_file(bootstrap, names, scenario, also=("nosy",), reload_interval=0.1)

    assert trace_ids(await read_topic(bootstrap, names.topic("express"))) == ["before0", "before1", "before2"]
    assert (worker.stats.reloads, [p.name for p in worker.registry.plugins]) == (
        {"applied": 1},
        ["loss-alerter"],
    )
    assert "skipped, as at start-up: plugin 'nosy'" in caplog.text
    assert "hook 'should_route' of Nosy must take one argument, the message, after self" in caplog.text


async def test_sighup_reloads_the_file(bootstrap: str, names: Names) -> None:
    async def scenario(worker: Worker, progress: Progress, path: Path) -> None:
        await produce(bootstrap, names.source, express("before"))
        await progress.consumed(3)
        write_config(path, settings(bootstrap, names, enabled=False))
        os.kill(os.getpid(), signal.SIGHUP)
        await until(lambda: worker.stats.reloads["applied"] == 1, "the reload on SIGHUP")
        await produce(bootstrap, names.source, express("after"))
        await progress.consumed(6)

    # No polling of the file: only the signal can have triggered the reload.
    await run_with_config_file(bootstrap, names, scenario, handle_signals=True, reload_interval=None)

    assert trace_ids(await read_topic(bootstrap, names.topic("express"))) == ["before0", "before1", "before2"]
