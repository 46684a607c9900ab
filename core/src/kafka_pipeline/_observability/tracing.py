"""OpenTelemetry spans of the worker: one per batch, one per plugin route call, in the records' traces.

Optional twice over: OpenTelemetry is the ``otel`` extra of core
(``pip install 'kafka-pipeline-core[otel]'``), and even installed it is
off unless it is configured: a tracer provider already installed (by
``opentelemetry-instrument`` or the program that embeds the worker), or
the standard ``OTEL_*`` variables naming an exporter
(``OTEL_TRACES_EXPORTER``, or an ``OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT``
for OTLP). :func:`tracing_from_environment` decides once, at start-up; when
it answers None, the worker runs the untraced engine and pays nothing.

A plugin's route span is a child of the source record's ``traceparent``
(of the batch span when the source has none); the records the plugin sends,
and the DLQ record when it fails, carry the route span's ``traceparent``,
so that their consumers continue the same trace under it. The batch span
links to the traces of the records it holds.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import logging
import os
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Final

from kafka_pipeline._envelope import (
    HEADER_TRACEPARENT,
    HEADER_TRACESTATE,
    Headers,
    SourceRecord,
    trace_context,
)
from kafka_pipeline._errors import KafkaPipelineError

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.trace import Link, Span, TracerProvider
    from opentelemetry.util.types import AttributeValue

log = logging.getLogger("kafka_pipeline.worker.tracing")

INSTALL_HINT: Final = "pip install 'kafka-pipeline-core[otel]'"
#: The most source traces a batch span links to: enough to find them, bounded whatever the batch.
MAX_BATCH_LINKS: Final = 32
#: The ``kafka_pipeline.outcome`` of a route span.
ROUTED, NOTHING_SENT, PLUGIN_ERROR = "routed", "nothing_sent", "plugin_error"


class TracingError(KafkaPipelineError):
    """The ``OTEL_*`` variables ask for tracing that cannot be set up (a missing exporter or extra)."""


class Tracing:
    """Makes the worker's spans with ``provider``'s tracer.

    ``owned``: this object built the provider (from the environment) and
    shuts it down in :meth:`close`, exporting what is left.
    """

    def __init__(self, provider: TracerProvider, *, owned: bool = False) -> None:
        from opentelemetry import trace
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

        try:
            version = importlib.metadata.version("kafka-pipeline-core")
        except importlib.metadata.PackageNotFoundError:  # pragma: no cover - a source checkout
            version = "0"
        self._provider = provider
        self._owned = owned
        self._tracer = provider.get_tracer("kafka_pipeline", version)
        self._trace = trace
        self._propagator = TraceContextTextMapPropagator()

    def _parent(self, context: Headers) -> Context:
        carrier = {name: value.decode(errors="replace") for name, value in context}
        return self._propagator.extract(carrier)

    @contextlib.contextmanager
    def batch_span(self, topic: str, partition: int, records: Sequence[Any]) -> Iterator[Span]:
        """The span of one partition's records of a poll, current while they are processed."""
        links: list[Link] = []
        seen: set[int] = set()
        for record in records:
            context = trace_context(record.headers) if record.headers else None
            if context is None:
                continue
            span_context = self._trace.get_current_span(self._parent(context)).get_span_context()
            if span_context.trace_id not in seen:
                seen.add(span_context.trace_id)
                links.append(self._trace.Link(span_context))
                if len(links) >= MAX_BATCH_LINKS:
                    break
        attributes: dict[str, AttributeValue] = {
            "messaging.system": "kafka",
            "messaging.operation.type": "process",
            "messaging.destination.name": topic,
            "messaging.destination.partition.id": str(partition),
            "messaging.batch.message_count": len(records),
            "kafka_pipeline.first_offset": int(records[0].offset),
            "kafka_pipeline.last_offset": int(records[-1].offset),
        }
        with self._tracer.start_as_current_span(
            f"process {topic}", kind=self._trace.SpanKind.CONSUMER, attributes=attributes, links=links
        ) as span:
            yield span

    @contextlib.contextmanager
    def route_span(self, plugin: str, source: SourceRecord) -> Iterator[Span]:
        """The span of ``plugin``'s route call on ``source``'s message: a child of its traceparent."""
        links = []
        parent = None
        if source.trace_context is not None:
            parent = self._parent(source.trace_context)
            batch = self._trace.get_current_span().get_span_context()
            if batch.is_valid:
                links.append(self._trace.Link(batch))
        attributes: dict[str, AttributeValue] = {
            "kafka_pipeline.plugin": plugin,
            "kafka_pipeline.trace_id": source.trace_id,
            "messaging.system": "kafka",
            "messaging.destination.name": source.topic,
            "messaging.destination.partition.id": str(source.partition),
            "messaging.kafka.offset": source.offset,
        }
        with self._tracer.start_as_current_span(
            f"route {plugin}", context=parent, attributes=attributes, links=links
        ) as span:
            yield span

    @staticmethod
    def headers_of(span: Span) -> Headers:
        """The ``traceparent`` (and the inherited ``tracestate``) of records made inside ``span``."""
        context = span.get_span_context()
        parent = f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"
        headers: Headers = [(HEADER_TRACEPARENT, parent.encode())]
        state = context.trace_state.to_header()
        if state:
            headers.append((HEADER_TRACESTATE, state.encode()))
        return headers

    def outcome(
        self, span: Span, outcome: str, *, error: BaseException | None, routed_to: Sequence[str], retries: int
    ) -> None:
        """Records how a route call ended on its span."""
        span.set_attribute("kafka_pipeline.outcome", outcome)
        if routed_to:
            span.set_attribute("kafka_pipeline.routed_to", list(routed_to))
        if retries:
            span.set_attribute("kafka_pipeline.retries", retries)
        if error is not None:
            span.record_exception(error)
            span.set_status(self._trace.Status(self._trace.StatusCode.ERROR, type(error).__name__))

    def close(self) -> None:
        """Export the spans still buffered; shut down a provider this object built."""
        if self._owned:
            shutdown = getattr(self._provider, "shutdown", None)
            if shutdown is not None:
                shutdown()


def _exporter_names() -> list[str]:
    """The exporters the environment asks for; none unless it asks (the SDK's default, OTLP, is not)."""
    names = [n.strip() for n in os.environ.get("OTEL_TRACES_EXPORTER", "").split(",") if n.strip()]
    if not names and (
        os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    ):
        names = ["otlp"]
    return [n for n in names if n != "none"]


def tracing_from_environment() -> Tracing | None:
    """The worker's tracing as the environment configures it; None when it is off (the default).

    Raises :class:`TracingError` when the environment asks for an exporter
    that is not installed.
    """
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    exporters = _exporter_names()
    try:
        from opentelemetry import trace
    except ImportError:
        if exporters:
            log.warning(
                "OTEL_TRACES_EXPORTER (or an OTLP endpoint) is set, but OpenTelemetry is not installed: "
                "no spans. Install it with: %s",
                INSTALL_HINT,
            )
        return None
    provider = trace.get_tracer_provider()
    if not isinstance(provider, trace.ProxyTracerProvider | trace.NoOpTracerProvider):
        return Tracing(provider)  # set up by opentelemetry-instrument or the embedding program
    if not exporters:
        return None
    return Tracing(_sdk_provider(exporters), owned=True)


def _sdk_provider(exporters: Sequence[str]) -> TracerProvider:
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError as exc:
        raise TracingError(
            f"OTEL_TRACES_EXPORTER asks for spans, but the OpenTelemetry SDK is not installed: {INSTALL_HINT}"
        ) from exc
    resource = Resource.create()
    if str(resource.attributes.get("service.name", "")).startswith("unknown_service"):
        resource = resource.merge(Resource({"service.name": "kafka-pipeline"}))
    # The sampler comes from OTEL_TRACES_SAMPLER, as the SDK reads it.
    provider = SdkTracerProvider(resource=resource)
    available = importlib.metadata.entry_points(group="opentelemetry_traces_exporter")
    for name in exporters:
        found = [ep for ep in available if ep.name == name]
        if not found:
            known = ", ".join(sorted(ep.name for ep in available)) or "none"
            hint = " (pip install opentelemetry-exporter-otlp)" if name.startswith("otlp") else ""
            raise TracingError(
                f"OTEL_TRACES_EXPORTER names {name!r}, which is not installed{hint}; installed: {known}"
            )
        provider.add_span_processor(BatchSpanProcessor(found[0].load()()))
    log.info("tracing: OpenTelemetry spans exported to %s", ", ".join(exporters))
    return provider
