"""A Delta table that cannot be written stops the worker with the table named, and commits nothing."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest

from integration.kit import (
    committed_offsets,
    config_data,
    create_topics,
    encode,
    make_names,
    parcel,
    produce,
    run_worker,
)
from kafka_pipeline._errors import DeltaWriteError

pytestmark = pytest.mark.integration


@dataclass
class Run:
    error: DeltaWriteError
    committed: dict[int, int | None]


@pytest.fixture(scope="module")
def run(bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Run:
    tmp_path = tmp_path_factory.mktemp("storage")
    names = make_names(tmp_path, "storage-failure")
    blocker = tmp_path / "a-file"
    blocker.write_text("Delta cannot make directories under a file")
    asyncio.run(create_topics(bootstrap, names.source, names.dlq, partitions=1))
    asyncio.run(produce(bootstrap, names.source, [(b"k", encode(parcel(f"d-{i}"))) for i in range(10)]))
    data = config_data(bootstrap, names, {})
    data["delta"]["root"] = str(blocker / "delta")
    data["worker"] |= {"delivery_retries": 1, "delivery_backoff_seconds": 0.01}

    with pytest.raises(DeltaWriteError) as caught:
        run_worker(data)

    return Run(caught.value, asyncio.run(committed_offsets(bootstrap, names.group, names.source, 1)))


def test_the_error_names_the_table_where_it_lives_and_what_to_do(run: Run) -> None:
    message = str(run.error)

    assert message.startswith(
        f"could not append to Delta table 'parcels' at {run.error.uri} after 2 attempts"
    )
    assert "No offsets were committed" in message


def test_no_offset_is_committed_when_the_append_fails(run: Run) -> None:
    assert run.committed == {0: None}
