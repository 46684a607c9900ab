"""kafka-pipeline: route Kafka result messages to further topics by pluggable rules.

This package is the plugin author's API: what is listed in ``__all__`` is
stable within a minor version. ``kafka_pipeline.testing`` is the test kit.
Every other module (their names start with ``_``) is internal and may
change in any release; docs/api.md lists what is public.
"""

from kafka_pipeline._config import PipelineConfig, PluginSettings, load_config, parse_config
from kafka_pipeline._discovery import DOMAINS_GROUP, ROUTING_GROUP, LoadStatus, PluginRecord, core_version
from kafka_pipeline._domain import Domain
from kafka_pipeline._envelope import SourceRecord
from kafka_pipeline._errors import ConfigError, KafkaPipelineError, PluginConfigError, PluginLoadError
from kafka_pipeline._loading import Installation, discover
from kafka_pipeline._plugin import RouteSender, RoutingPlugin
from kafka_pipeline._protocols import Routable
from kafka_pipeline._registry import PluginRegistry, RegisteredPlugin
from kafka_pipeline.hookspecs import hookimpl

__version__ = core_version()

__all__ = [
    "DOMAINS_GROUP",
    "ROUTING_GROUP",
    "ConfigError",
    "Domain",
    "Installation",
    "KafkaPipelineError",
    "LoadStatus",
    "PipelineConfig",
    "PluginConfigError",
    "PluginLoadError",
    "PluginRecord",
    "PluginRegistry",
    "PluginSettings",
    "RegisteredPlugin",
    "Routable",
    "RouteSender",
    "RoutingPlugin",
    "SourceRecord",
    "__version__",
    "discover",
    "hookimpl",
    "load_config",
    "parse_config",
]
