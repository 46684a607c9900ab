"""Prometheus metrics and health endpoints of a worker.

``collector`` turns a worker's plain counters into Prometheus metrics when
scraped; ``server`` serves them at ``/metrics`` next to ``/healthz`` and
``/readyz``, on a thread of its own.
"""

from kafka_pipeline._observability.collector import MESSAGE_OUTCOMES, WorkerCollector, worker_registry
from kafka_pipeline._observability.server import MetricsServer, MetricsServerError, Readiness

__all__ = [
    "MESSAGE_OUTCOMES",
    "MetricsServer",
    "MetricsServerError",
    "Readiness",
    "WorkerCollector",
    "worker_registry",
]
