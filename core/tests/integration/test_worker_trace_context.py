"""W3C trace context on a real broker: routed and DLQ records continue the source record's trace.

Three source records carry a ``traceparent``: one the express router routes,
one that ``fussy`` fails on (a ``plugin_error`` DLQ record), one that is not
JSON (an ``invalid_json`` DLQ record). The worker runs once without a tracer
(the trace context is passed on unchanged) and once with OpenTelemetry's SDK
and its in-memory exporter (spans, and records under the route spans).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from integration.kit import (
    Names,
    Record,
    config_data,
    create_topics,
    encode,
    make_names,
    parcel,
    read_topic,
    run_worker,
)
from kafka_pipeline._observability.tracing import Tracing

pytestmark = pytest.mark.integration

TRACE = {
    "routed": "4bf92f3577b34da6a3ce929d0e0e4736",
    "failed": "5bf92f3577b34da6a3ce929d0e0e4736",
    "invalid": "6bf92f3577b34da6a3ce929d0e0e4736",
}
PARENT_SPAN = "00f067aa0ba902b7"
TRACESTATE = "congo=t61rcWkgMzE"


def traceparent(trace_id: str) -> str:
    return f"00-{trace_id}-{PARENT_SPAN}-01"


SOURCES = [
    (b"routed", encode(parcel("routed", carrier="express")), traceparent(TRACE["routed"])),
    (b"failed", encode(parcel("failed", tags=["fussy"])), traceparent(TRACE["failed"])),
    (b"invalid", b"{not json", traceparent(TRACE["invalid"])),
    (b"plain", encode(parcel("plain", carrier="express")), None),
]


@dataclass
class Run:
    names: Names
    express: list[Record]
    dlq: list[Record]
    spans: Sequence[ReadableSpan]

    def routed(self, key: bytes) -> Record:
        return next(r for r in self.express if r.key == key)

    def parked(self, key: bytes) -> Record:
        return next(r for r in self.dlq if r.key == key)


async def produce_with_trace_context(bootstrap: str, topic: str) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for key, value, parent in SOURCES:
            headers = (
                [("traceparent", parent.encode()), ("tracestate", TRACESTATE.encode())] if parent else []
            )
            await producer.send_and_wait(topic, value, key=key, headers=headers)
    finally:
        await producer.stop()


def run(bootstrap: str, names: Names, tracing: Tracing | None) -> Run:
    topics = (names.source, names.dlq, names.topic("express"), names.topic("fussy"))
    asyncio.run(create_topics(bootstrap, *topics, partitions=1))
    asyncio.run(produce_with_trace_context(bootstrap, names.source))
    plugins: dict[str, dict[str, Any]] = {
        "express-router": {"config": {"topic": names.topic("express")}},
        "fussy": {"config": {"topic": names.topic("fussy")}, "max_retries": 0},
    }
    run_worker(config_data(bootstrap, names, plugins), tracing=tracing)
    express = asyncio.run(read_topic(bootstrap, names.topic("express")))
    dlq = asyncio.run(read_topic(bootstrap, names.dlq))
    return Run(names, express, dlq, [])


@pytest.fixture(scope="module")
def untraced(bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Run:
    return run(bootstrap, make_names(tmp_path_factory.mktemp("untraced"), "untraced"), None)


@pytest.fixture(scope="module")
def traced(bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Run:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    result = run(bootstrap, make_names(tmp_path_factory.mktemp("traced"), "traced"), Tracing(provider))
    result.spans = exporter.get_finished_spans()
    return result


def show(label: str, result: Run) -> None:
    """The evidence, with ``pytest -s``: each record's traceparent next to its source's."""
    print(f"\n{label}:")
    for key, _, parent in SOURCES:
        made = [r for r in [*result.express, *result.dlq] if r.key == key]
        for record in made:
            kind = record.headers.get("x-dlq-reason", "routed")
            print(f"  source {parent}  ->  {kind:<13} {record.headers.get('traceparent')}")


def route_span(spans: Sequence[ReadableSpan], plugin: str, trace_id: str) -> ReadableSpan:
    return next(
        s
        for s in spans
        if s.name == f"route {plugin}" and s.context is not None and f"{s.context.trace_id:032x}" == trace_id
    )


def test_without_a_tracer_a_routed_record_carries_the_source_traceparent_unchanged(untraced: Run) -> None:
    show("without a tracer", untraced)
    headers = untraced.routed(b"routed").headers

    assert (headers["traceparent"], headers["tracestate"]) == (traceparent(TRACE["routed"]), TRACESTATE)


def test_without_a_tracer_dlq_records_carry_the_source_traceparent_unchanged(untraced: Run) -> None:
    parked = {key: untraced.parked(key).headers for key in (b"failed", b"invalid")}

    assert {k: (h["x-dlq-reason"], h["traceparent"]) for k, h in parked.items()} == {
        b"failed": ("plugin_error", traceparent(TRACE["failed"])),
        b"invalid": ("invalid_json", traceparent(TRACE["invalid"])),
    }


def test_a_source_without_traceparent_gives_a_routed_record_without_one(untraced: Run) -> None:
    assert "traceparent" not in untraced.routed(b"plain").headers


def test_with_a_tracer_each_route_call_is_a_span_in_the_source_records_trace(traced: Run) -> None:
    span = route_span(traced.spans, "express-router", TRACE["routed"])

    assert span.parent is not None
    assert (f"{span.parent.span_id:016x}", dict(span.attributes or {})) == (
        PARENT_SPAN,
        {
            "kafka_pipeline.plugin": "express-router",
            "kafka_pipeline.trace_id": "routed",
            "messaging.system": "kafka",
            "messaging.destination.name": traced.names.source,
            "messaging.destination.partition.id": "0",
            "messaging.kafka.offset": 0,
            "kafka_pipeline.outcome": "routed",
            "kafka_pipeline.routed_to": (traced.names.topic("express"),),
        },
    )


def test_with_a_tracer_a_routed_record_continues_the_trace_under_its_route_span(traced: Run) -> None:
    show("with OpenTelemetry (in-memory exporter)", traced)
    span = route_span(traced.spans, "express-router", TRACE["routed"])
    assert span.context is not None
    headers = traced.routed(b"routed").headers

    assert (headers["traceparent"], headers["tracestate"]) == (
        f"00-{TRACE['routed']}-{span.context.span_id:016x}-01",
        TRACESTATE,
    )


def test_with_a_tracer_a_failed_route_call_is_an_error_span_and_its_dlq_record_is_under_it(
    traced: Run,
) -> None:
    span = route_span(traced.spans, "fussy", TRACE["failed"])
    assert span.context is not None

    assert (
        span.attributes is not None and span.attributes["kafka_pipeline.outcome"],
        span.status.status_code.name,
        traced.parked(b"failed").headers["traceparent"],
    ) == ("plugin_error", "ERROR", f"00-{TRACE['failed']}-{span.context.span_id:016x}-01")


def test_with_a_tracer_invalid_input_keeps_the_source_traceparent(traced: Run) -> None:
    assert traced.parked(b"invalid").headers["traceparent"] == traceparent(TRACE["invalid"])


def test_with_a_tracer_each_batch_is_a_span_linked_to_the_traces_it_holds(traced: Run) -> None:
    batches = [s for s in traced.spans if s.name == f"process {traced.names.source}"]
    linked = {f"{link.context.trace_id:032x}" for s in batches for link in s.links}
    counts = [(s.attributes or {}).get("messaging.batch.message_count", 0) for s in batches]

    assert (sum(c for c in counts if isinstance(c, int)), linked) == (
        len(SOURCES),
        set(TRACE.values()),
    )


def test_with_a_tracer_a_source_without_traceparent_has_its_route_span_under_the_batch_span(
    traced: Run,
) -> None:
    batch_ids = {s.context.span_id for s in traced.spans if s.name.startswith("process ") and s.context}
    plain = next(
        s
        for s in traced.spans
        if s.name == "route express-router" and (s.attributes or {}).get("kafka_pipeline.trace_id") == "plain"
    )
    routed = traced.routed(b"plain").headers

    assert plain.parent is not None
    assert plain.context is not None
    assert (plain.parent.span_id in batch_ids, routed["traceparent"].split("-")[2]) == (
        True,
        f"{plain.context.span_id:016x}",
    )
