"""Cross-domain routing plugins for kafka-pipeline, written against ``Routable`` only."""

from importlib.metadata import PackageNotFoundError, version

from kafka_pipeline_shared.generic_alerter import GenericAlert, GenericAlerterPlugin

try:
    __version__ = version("kafka-pipeline-shared")
except PackageNotFoundError:  # pragma: no cover - source tree without install
    __version__ = "0.0.0"

__all__ = ["GenericAlert", "GenericAlerterPlugin", "__version__"]
