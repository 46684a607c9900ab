"""``RoutingHarness``: run routing plugins against messages with no broker."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from kafka_pipeline._config import PipelineConfig, parse_config
from kafka_pipeline._domain import Domain
from kafka_pipeline._envelope import SourceRecord
from kafka_pipeline._errors import KafkaPipelineError
from kafka_pipeline._loading import Installation, discover
from kafka_pipeline._plugin import RoutingPlugin
from kafka_pipeline._registry import PluginOutcome, PluginRegistry
from kafka_pipeline.testing._recording import RecordingSender, SentRecord

__all__ = ["DispatchResult", "PluginRouteError", "RoutingHarness"]

T = TypeVar("T", bound=BaseModel)


class PluginRouteError(KafkaPipelineError):
    """A plugin raised while the harness routed a message."""

    def __init__(self, outcome: PluginOutcome) -> None:
        self.outcome = outcome
        super().__init__(f"plugin {outcome.plugin!r} raised in {outcome.stage}: {outcome.error!r}")


class DispatchResult:
    """What routing one message did: per-plugin outcomes and the records sent."""

    __slots__ = ("message", "outcomes", "records")

    def __init__(self, message: Any, outcomes: list[PluginOutcome], records: list[SentRecord]) -> None:
        self.message = message
        self.outcomes = outcomes
        self.records = records

    @property
    def matched(self) -> list[str]:
        return [o.plugin for o in self.outcomes if o.matched]

    @property
    def errors(self) -> list[PluginOutcome]:
        return [o for o in self.outcomes if o.error is not None]


class RoutingHarness(Generic[T]):
    """An async context manager that routes messages through real plugins into a recorder.

    ``plugins=None`` loads every installed plugin of ``domain`` (honouring
    ``config``); otherwise pass plugin classes or instances. Messages may be
    model instances, mappings, or raw JSON ``str``/``bytes``.
    """

    def __init__(
        self,
        domain: str | Domain[T],
        plugins: Sequence[type[RoutingPlugin[Any]] | RoutingPlugin[Any]] | None = None,
        config: PipelineConfig | Mapping[str, Any] | None = None,
    ) -> None:
        self.config = config if isinstance(config, PipelineConfig) else parse_config(config)
        self._installation: Installation | None = None
        if isinstance(domain, Domain):
            self.domain: Domain[T] = domain
        else:
            self._installation = discover(self.config)
            self.domain = self._installation.domain(domain)
        self.sender = RecordingSender()
        self.registry = self._build(plugins)
        self._offset = 0

    def _build(
        self, plugins: Sequence[type[RoutingPlugin[Any]] | RoutingPlugin[Any]] | None
    ) -> PluginRegistry[T]:
        if plugins is None:
            installation = self._installation or discover(self.config)
            registry: PluginRegistry[T] = installation.registry(self.domain.name, raise_errors=True)
        else:
            registry = PluginRegistry(self.domain.name)
            for item in plugins:
                if isinstance(item, RoutingPlugin):
                    plugin = item
                else:
                    plugin = item(self.config.plugin(item.name).config)
                registry.register(plugin, priority=self.config.plugin(plugin.name).priority)
        registry.attach(self.sender)
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
        """The validated message and the bytes it would have arrived as."""
        if isinstance(message, self.domain.model):
            return message, message.model_dump_json().encode()
        if isinstance(message, Mapping):
            model = self.domain.model.model_validate(message)
            return model, model.model_dump_json().encode()
        raw = message.encode() if isinstance(message, str) else bytes(message)  # type: ignore[arg-type]
        return self.domain.parse(raw), raw

    async def dispatch(self, message: T | Mapping[str, Any] | str | bytes) -> DispatchResult:
        """Route one message; plugin errors are reported on the result, not raised."""
        model, raw = self.parse(message)
        source = SourceRecord(
            topic=self.domain.source_topic,
            partition=0,
            offset=self._offset,
            value=raw,
            message=model,
            trace_id=self.domain.trace_id(model),
        )
        self._offset += 1
        outcomes = await self.registry.dispatch(model, source)
        return DispatchResult(model, outcomes, self.sender.take())

    async def route(self, message: T | Mapping[str, Any] | str | bytes) -> list[SentRecord]:
        """The records the plugins send for ``message``; raises :class:`PluginRouteError` if one raised."""
        result = await self.dispatch(message)
        if result.errors:
            raise PluginRouteError(result.errors[0]) from result.errors[0].error
        return result.records
