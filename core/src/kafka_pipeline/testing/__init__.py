"""The plugin author's test kit: route messages through real plugins without a broker."""

from kafka_pipeline.testing._harness import DispatchResult, PluginRouteError, RoutingHarness
from kafka_pipeline.testing._recording import SentRecord

__all__ = ["DispatchResult", "PluginRouteError", "RoutingHarness", "SentRecord"]
