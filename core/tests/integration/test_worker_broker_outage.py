"""The broker drops off the network while the worker routes: it waits out a short outage, stops on a long one.

A dedicated Tansu advertises a proxy (:class:`~integration.proxy.TcpProxy`),
so every connection of the worker goes through it; cutting the proxy is the
outage. The broker itself never stops: its storage is in memory.

Flushes are a few seconds apart and the cut comes a few hundred messages
after the first poll, so the outage finds routed records waiting for their
acknowledgement and no flush under way: deliveries, not offset commits, are
what fails.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from integration.kit import (
    Names,
    WorkerProcess,
    committed_offsets,
    config_data,
    create_topics,
    encode,
    end_offsets,
    make_names,
    parcel,
    produce,
    read_table,
    read_topic,
    run_worker,
    wait_for,
    write_config,
)
from integration.ops import until
from integration.proxy import TcpProxy
from kafka_pipeline import parse_config
from kafka_pipeline._broker.embedded import EmbeddedBroker, free_port
from kafka_pipeline._worker.runner import Worker

pytestmark = pytest.mark.integration

PARTITIONS = 3
COUNT = 1500
#: Messages routed before the proxy is cut.
CUT_AFTER = 200
#: Longer than one delivery attempt, well within the retry budget.
OUTAGE_SECONDS = 3.0


def sent(prefix: str) -> list[tuple[bytes, bytes]]:
    """Completed parcels, every other one express: each has a Delta row, half are routed."""
    return [
        (f"{prefix}-{i}".encode(), encode(parcel(f"{prefix}-{i}", carrier="express" if i % 2 else "post")))
        for i in range(COUNT)
    ]


def outage_config(bootstrap: str, names: Names, **plugins: dict[str, Any]) -> dict[str, Any]:
    data = config_data(
        bootstrap,
        names,
        {
            "express-router": {"config": {"topic": names.topic("express")}},
            # Slow enough that the cut finds the worker routing, with most of the topic still to do.
            "dawdle": {"config": {"seconds": 0.002}},
            **plugins,
        },
    )
    data["delta"] |= {"flush_max_rows": 1_000_000, "flush_max_seconds": 2.5}
    data["worker"] |= {
        "batch_max_records": 100,
        "delivery_timeout_seconds": 1.5,
        "delivery_backoff_seconds": 0.1,
    }
    return data


@dataclass
class Outcome:
    """What the broker and the Delta tables hold once the workers are done."""

    sent: list[tuple[bytes, bytes]]
    parcels: pa.Table
    routed: Counter[bytes]
    committed: dict[int, int | None]
    ends: dict[int, int]


def outcome(bootstrap: str, names: Names, messages: list[tuple[bytes, bytes]]) -> Outcome:
    return Outcome(
        sent=messages,
        parcels=read_table(names.table("parcels")),
        routed=Counter(r.key for r in asyncio.run(read_topic(bootstrap, names.topic("express"))) if r.key),
        committed=asyncio.run(committed_offsets(bootstrap, names.group, names.source, PARTITIONS)),
        ends=asyncio.run(end_offsets(bootstrap, names.source)),
    )


def every_trace_id_once(result: Outcome) -> bool:
    return sorted(result.parcels["trace_id"].to_pylist()) == sorted(k.decode() for k, _ in result.sent)


def every_express_parcel_routed(result: Outcome) -> bool:
    return set(result.routed) == {k for k, v in result.sent if b'"express"' in v}


def committed_beyond_delta(committed: dict[int, int | None], parcels: pa.Table) -> dict[int, list[int]]:
    """Per partition, the committed offsets that have no Delta row: work a restart would skip."""
    durable: dict[int, set[int]] = {p: set() for p in committed}
    if parcels.num_rows:
        for partition, offset in zip(
            parcels["_source_partition"].to_pylist(), parcels["_source_offset"].to_pylist(), strict=True
        ):
            durable[partition].add(offset)
    return {p: [o for o in range(c or 0) if o not in durable[p]] for p, c in committed.items()}


@pytest.fixture(scope="module")
def proxy() -> Iterator[TcpProxy]:
    """A broker of this module's own, reached only through a proxy that the tests cut."""
    upstream = free_port()
    with TcpProxy(upstream) as proxy, EmbeddedBroker(upstream, advertised_port=proxy.port):
        yield proxy


# -- an outage that heals within the retry budget ------------------------------------------


@dataclass
class Healed:
    express_topic: str
    retries: list[str]
    result: Outcome


class _Warnings(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture(scope="module")
def healed(proxy: TcpProxy, tmp_path_factory: pytest.TempPathFactory) -> Healed:
    names = make_names(tmp_path_factory.mktemp("healed"), "outage-heals")
    bootstrap = proxy.address
    messages = sent("h")
    asyncio.run(create_topics(bootstrap, names.source, names.dlq, partitions=PARTITIONS))
    asyncio.run(create_topics(bootstrap, names.topic("express")))
    asyncio.run(produce(bootstrap, names.source, messages))
    data = outage_config(bootstrap, names)
    data["worker"]["delivery_retries"] = 5  # about 12 s of retries: the outage ends well before
    worker = Worker.from_config(parse_config(data), "parcels", exit_when_idle=1.5)

    async def outage() -> None:
        await until(lambda: worker.stats.consumed >= CUT_AFTER, "the worker routing")
        await asyncio.to_thread(proxy.cut)
        await asyncio.sleep(OUTAGE_SECONDS)
        await asyncio.to_thread(proxy.restore)

    async def run() -> None:
        cut = asyncio.create_task(outage())
        await asyncio.wait_for(worker.run(), timeout=60)
        await cut

    retries = _Warnings()
    producer_log = logging.getLogger("kafka_pipeline.worker.producer")
    producer_log.addHandler(retries)
    try:
        asyncio.run(run())
    finally:
        producer_log.removeHandler(retries)
        proxy.restore()
    return Healed(names.topic("express"), retries.messages, outcome(bootstrap, names, messages))


def test_deliveries_that_fail_in_an_outage_are_retried(healed: Healed) -> None:
    retried = f"records for {healed.express_topic} not acknowledged"

    assert any(retried in m for m in healed.retries), healed.retries


def test_after_a_healed_outage_every_row_is_in_delta_exactly_once(healed: Healed) -> None:
    assert every_trace_id_once(healed.result)


def test_after_a_healed_outage_every_routed_record_is_delivered(healed: Healed) -> None:
    assert every_express_parcel_routed(healed.result)


def test_after_a_healed_outage_the_offsets_of_everything_are_committed(healed: Healed) -> None:
    assert healed.result.committed == healed.result.ends


# -- an outage that outlasts the retry budget --------------------------------------------------


@dataclass
class Unhealed:
    express_topic: str
    status: int
    output: str
    committed_beyond_delta: dict[int, list[int]]
    result: Outcome


def seen(tally: Path) -> int:
    """How many messages the worker's ``tally`` plugin has seen; 0 before it wrote (or while it writes)."""
    text = tally.read_text() if tally.exists() else ""
    return int(text) if text.isdigit() else 0


@pytest.fixture(scope="module")
def unhealed(proxy: TcpProxy, parcels_site: Path, tmp_path_factory: pytest.TempPathFactory) -> Unhealed:
    tmp_path = tmp_path_factory.mktemp("unhealed")
    names = make_names(tmp_path, "outage-lasts")
    bootstrap = proxy.address
    tally = tmp_path / "tally.txt"
    messages = sent("u")
    asyncio.run(create_topics(bootstrap, names.source, names.dlq, partitions=PARTITIONS))
    asyncio.run(create_topics(bootstrap, names.topic("express")))
    asyncio.run(produce(bootstrap, names.source, messages))
    data = outage_config(bootstrap, names, tally={"config": {"path": str(tally), "every": 50}})
    data["worker"]["delivery_retries"] = 1
    config = write_config(tmp_path / "worker.yaml", data)
    worker = WorkerProcess(["--domain", "parcels", "--config", str(config)], parcels_site, tmp_path / "w.log")
    worker.start()
    try:
        wait_for(lambda: seen(tally) >= CUT_AFTER, 60, "the worker routing")
        proxy.cut()
        status = worker.wait(timeout=60)
    finally:
        worker.kill()
        proxy.restore()
    committed = asyncio.run(committed_offsets(bootstrap, names.group, names.source, PARTITIONS))
    beyond = committed_beyond_delta(committed, read_table(names.table("parcels")))

    data["load"] = ["express-router"]
    run_worker(data, idle=1.5)
    return Unhealed(
        names.topic("express"), status, worker.output(), beyond, outcome(bootstrap, names, messages)
    )


def test_an_outage_past_every_retry_makes_the_worker_exit_1(unhealed: Unhealed) -> None:
    assert unhealed.status == 1, unhealed.output


def test_the_worker_says_which_records_the_broker_did_not_acknowledge(unhealed: Unhealed) -> None:
    # The command's own error line, not a traceback: the last thing the worker prints.
    last = unhealed.output.rstrip().splitlines()[-1]

    assert re.match(
        rf"Error: \d+ records for {re.escape(unhealed.express_topic)} were not acknowledged after 2 attempts",
        last,
    ), unhealed.output


def test_the_failed_worker_committed_no_offset_whose_row_is_not_in_delta(unhealed: Unhealed) -> None:
    assert unhealed.committed_beyond_delta == {p: [] for p in range(PARTITIONS)}


def test_a_restarted_worker_puts_every_row_in_delta_exactly_once(unhealed: Unhealed) -> None:
    assert every_trace_id_once(unhealed.result)


def test_a_restarted_worker_delivers_every_routed_record(unhealed: Unhealed) -> None:
    assert every_express_parcel_routed(unhealed.result)


def test_a_restarted_worker_commits_the_offsets_of_everything(unhealed: Unhealed) -> None:
    assert unhealed.result.committed == unhealed.result.ends
