"""OpenTelemetry tracing: off unless configured, and then spans around every plugin's route call."""

from __future__ import annotations

import sys
from types import CoroutineType
from typing import cast

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from test_engine import SendsAtOnce, SendsThenRaises, Thing, _EveryTopicExists

from kafka_pipeline import PluginRegistry, RoutingPlugin, SourceRecord, parse_config
from kafka_pipeline._broker.outbox import KafkaOutbox
from kafka_pipeline._broker.topics import TopicAdmin
from kafka_pipeline._engine.engine import RoutingEngine
from kafka_pipeline._engine.traced import TracedRoutingEngine
from kafka_pipeline._observability.stats import WorkerStats
from kafka_pipeline._observability.tracing import Tracing, TracingError, tracing_from_environment
from kafka_pipeline._worker.traced import routing_engine

OTEL_VARIABLES = (
    "OTEL_SDK_DISABLED",
    "OTEL_TRACES_EXPORTER",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
)


def engine(tracing: Tracing | None, *plugins: RoutingPlugin[Thing]) -> RoutingEngine:
    registry: PluginRegistry[Thing] = PluginRegistry("things")
    for plugin in plugins:
        registry.register(plugin)
    stats = WorkerStats()
    outbox = KafkaOutbox(None, cast("TopicAdmin", _EveryTopicExists()), stats)
    registry.attach(outbox)
    config = parse_config({"resilience": {"retry_backoff_seconds": 0, "max_retries": 0}})
    return routing_engine(registry.plugins, config, outbox, stats, dlq_topic="things.dlq", tracing=tracing)


@pytest.fixture(autouse=True)
def no_otel_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in OTEL_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_tracing_is_off_when_nothing_configures_it() -> None:
    assert tracing_from_environment() is None


def test_tracing_is_off_without_opentelemetry_installed_even_when_asked_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console")
    monkeypatch.setitem(sys.modules, "opentelemetry", None)

    assert tracing_from_environment() is None


def test_an_exporter_named_in_the_environment_turns_tracing_on() -> None:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("OTEL_TRACES_EXPORTER", "console")
        tracing = tracing_from_environment()

    assert tracing is not None
    tracing.close()


def test_otel_sdk_disabled_wins() -> None:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("OTEL_TRACES_EXPORTER", "console")
        env.setenv("OTEL_SDK_DISABLED", "true")

        assert tracing_from_environment() is None


def test_an_exporter_that_is_not_installed_is_an_error_naming_it() -> None:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("OTEL_TRACES_EXPORTER", "zipkin")
        with pytest.raises(TracingError, match="'zipkin'"):
            tracing_from_environment()


def test_without_tracing_the_worker_gets_the_untraced_engine() -> None:
    assert type(engine(None, SendsAtOnce())) is RoutingEngine


async def test_a_route_span_names_plugin_topic_and_outcome() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    traced = engine(Tracing(provider), SendsAtOnce(), SendsThenRaises())
    assert isinstance(traced, TracedRoutingEngine)
    message = Thing(trace_id="t-1")

    outcome = traced.route(message, SourceRecord("things", 0, 7, b"{}", message, "t-1"))
    assert isinstance(outcome, CoroutineType)
    await outcome

    spans = {s.name: dict(s.attributes or {}) for s in exporter.get_finished_spans()}
    print(*(f"{name}: {attributes}" for name, attributes in spans.items()), sep="\n")
    assert {
        name: (a["kafka_pipeline.plugin"], a["messaging.destination.name"], a["kafka_pipeline.outcome"])
        for name, a in spans.items()
    } == {
        "route sends-at-once": ("sends-at-once", "things", "routed"),
        "route sends-then-raises": ("sends-then-raises", "things", "plugin_error"),
    }
