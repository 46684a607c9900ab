"""kafka-pipeline: route Kafka result messages to further topics by pluggable rules."""

from importlib.metadata import PackageNotFoundError, version

from kafka_pipeline._config import PipelineConfig, PluginSettings, load_config, parse_config
from kafka_pipeline._discovery import DOMAINS_GROUP, ROUTING_GROUP, LoadStatus, PluginRecord
from kafka_pipeline._domain import Domain
from kafka_pipeline._envelope import SourceRecord
from kafka_pipeline._errors import ConfigError, KafkaPipelineError, PluginConfigError, PluginLoadError
from kafka_pipeline._loading import Installation, discover
from kafka_pipeline._plugin import RouteSender, RoutingPlugin
from kafka_pipeline._protocols import Routable
from kafka_pipeline._registry import PluginOutcome, PluginRegistry, RegisteredPlugin
from kafka_pipeline.hookspecs import hookimpl
from kafka_pipeline.testing._recording import RecordingSender, SentRecord

try:
    __version__ = version("kafka-pipeline-core")
except PackageNotFoundError:  # pragma: no cover - source tree without install
    __version__ = "0.0.0"

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
    "PluginOutcome",
    "PluginRecord",
    "PluginRegistry",
    "PluginSettings",
    "RecordingSender",
    "RegisteredPlugin",
    "Routable",
    "RouteSender",
    "RoutingPlugin",
    "SentRecord",
    "SourceRecord",
    "__version__",
    "discover",
    "hookimpl",
    "load_config",
    "parse_config",
]
