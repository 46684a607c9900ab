"""The exception hierarchy: everything core raises derives from :class:`KafkaPipelineError`."""

from __future__ import annotations

from pydantic import ValidationError


class KafkaPipelineError(Exception):
    """Base class of every error raised by kafka-pipeline."""


class ConfigError(KafkaPipelineError):
    """The pipeline configuration is invalid.

    ``problems`` holds one ``"<path>: <message>"`` line per problem so that a
    caller can list them all rather than stop at the first.
    """

    def __init__(self, problems: list[str], source: str | None = None) -> None:
        self.problems = problems
        self.source = source
        where = f" in {source}" if source else ""
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"invalid configuration{where}:\n{lines}")


class PluginConfigError(ConfigError):
    """A plugin's own ``config`` section does not fit its ``Config`` model."""

    def __init__(self, plugin: str, problems: list[str]) -> None:
        self.plugin = plugin
        super().__init__(problems, source=f"plugin {plugin!r}")


class PluginLoadError(KafkaPipelineError):
    """A routing plugin could not be loaded.

    Carries where the plugin came from (entry point, distribution, version)
    and the original exception, so an operator can tell which package to fix.
    """

    def __init__(
        self,
        message: str,
        *,
        plugin: str,
        entry_point: str | None = None,
        distribution: str | None = None,
        version: str | None = None,
        original: BaseException | None = None,
    ) -> None:
        self.plugin = plugin
        self.entry_point = entry_point
        self.distribution = distribution
        self.version = version
        self.original = original
        origin = ""
        if distribution:
            origin = f" (from {distribution} {version or '?'}"
            origin += f", entry point {entry_point})" if entry_point else ")"
        super().__init__(f"plugin {plugin!r}{origin}: {message}")


class WorkerError(KafkaPipelineError):
    """The worker cannot make progress; offsets of unfinished work stay uncommitted."""


class BrokerConnectionError(WorkerError):
    """No broker answered at the configured bootstrap servers."""


class BrokerRefusedError(WorkerError):
    """A broker answered but refused the client: its login, its idempotent producer, a protocol version."""


class TopicMissingError(WorkerError):
    """A topic the worker needs does not exist and may not be created.

    ``plugin`` is set when a routing plugin sent to the topic.
    """

    def __init__(
        self, message: str, *, topic: str, bootstrap_servers: str, plugin: str | None = None
    ) -> None:
        self.topic = topic
        self.bootstrap_servers = bootstrap_servers
        self.plugin = plugin
        super().__init__(message)


class DeliveryError(WorkerError):
    """Routed or DLQ records were not acknowledged by the broker after every retry."""


class DeltaWriteError(WorkerError):
    """A Delta table append did not commit after every retry, or can never commit."""

    def __init__(self, message: str, *, table: str, uri: str) -> None:
        self.table = table
        self.uri = uri
        super().__init__(message)


class OffsetCommitError(WorkerError):
    """Kafka refused the offset commit after every retry."""


class SchemaError(KafkaPipelineError):
    """A domain's message model has a field that cannot become a Delta column."""


def format_validation_error(exc: ValidationError, prefix: str = "") -> list[str]:
    """One ``path: message`` line per pydantic error, the path dotted from ``prefix``."""
    lines = []
    for err in exc.errors():
        path = ".".join([prefix, *(str(p) for p in err["loc"])] if prefix else [str(p) for p in err["loc"]])
        lines.append(f"{path or '<root>'}: {err['msg']}")
    return lines
