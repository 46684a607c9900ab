"""A worker's configuration file: reloaded when its content changes, or on SIGHUP."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from kafka_pipeline._worker.config_watch import ConfigFile, watch_config


@pytest.fixture
def path(tmp_path: Path) -> Path:
    file = tmp_path / "pipeline.yaml"
    file.write_text("plugins:\n  red-router: {priority: 1}\n")
    return file


def test_a_content_change_is_seen(path: Path) -> None:
    source = ConfigFile(path)

    path.write_text("plugins:\n  red-router: {priority: 20}\n")

    assert source.changed()


def test_a_change_is_seen_once(path: Path) -> None:
    source = ConfigFile(path)
    path.write_text("plugins:\n  red-router: {priority: 20}\n")
    source.changed()

    assert not source.changed()


def test_touching_the_file_or_saving_it_unchanged_is_no_change(path: Path) -> None:
    source = ConfigFile(path)
    stat = path.stat()

    path.write_text(path.read_text())
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))

    assert not source.changed()


def test_a_file_being_replaced_is_no_change_until_it_is_back(path: Path) -> None:
    source = ConfigFile(path)
    content = path.read_text()

    path.unlink()
    missing = source.changed()
    path.write_text(content.replace("1", "2"))

    assert (missing, source.changed()) == (False, True)


def test_loading_applies_the_command_line_overrides(path: Path) -> None:
    source = ConfigFile(path, {"group_id": "from-the-command-line", "metrics_port": 9108})

    config = source.load()

    assert (config.kafka.group_id, config.metrics.port) == ("from-the-command-line", 9108)


async def test_a_hangup_reloads_even_when_the_file_did_not_change(path: Path) -> None:
    reloads: list[str] = []
    hangup, reloaded = asyncio.Event(), asyncio.Event()

    async def reload(why: str) -> None:
        reloads.append(why)
        reloaded.set()

    watcher = asyncio.create_task(watch_config(ConfigFile(path), reload, hangup, interval=None))
    hangup.set()
    await asyncio.wait_for(reloaded.wait(), 10)
    watcher.cancel()

    assert reloads == ["SIGHUP"]
