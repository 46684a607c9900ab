"""What can stop a worker: each error says what failed, where, and what to do next."""

from __future__ import annotations

from kafka_pipeline.errors import KafkaPipelineError

__all__ = [
    "BrokerConnectionError",
    "BrokerRefusedError",
    "DeliveryError",
    "DeltaWriteError",
    "OffsetCommitError",
    "SchemaError",
    "TopicMissingError",
    "WorkerError",
]


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
