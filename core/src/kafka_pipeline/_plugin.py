"""``RoutingPlugin[T]``: the base class every routing rule derives from."""

from __future__ import annotations

import difflib
import types
from collections.abc import Awaitable, Generator, Mapping
from typing import Any, ClassVar, Final, Generic, Protocol, TypeVar, cast

from pydantic import BaseModel, ValidationError

from kafka_pipeline._envelope import SourceRecord, current_source
from kafka_pipeline._errors import KafkaPipelineError, PluginConfigError, format_validation_error

T = TypeVar("T")


@types.coroutine
def _done() -> Generator[None, None, None]:
    return
    yield  # pragma: no cover - makes this a generator


def _completed() -> Awaitable[None]:
    awaitable = _done()
    # Run to its end once: awaiting it again finishes at once, every time, on any loop.
    for _ in cast("Generator[None, None, None]", awaitable):  # pragma: no cover - never yields
        pass
    return awaitable


#: What ``send_to_topic`` returns: already complete, so ``await self.send_to_topic(...)``
#: (the design document's style) behaves exactly like the bare call. One shared,
#: exhausted generator-based coroutine: awaiting it costs about 20 ns, less than any
#: object with an ``__await__`` method.
ENQUEUED: Final[Awaitable[None]] = _completed()


def _close(key: object, known: set[str]) -> str:
    close = difflib.get_close_matches(str(key), sorted(known), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


class RouteSender(Protocol):
    """Where ``send_to_topic`` hands routed records: the worker's producer or a recorder."""

    def send(
        self,
        plugin: str,
        topic: str,
        payload: object,
        key: str | bytes | None,
        headers: Mapping[str, str | bytes] | None,
    ) -> None: ...


class RoutingPlugin(Generic[T]):
    """A routing rule for messages of type ``T``.

    Subclasses set ``name`` and ``domain`` (or ``domains``, or ``requires``
    for a cross-domain plugin), override ``should_route`` and ``route``, and
    may override ``start``/``stop``. A nested pydantic model ``Config`` makes
    ``self.config`` an instance of it, validated at load; without one,
    ``self.config`` is the plain dict from the configuration.
    """

    #: Unique plugin name; also the entry-point name.
    name: ClassVar[str]
    #: The one domain this plugin routes, e.g. ``"xact"``.
    domain: ClassVar[str | None] = None
    #: Several domains, for a plugin that is not tied to one.
    domains: ClassVar[tuple[str, ...]] = ()
    #: Protocols the message model must satisfy; with neither ``domain`` nor
    #: ``domains`` set, the plugin attaches to every domain that satisfies them.
    requires: ClassVar[tuple[type, ...]] = ()
    #: Priority when the configuration gives none; higher runs first.
    default_priority: ClassVar[int] = 0

    config: Any
    #: The domain this instance serves, set when a registry takes it in.
    domain_name: str | None
    _sender: RouteSender | None

    def __init__(self, config: Mapping[str, Any] | BaseModel | None = None) -> None:
        self.config = self.validate_config(config)
        self.domain_name = self.domain
        self._sender = None

    # -- configuration -----------------------------------------------------

    @classmethod
    def config_model(cls) -> type[BaseModel] | None:
        model = getattr(cls, "Config", None)
        return model if isinstance(model, type) and issubclass(model, BaseModel) else None

    @classmethod
    def validate_config(cls, raw: Mapping[str, Any] | BaseModel | None) -> Any:
        """Check ``raw`` against ``Config``; unknown keys are an error, never ignored."""
        model = cls.config_model()
        prefix = f"plugins.{cls.name}.config"
        if model is None:
            if isinstance(raw, BaseModel):
                return raw.model_dump()
            return dict(raw or {})
        if isinstance(raw, model):
            return raw
        data = dict(raw.model_dump() if isinstance(raw, BaseModel) else raw or {})
        known = set(model.model_fields) | {
            f.alias for f in model.model_fields.values() if f.alias is not None
        }
        listed = ", ".join(sorted(known)) or "none"
        problems = [
            f"{prefix}.{key}: unknown key for plugin {cls.name!r}{_close(key, known)} (known: {listed})"
            for key in data
            if key not in known
        ]
        try:
            validated = model.model_validate(data)
        except ValidationError as exc:
            problems += format_validation_error(exc, prefix)
            validated = None
        if problems:
            raise PluginConfigError(cls.name, problems)
        return validated

    # -- hooks (override these) ---------------------------------------------

    def should_route(self, message: T) -> bool:
        """Whether ``message`` should be routed by this plugin. Pure and cheap."""
        raise NotImplementedError

    async def route(self, message: T) -> None:
        """Send ``message`` (or a derived payload) with :meth:`send_to_topic`."""
        raise NotImplementedError

    async def start(self) -> None:
        """Acquire resources; awaited once before the first message."""

    async def stop(self) -> None:
        """Release resources; awaited once at shutdown."""

    # -- helpers for plugin code ---------------------------------------------

    def send_to_topic(
        self,
        topic: str,
        payload: object,
        key: str | bytes | None = None,
        headers: Mapping[str, str | bytes] | None = None,
    ) -> Awaitable[None]:
        """Enqueue ``payload`` for ``topic`` and return at once.

        ``payload`` may be the message itself (its original bytes are
        forwarded), any pydantic model, a JSON-serializable mapping, ``str`` or
        ``bytes``. The key defaults to the message's trace id. Provenance
        headers (``x-routed-by``, ``x-source-*``, ``x-trace-id``) are added.
        The worker awaits every acknowledgement before committing offsets.

        Returns an awaitable that is already complete: ``await
        self.send_to_topic(...)`` and the bare call do the same, and neither
        waits for the broker.
        """
        if self._sender is None:
            raise KafkaPipelineError(
                f"plugin {self.name!r} is not attached to a worker, so it cannot send to "
                f"{topic!r}; in tests use kafka_pipeline.testing.RoutingHarness"
            )
        self._sender.send(self.name, topic, payload, key, headers)
        return ENQUEUED

    def source_of(self, message: T) -> SourceRecord | None:
        """The Kafka record ``message`` was read from (topic, partition, offset, key) while it is routed.

        None outside a worker's (or the test kit's) routing of ``message``.
        """
        source = current_source.get(None)
        return source if source is not None and source.message is message else None

    def get_trace_id(self, message: T) -> str:
        """The trace id of ``message``: the source record's, else its ``trace_id`` attribute."""
        source = current_source.get(None)
        if source is not None and source.message is message:
            return source.trace_id
        return str(getattr(message, "trace_id", ""))

    def attach(self, sender: RouteSender | None) -> None:
        """Point ``send_to_topic`` at ``sender`` (done by the registry)."""
        self._sender = sender

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {getattr(self, 'name', '?')!r}>"
