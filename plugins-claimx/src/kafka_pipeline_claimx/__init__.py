"""ClaimX enrichment results for kafka-pipeline: the ``claimx`` domain and its routing plugins."""

from importlib.metadata import PackageNotFoundError, version

from kafka_pipeline_claimx.base import ClaimXRoutingPlugin
from kafka_pipeline_claimx.domain import CLAIMX_DOMAIN, sample_enrichment_result
from kafka_pipeline_claimx.media_processor import MediaProcessorPlugin
from kafka_pipeline_claimx.project_notifier import ProjectNotifierPlugin
from kafka_pipeline_claimx.schema import ClaimXEvent, ClaimXStatus, EnrichmentResult, ErrorCategory

try:
    __version__ = version("kafka-pipeline-claimx")
except PackageNotFoundError:  # pragma: no cover - source tree without install
    __version__ = "0.0.0"

__all__ = [
    "CLAIMX_DOMAIN",
    "ClaimXEvent",
    "ClaimXRoutingPlugin",
    "ClaimXStatus",
    "EnrichmentResult",
    "ErrorCategory",
    "MediaProcessorPlugin",
    "ProjectNotifierPlugin",
    "__version__",
    "sample_enrichment_result",
]
