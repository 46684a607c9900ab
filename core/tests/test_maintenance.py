"""``kafka-pipeline maintain`` and the table layout on a local root: fewer files, same rows and offsets."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from deltalake import DeltaTable
from pydantic import BaseModel

from kafka_pipeline._config import MaintenanceSettings
from kafka_pipeline._sinks.delta import DeltaWriter
from kafka_pipeline._sinks.maintenance import maintain_table


class Widget(BaseModel):
    trace_id: str
    status: str
    colour: str


def small_files(root: Path, table: str, commits: int, partition_by: list[str] | None = None) -> DeltaWriter:
    """A table of ``commits`` one-row files, as a worker flushing often leaves it."""
    writer = DeltaWriter(
        root=str(root),
        tables=[table],
        model=Widget,
        source_topic="widgets.results",
        group_id="g",
        partition_by={table: partition_by or []},
    )
    for offset in range(commits):
        widget = Widget(trace_id=f"w-{offset}", status="completed", colour="red" if offset % 2 else "blue")
        writer.buffers[table].append(widget, 0, offset, [], 0, 10)
        writer._append(table, writer.buffers[table].to_arrow(), {0: offset})
        writer.buffers[table].clear()
    return writer


def rows(uri: Path) -> list[str]:
    return sorted(DeltaTable(str(uri)).to_pyarrow_dataset().to_table()["trace_id"].to_pylist())


def test_maintain_compacts_a_table_of_small_files_and_keeps_every_row(tmp_path: Path) -> None:
    small_files(tmp_path, "widgets", 30)
    before = rows(tmp_path / "widgets")

    result = maintain_table("widgets", str(tmp_path / "widgets"), None, MaintenanceSettings())

    assert (result.files_before, result.files_after, result.files_compacted) == (30, 1, 30)
    assert rows(tmp_path / "widgets") == before


def test_maintain_keeps_the_offsets_the_workers_recorded(tmp_path: Path) -> None:
    small_files(tmp_path, "widgets", 12)

    maintain_table("widgets", str(tmp_path / "widgets"), None, MaintenanceSettings())

    assert DeltaTable(str(tmp_path / "widgets")).transaction_version("g:widgets.results:0") == 11


def test_maintain_writes_a_checkpoint(tmp_path: Path) -> None:
    small_files(tmp_path, "widgets", 5)

    result = maintain_table("widgets", str(tmp_path / "widgets"), None, MaintenanceSettings())

    checkpoint = tmp_path / "widgets" / "_delta_log" / f"{result.checkpoint_version:020}.checkpoint.parquet"
    assert checkpoint.is_file()


def test_maintain_vacuums_replaced_files_only_past_the_retention(tmp_path: Path) -> None:
    small_files(tmp_path, "widgets", 8)
    uri = str(tmp_path / "widgets")

    kept = maintain_table("widgets", uri, None, MaintenanceSettings())
    vacuumed = maintain_table(
        "widgets", uri, None, MaintenanceSettings(vacuum_retention_hours=0), allow_short_retention=True
    )

    assert (kept.files_vacuumed, vacuumed.files_vacuumed) == (0, 8)
    assert len(list((tmp_path / "widgets").glob("*.parquet"))) == 1


def test_maintain_says_a_table_not_yet_created_needs_nothing(tmp_path: Path) -> None:
    result = maintain_table("widgets", str(tmp_path / "widgets"), None, MaintenanceSettings())

    assert result.line() == "widgets: not created yet, nothing to do"


def test_a_new_table_is_created_with_the_configured_partition_columns(tmp_path: Path) -> None:
    small_files(tmp_path, "widgets", 4, partition_by=["colour"])

    table = DeltaTable(str(tmp_path / "widgets"))

    assert table.metadata().partition_columns == ["colour"]
    assert sorted(p.name for p in (tmp_path / "widgets").glob("colour=*")) == ["colour=blue", "colour=red"]


# -- the command -------------------------------------------------------------------------


@pytest.fixture
def widget_tables(tmp_path: Path, config_file: Callable[..., str], widgets: Any) -> tuple[Path, str]:
    root = tmp_path / "delta"
    small_files(root, "widgets", 20)
    return root, config_file({"delta": {"root": str(root)}, "load": []})


def test_the_command_prints_one_line_per_table(
    cli: Callable[..., Result], widget_tables: tuple[Path, str]
) -> None:
    _, config = widget_tables

    result = cli("maintain", "--domain", "widgets", "--config", config)

    assert result.exit_code == 0, result.output
    widgets, failed = result.stdout.splitlines()
    assert widgets.startswith("widgets: 20 -> 1 files, version 19 -> 20, ")
    assert widgets.endswith("(compacted 20 into 1; checkpoint at 20; vacuumed 0 files)")
    assert failed == "widgets_failed: not created yet, nothing to do"


def test_the_command_prints_the_same_as_json(
    cli: Callable[..., Result], widget_tables: tuple[Path, str]
) -> None:
    _, config = widget_tables

    result = cli("maintain", "--domain", "widgets", "--config", config, "--json")

    report = json.loads(result.stdout)
    widgets = report["tables"][0]
    assert (widgets["table"], widgets["files_before"], widgets["files_after"], widgets["version"]) == (
        "widgets",
        20,
        1,
        20,
    )
    assert report["failures"] == []


def test_a_short_vacuum_retention_needs_the_explicit_flag(
    cli: Callable[..., Result], config_file: Callable[..., str], widgets: Any, tmp_path: Path
) -> None:
    config = config_file(
        {"delta": {"root": str(tmp_path), "maintenance": {"vacuum_retention_hours": 1}}, "load": []}
    )

    result = cli("maintain", "--domain", "widgets", "--config", config)

    assert result.exit_code == 1
    assert "below deltalake's safety minimum of 168 hours" in result.stderr
    assert "--allow-short-retention" in result.stderr


def test_check_storage_probes_a_local_root_and_reports_the_tables(
    cli: Callable[..., Result], widget_tables: tuple[Path, str]
) -> None:
    _, config = widget_tables

    result = cli("check", "--config", config, "--storage", "--domain", "widgets")

    assert result.exit_code == 0, result.output
    assert "concurrent commits: safe: 4 writers racing 3 rounds, all 12 commits landed" in result.stdout
    assert (
        "table widgets (widgets): version 19, 20 files, not partitioned; schema up to date" in result.stdout
    )
    assert "table widgets_failed (widgets): not created yet" in result.stdout


def test_the_worker_still_writes_deltalakes_periodic_checkpoint_every_100_commits(tmp_path: Path) -> None:
    small_files(tmp_path, "widgets", 100)

    # deltalake's post-commit hook, at the 100th commit (version 99): maintain adds to it, replaces nothing.
    assert (tmp_path / "widgets" / "_delta_log" / f"{99:020}.checkpoint.parquet").is_file()
