"""The worker: real Kafka in, routed topics and Delta tables out, nothing lost.

:class:`Worker` is the entry point; each module holds one part: ``runner``
(consumer loop, shutdown, signals), ``rebalance`` (revoke and assign),
``batch`` (one poll batch and the flush order), ``routing`` (plugins behind
timeouts, retries and breakers), ``resilience`` (policy and breaker),
``producer`` (the routed producer), ``dlq``, ``offsets``, ``delta_writer``,
``schema`` and ``rows`` (Delta tables), ``topics``, ``clients``, ``stats``
and ``memory`` (keeping resident memory flat).
"""

from kafka_pipeline._dlq import HEADER_DLQ_ERROR, HEADER_DLQ_PLUGIN, HEADER_DLQ_REASON, DlqReason
from kafka_pipeline._errors import (
    BrokerConnectionError,
    BrokerRefusedError,
    DeliveryError,
    DeltaWriteError,
    OffsetCommitError,
    SchemaError,
    TopicMissingError,
    WorkerError,
)
from kafka_pipeline._observability.stats import FlushReport, PluginStats, WorkerStats
from kafka_pipeline._worker.runner import Worker

__all__ = [
    "HEADER_DLQ_ERROR",
    "HEADER_DLQ_PLUGIN",
    "HEADER_DLQ_REASON",
    "BrokerConnectionError",
    "BrokerRefusedError",
    "DeliveryError",
    "DeltaWriteError",
    "DlqReason",
    "FlushReport",
    "OffsetCommitError",
    "PluginStats",
    "SchemaError",
    "TopicMissingError",
    "Worker",
    "WorkerError",
    "WorkerStats",
]
