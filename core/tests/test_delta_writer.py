"""The Delta writer on a local table: appends record each partition's last offset and are never repeated."""

from __future__ import annotations

from pathlib import Path

import pytest
from deltalake import DeltaTable
from pydantic import BaseModel

from kafka_pipeline import SourceRecord
from kafka_pipeline._sinks.delta import DeltaWriter, table_uri, transaction_app_id
from kafka_pipeline._sinks.sink import FlushResult


class Item(BaseModel):
    name: str
    status: str


def writer(root: Path, group: str = "g") -> DeltaWriter:
    return DeltaWriter(
        root=str(root), tables=["done", "lost"], model=Item, source_topic="items", group_id=group
    )


def add(w: DeltaWriter, table: str, partition: int, offsets: range) -> None:
    for offset in offsets:
        item = Item(name=f"{partition}-{offset}", status=table)
        w.add(table, SourceRecord("items", partition, offset, b"0123456789", item, "t"), [], 0)


def names(root: Path, table: str) -> list[str]:
    return sorted(DeltaTable(str(root / table)).to_pyarrow_dataset().to_table()["name"].to_pylist())


async def test_a_flush_appends_the_pending_rows_of_each_table(tmp_path: Path) -> None:
    w = writer(tmp_path)
    add(w, "done", 0, range(3))
    add(w, "lost", 1, range(2))

    result = await w.flush()

    assert result == FlushResult(rows={"done": 3, "lost": 2}, duplicates={"done": 0, "lost": 0})
    assert names(tmp_path, "lost") == ["1-0", "1-1"]


async def test_each_commit_records_the_last_offset_written_per_partition(tmp_path: Path) -> None:
    w = writer(tmp_path, group="grp")
    add(w, "done", 0, range(5))
    add(w, "done", 2, range(10, 12))

    await w.flush()

    table = DeltaTable(str(tmp_path / "done"))
    assert [table.transaction_version(transaction_app_id("grp", "items", p)) for p in (0, 1, 2)] == [
        4,
        None,
        11,
    ]


async def test_offsets_a_table_already_holds_are_not_appended_again_by_a_new_writer(tmp_path: Path) -> None:
    first = writer(tmp_path)
    add(first, "done", 0, range(5))
    await first.flush()
    restarted = writer(tmp_path)
    add(restarted, "done", 0, range(3, 8))  # 3 and 4 are replayed

    result = await restarted.flush()

    assert (result.rows["done"], result.duplicates["done"]) == (3, 2)
    assert names(tmp_path, "done") == [f"0-{i}" for i in range(8)]


async def test_each_table_keeps_its_own_versions(tmp_path: Path) -> None:
    first = writer(tmp_path)
    add(first, "done", 0, range(5))
    await first.flush()
    restarted = writer(tmp_path)
    add(restarted, "lost", 0, range(3, 5))  # never written to 'lost' before

    result = await restarted.flush()

    assert result.rows == {"lost": 2}


async def test_another_consumer_group_writes_its_own_rows(tmp_path: Path) -> None:
    first = writer(tmp_path, group="one")
    add(first, "done", 0, range(2))
    await first.flush()
    other = writer(tmp_path, group="two")
    add(other, "done", 0, range(2))

    assert (await other.flush()).rows == {"done": 2}


async def test_a_partition_given_back_is_read_again_before_the_next_append(tmp_path: Path) -> None:
    mine = writer(tmp_path)
    add(mine, "done", 0, range(2))
    await mine.flush()
    # Meanwhile another worker of the group owned partition 0 and wrote up to offset 5.
    theirs = writer(tmp_path)
    add(theirs, "done", 0, range(2, 6))
    await theirs.flush()
    mine.forget([0])
    add(mine, "done", 0, range(2, 7))

    assert (await mine.flush()).rows == {"done": 1}


@pytest.mark.parametrize(
    ("root", "expected"),
    [("s3://bucket/lake/", "s3://bucket/lake/items"), ("abfss://c@acct.dfs.core.windows.net/x", None)],
)
def test_an_object_store_root_is_joined_as_a_uri(root: str, expected: str | None) -> None:
    assert table_uri(root, "items") == (expected or f"{root}/items")


def test_a_local_root_becomes_an_absolute_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)

    assert table_uri("./lake", "items") == str(tmp_path / "lake" / "items")
