"""The worker: real Kafka in, routed topics and Delta tables out, nothing lost.

:class:`Worker` is the entry point; each module holds one part: ``runner``
(consumer loop, shutdown, signals), ``rebalance`` (revoke and assign),
``batch`` (one poll batch and the flush order), ``routing`` (plugins behind
timeouts, retries and breakers), ``resilience`` (policy and breaker),
``producer`` (the routed producer), ``dlq``, ``offsets``, ``delta_writer``,
``schema`` and ``rows`` (Delta tables), ``topics``, ``clients``, ``stats``
and ``memory`` (keeping resident memory flat).
"""

from kafka_pipeline.worker.dlq import HEADER_DLQ_ERROR, HEADER_DLQ_PLUGIN, HEADER_DLQ_REASON, DlqReason
from kafka_pipeline.worker.errors import (
    BrokerConnectionError,
    BrokerRefusedError,
    DeliveryError,
    DeltaWriteError,
    OffsetCommitError,
    SchemaError,
    TopicMissingError,
    WorkerError,
)
from kafka_pipeline.worker.runner import Worker
from kafka_pipeline.worker.stats import FlushReport, PluginStats, WorkerStats

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
