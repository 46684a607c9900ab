"""XACT download results for kafka-pipeline: the ``xact`` domain and its routing plugins."""

from importlib.metadata import PackageNotFoundError, version

from kafka_pipeline_xact.base import XactRoutingPlugin
from kafka_pipeline_xact.domain import XACT_DOMAIN, sample_download_result
from kafka_pipeline_xact.esx_processor import EsxProcessorPlugin
from kafka_pipeline_xact.failure_alerter import FailureAlert, FailureAlerterPlugin, Severity
from kafka_pipeline_xact.schema import DownloadResultMessage, DownloadStatus
from kafka_pipeline_xact.status_subtype_router import DEFAULT_ROUTES, StatusSubtypeRouterPlugin

try:
    __version__ = version("kafka-pipeline-xact")
except PackageNotFoundError:  # pragma: no cover - source tree without install
    __version__ = "0.0.0"

__all__ = [
    "DEFAULT_ROUTES",
    "XACT_DOMAIN",
    "DownloadResultMessage",
    "DownloadStatus",
    "EsxProcessorPlugin",
    "FailureAlert",
    "FailureAlerterPlugin",
    "Severity",
    "StatusSubtypeRouterPlugin",
    "XactRoutingPlugin",
    "__version__",
    "sample_download_result",
]
