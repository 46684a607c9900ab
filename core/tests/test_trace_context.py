"""W3C trace context: a source record's ``traceparent``/``tracestate`` travel on every record made from it."""

from __future__ import annotations

import logging
from types import CoroutineType
from typing import Any

import pytest
from test_engine import SendsAtOnce, SendsThenRaises, Thing, make_router

from kafka_pipeline import RoutingPlugin, SourceRecord
from kafka_pipeline._engine.engine import RoutingEngine
from kafka_pipeline._envelope import trace_context, trace_id_of

TRACEPARENT = b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
TRACESTATE = b"congo=t61rcWkgMzE"


class Forger(RoutingPlugin[Thing]):
    """Sets headers that only the core may set."""

    name = "forger"
    domain = "things"

    def should_route(self, message: Thing) -> bool:
        return True

    async def route(self, message: Thing) -> None:
        headers = {
            "traceparent": "00-" + "1" * 32 + "-" + "2" * 16 + "-01",
            "X-Trace-Id": "fake",
            "x-own": "1",
        }
        self.send_to_topic("forged", message, headers=headers)


def source_of(message: Thing, context: Any = None) -> SourceRecord:
    return SourceRecord("things", 0, 7, b"{}", message, message.trace_id, trace_context=context)


async def route(router: RoutingEngine, message: Thing, context: Any = None) -> None:
    outcome = router.route(message, source_of(message, context))
    if isinstance(outcome, CoroutineType):
        await outcome


def with_parent(state: bytes | None = None) -> Any:
    return trace_context([("traceparent", TRACEPARENT), *([("tracestate", state)] if state else [])])


def test_a_valid_traceparent_and_its_tracestate_are_the_trace_context() -> None:
    context = trace_context([("x-other", b"1"), ("traceparent", TRACEPARENT), ("tracestate", TRACESTATE)])

    assert context == [("traceparent", TRACEPARENT), ("tracestate", TRACESTATE)]


@pytest.mark.parametrize(
    "value",
    [
        b"not-a-traceparent",
        b"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  # version ff is invalid
        b"00-00000000000000000000000000000000-00f067aa0ba902b7-01",  # all-zero trace id
        b"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  # all-zero parent id
        b"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  # upper case
        TRACEPARENT + b"-extra",  # version 00 has exactly four fields
    ],
)
def test_an_invalid_traceparent_is_no_trace_context_and_takes_its_tracestate_with_it(value: bytes) -> None:
    assert trace_context([("traceparent", value), ("tracestate", TRACESTATE)]) is None


def test_the_trace_id_is_read_from_the_traceparent() -> None:
    assert trace_id_of(trace_context([("traceparent", TRACEPARENT)])) == "4bf92f3577b34da6a3ce929d0e0e4736"


async def test_a_routed_record_carries_the_source_records_traceparent_and_tracestate() -> None:
    router, outbox = make_router(SendsAtOnce())
    message = Thing(trace_id="t-1")

    await route(router, message, with_parent(TRACESTATE))

    (record,) = outbox.pending
    assert [h for h in record.headers if h[0] in {"traceparent", "tracestate"}] == [
        ("traceparent", TRACEPARENT),
        ("tracestate", TRACESTATE),
    ]


async def test_a_plugin_failure_parked_in_the_dlq_carries_the_source_records_traceparent() -> None:
    router, outbox = make_router(SendsThenRaises(), max_retries=0)
    message = Thing(trace_id="t-1")

    await route(router, message, with_parent())

    (parked,) = outbox.pending
    assert (parked.topic, dict(parked.headers)["traceparent"]) == ("things.dlq", TRACEPARENT)


async def test_a_source_without_traceparent_gives_records_without_one() -> None:
    router, outbox = make_router(SendsAtOnce())
    message = Thing(trace_id="t-1")

    await route(router, message)

    assert [name for name, _ in outbox.pending[0].headers if name in {"traceparent", "tracestate"}] == []


async def test_a_plugin_cannot_forge_the_trace_context_or_the_provenance_headers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    router, outbox = make_router(Forger())
    message = Thing(trace_id="t-1")

    with caplog.at_level(logging.WARNING, "kafka_pipeline.worker.routing"):
        for _ in range(2):
            await route(router, message, with_parent())

    names = [name for name, _ in outbox.pending[0].headers]
    headers = dict(outbox.pending[0].headers)
    assert (names.count("traceparent"), headers["traceparent"], headers["x-trace-id"], headers["x-own"]) == (
        1,
        TRACEPARENT,
        b"t-1",
        b"1",
    )
    assert "X-Trace-Id" not in names
    # Once per plugin and header, however many records it sends.
    assert len([r for r in caplog.records if "forger" in r.getMessage()]) == 2
