"""``RoutingHarness``: run routing plugins against messages with no broker, as the worker would."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Generic, Protocol, TypeVar, overload

from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticCustomError

from kafka_pipeline._config import PipelineConfig, parse_config
from kafka_pipeline._domain import Domain
from kafka_pipeline._engine.engine import RoutingEngine
from kafka_pipeline._engine.offer import DeadLetter, PluginOutcome, offer
from kafka_pipeline._envelope import SourceRecord
from kafka_pipeline._errors import KafkaPipelineError
from kafka_pipeline._loading import Installation, discover, topics_of
from kafka_pipeline._observability.stats import WorkerStats
from kafka_pipeline._outbox import Outbox
from kafka_pipeline._plugin import RoutingPlugin
from kafka_pipeline._registry import PluginRegistry, validate_plugin_class
from kafka_pipeline.testing._records import SentRecord

T = TypeVar("T", bound=BaseModel)

PluginSpec = type[RoutingPlugin[Any]] | RoutingPlugin[Any]


class PluginRouteError(KafkaPipelineError):
    """A plugin failed while the harness routed a message (after its retries, as in the worker)."""

    def __init__(self, outcome: PluginOutcome) -> None:
        self.outcome = outcome
        super().__init__(f"plugin {outcome.plugin!r} raised in {outcome.stage}: {outcome.error!r}")


@dataclass(slots=True)
class DispatchResult:
    """What routing one message did.

    ``outcomes``: one per plugin, in dispatch order. ``records``: what the
    plugins sent (a failed attempt's records are not here, as the worker
    drops them). ``dead_letters``: the DLQ records the worker would write
    for this message, one per plugin that failed on it or whose circuit
    breaker was open.
    """

    message: Any
    outcomes: list[PluginOutcome]
    records: list[SentRecord]
    dead_letters: list[DeadLetter] = field(default_factory=list)

    @property
    def matched(self) -> list[str]:
        """The plugins whose ``should_route`` returned True, in dispatch order."""
        return [o.plugin for o in self.outcomes if o.matched]

    @property
    def errors(self) -> list[PluginOutcome]:
        """The plugins that failed on the message, with what they raised."""
        return [o for o in self.outcomes if o.error is not None]


def _unstorable_error(model: type[BaseModel], field: str, problem: str) -> ValidationError:
    """The worker's reason to park a valid message (``schema``) as a pydantic error, like any invalid one."""
    error = PydanticCustomError(
        "unstorable", "{problem}; a Delta table cannot store it", {"problem": problem}
    )
    return ValidationError.from_exception_data(
        model.__name__, [{"type": error, "loc": (field,), "input": None}]
    )


class HarnessFactory(Protocol):
    """What the ``routing_harness`` fixture returns: :class:`RoutingHarness`'s constructor."""

    def __call__(
        self,
        domain: str | Domain[Any],
        plugins: Sequence[PluginSpec] | None = None,
        config: PipelineConfig | Mapping[str, Any] | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> RoutingHarness[Any]: ...


class RoutingHarness(Generic[T]):
    """An async context manager that routes messages through real plugins, as the worker does.

    The worker's own engine runs the plugins, with their timeouts, retries
    and circuit breakers from ``config``; what they send is kept instead of
    produced. ``plugins=None`` loads every installed plugin of ``domain``
    (honouring ``config``); otherwise pass plugin classes or instances.
    Messages may be model instances, mappings, or raw JSON ``str``/``bytes``.
    ``clock`` is the circuit breakers' clock: pass a fake one to test a
    breaker without waiting.

    A harness built from a ``Domain`` object is typed by its model
    (``RoutingHarness[DownloadResultMessage]``); one built from a domain's
    name is ``RoutingHarness[Any]``, since a type checker cannot know what an
    installed domain's name stands for.
    """

    @overload
    def __init__(
        self: RoutingHarness[Any],
        domain: str,
        plugins: Sequence[PluginSpec] | None = None,
        config: PipelineConfig | Mapping[str, Any] | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None: ...

    @overload
    def __init__(
        self,
        domain: Domain[T],
        plugins: Sequence[PluginSpec] | None = None,
        config: PipelineConfig | Mapping[str, Any] | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None: ...

    def __init__(
        self,
        domain: str | Domain[T],
        plugins: Sequence[PluginSpec] | None = None,
        config: PipelineConfig | Mapping[str, Any] | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config if isinstance(config, PipelineConfig) else parse_config(config)
        self._installation: Installation | None = None
        if isinstance(domain, Domain):
            self.domain: Domain[T] = domain
        else:
            self._installation = discover(self.config)
            self.domain = self._installation.domain(domain)
        self.topics = topics_of(self.config, self.domain)
        self.outbox = Outbox()
        self.stats = WorkerStats()
        self.registry = self._build(plugins)
        self.engine = RoutingEngine(
            self.registry.plugins,
            self.config,
            self.outbox,
            self.stats,
            dlq_topic=self.topics.dlq,
            clock=clock,
        )
        # Here, not at the top: pyarrow is heavy, and the CLI imports the test kit when it starts.
        from kafka_pipeline._sinks.values import storable_check

        self._unstorable = storable_check(self.domain.model)
        self._offset = 0

    def _build(self, plugins: Sequence[PluginSpec] | None) -> PluginRegistry[T]:
        if plugins is None:
            installation = self._installation or discover(self.config)
            registry: PluginRegistry[T] = installation.registry(self.domain.name, raise_errors=True)
        else:
            registry = PluginRegistry(
                self.domain.name, lifecycle_timeout=self.config.resilience.lifecycle_timeout_seconds
            )
            for item in plugins:
                if isinstance(item, RoutingPlugin):
                    plugin = item
                else:
                    cls = validate_plugin_class(item)  # the CLI's sentence for a broken class
                    plugin = cls(self.config.plugin(cls.name).config)
                registry.register(plugin, priority=self.config.plugin(plugin.name).priority)
        registry.attach(self.outbox)
        return registry

    async def __aenter__(self) -> RoutingHarness[T]:
        errors = await self.registry.start()
        if errors:
            name, exc = next(iter(errors.items()))
            raise KafkaPipelineError(f"plugin {name!r} failed to start: {exc!r}") from exc
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.registry.stop()

    def parse(self, message: T | Mapping[str, Any] | str | bytes) -> tuple[T, bytes]:
        """The validated message and the bytes it would have arrived as.

        Raises pydantic's ``ValidationError`` when the worker would send the
        message to the DLQ as invalid (``schema``): it does not fit the model,
        or its table cannot store one of its values (an integer beyond 64
        bits, say; the error's type is ``unstorable``).
        """
        if isinstance(message, self.domain.model):
            model, raw = message, message.model_dump_json().encode()
        elif isinstance(message, Mapping):
            model = self.domain.model.model_validate(message)
            raw = model.model_dump_json().encode()
        else:
            raw = message.encode() if isinstance(message, str) else bytes(message)  # type: ignore[arg-type]
            model = self.domain.parse(raw)
        if self._unstorable is not None and self.domain.table_for(model) is not None:
            problem = self._unstorable(model)
            if problem is not None:
                raise _unstorable_error(self.domain.model, problem.field, problem.problem)
        return model, raw

    async def dispatch(self, message: T | Mapping[str, Any] | str | bytes) -> DispatchResult:
        """Route one message; plugin failures are reported on the result, not raised."""
        model, raw = self.parse(message)
        source = SourceRecord(
            topic=self.topics.source,
            partition=0,
            offset=self._offset,
            value=raw,
            message=model,
            trace_id=self.domain.trace_id(model),
        )
        self._offset += 1
        result = await offer(self.engine, model, source)
        return DispatchResult(
            model, result.outcomes, [SentRecord.of(r) for r in result.records], result.dead_letters
        )

    async def route(self, message: T | Mapping[str, Any] | str | bytes) -> list[SentRecord]:
        """The records the plugins send for ``message``; raises :class:`PluginRouteError` if one failed."""
        result = await self.dispatch(message)
        if result.errors:
            raise PluginRouteError(result.errors[0]) from result.errors[0].error
        return result.records
