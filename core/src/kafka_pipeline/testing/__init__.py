"""The plugin author's test kit: route messages through real plugins without a broker."""

from kafka_pipeline.recording import SentRecord
from kafka_pipeline.testing.harness import DispatchResult, PluginRouteError, RoutingHarness

__all__ = ["DispatchResult", "PluginRouteError", "RoutingHarness", "SentRecord"]
