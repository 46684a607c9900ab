"""What plugins return is checked on the real worker, as in the engine's own tests.

``vague`` answers parcels tagged 'vague' with a number instead of a bool: a
failure of that plugin alone, parked ``plugin_error`` in the DLQ with the type
named, while ``express-router`` still routes those parcels and Delta stores
them. ``chatty``'s ``route`` returns a value: it is warned about once, and its
records still go out.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import pyarrow as pa
import pytest

from integration.kit import (
    Record,
    config_data,
    create_topics,
    encode,
    make_names,
    parcel,
    produce,
    read_table,
    read_topic,
    run_worker,
)

pytestmark = pytest.mark.integration

VAGUE = [f"v-{i}" for i in range(3)]
CHATTY = [f"c-{i}" for i in range(4)]
PLAIN = [f"p-{i}" for i in range(5)]
SENT = (
    [(t.encode(), encode(parcel(t, carrier="express", tags=["vague"]))) for t in VAGUE]
    + [(t.encode(), encode(parcel(t, carrier="express", tags=["chatty"]))) for t in CHATTY]
    + [(t.encode(), encode(parcel(t, carrier="express"))) for t in PLAIN]
)


@dataclass
class Run:
    dlq: list[Record]
    express: list[Record]
    vague: list[Record]
    chatty: list[Record]
    parcels: pa.Table
    log: str


@pytest.fixture(scope="module")
def run(bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Run:
    names = make_names(tmp_path_factory.mktemp("return-values"), "return-values")
    topics = {name: names.topic(name) for name in ("express", "vague", "chatty")}
    asyncio.run(create_topics(bootstrap, names.source, names.dlq, *topics.values(), partitions=1))
    asyncio.run(produce(bootstrap, names.source, SENT))
    config = config_data(
        bootstrap,
        names,
        {
            "express-router": {"config": {"topic": topics["express"]}},
            "vague": {"config": {"topic": topics["vague"]}, "max_retries": 0},
            "chatty": {"config": {"topic": topics["chatty"]}},
        },
    )
    handler = _Collect()
    logger = logging.getLogger("kafka_pipeline.worker.routing")
    logger.addHandler(handler)
    try:
        run_worker(config)
    finally:
        logger.removeHandler(handler)
    return Run(
        dlq=asyncio.run(read_topic(bootstrap, names.dlq)),
        express=asyncio.run(read_topic(bootstrap, topics["express"])),
        vague=asyncio.run(read_topic(bootstrap, topics["vague"])),
        chatty=asyncio.run(read_topic(bootstrap, topics["chatty"])),
        parcels=read_table(names.table("parcels")),
        log="\n".join(handler.lines),
    )


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.levelname} {record.getMessage()}")


def test_a_should_route_that_returns_no_bool_parks_each_of_its_messages_as_plugin_error(run: Run) -> None:
    parked = {r.key.decode(): r.headers["x-dlq-reason"] for r in run.dlq if r.key is not None}

    assert parked == dict.fromkeys(VAGUE, "plugin_error")
    assert {r.headers["x-dlq-plugin"] for r in run.dlq} == {"vague"}


def test_the_dlq_error_names_the_type_should_route_returned(run: Run) -> None:
    errors = {r.headers["x-dlq-error"] for r in run.dlq}

    assert errors == {
        "should_route: NotABoolError: should_route returned int 1, not a bool; "
        "return True or False (e.g. wrap the condition in bool(...))"
    }


def test_the_plugin_that_failed_sent_nothing(run: Run) -> None:
    assert run.vague == []


def test_the_other_plugins_still_route_those_messages(run: Run) -> None:
    assert sorted(r.key.decode() for r in run.express if r.key) == sorted(VAGUE + CHATTY + PLAIN)


def test_delta_stores_every_message_the_plugin_failed_on(run: Run) -> None:
    assert sorted(run.parcels["trace_id"].to_pylist()) == sorted(VAGUE + CHATTY + PLAIN)


def test_a_route_that_returns_a_value_still_sends_and_is_warned_about_once(run: Run) -> None:
    warnings = [line for line in run.log.splitlines() if "plugin chatty: route returned int 1" in line]

    assert sorted(r.key.decode() for r in run.chatty if r.key) == sorted(CHATTY)
    assert [w.split(" ")[0] for w in warnings] == ["WARNING"]
