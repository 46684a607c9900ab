r"""The plugin author's test kit: route messages through real plugins without a broker.

``RoutingHarness`` runs plugins through the worker's own engine (timeouts,
retries, circuit breakers, the DLQ) and keeps what they send as
``SentRecord``\ s. The ``routing_harness`` and ``kafka_broker`` pytest
fixtures (``kafka_pipeline.testing.pytest_plugin``, loaded by pytest through
its ``pytest11`` entry point) build harnesses and give a real broker.
"""

from kafka_pipeline._engine.offer import DeadLetter, PluginOutcome
from kafka_pipeline.testing._harness import DispatchResult, HarnessFactory, PluginRouteError, RoutingHarness
from kafka_pipeline.testing._records import SentRecord

__all__ = [
    "DeadLetter",
    "DispatchResult",
    "HarnessFactory",
    "PluginOutcome",
    "PluginRouteError",
    "RoutingHarness",
    "SentRecord",
]
