# Verbatim from the design document below the imports; see ruff.toml and mypy.ini for why it is exempt.
from kafka_pipeline_xact import XactRoutingPlugin
from kafka_pipeline_xact.schema import DownloadResultMessage


class StatusSubtypeRouterPlugin(XactRoutingPlugin):
    """Route results to topics based on status_subtype."""

    name = "status-subtype-router"

    def __init__(self, config: dict | None = None):
        super().__init__(config)
        self.routes: dict[str, str] = self.config.get("routes", {
            "estimateCreated": "xact.estimates.received",
            "documentsReceived": "xact.documents.received",
        })

    def should_route(self, result: DownloadResultMessage) -> bool:
        return (
            result.status == "completed"
            and result.status_subtype in self.routes
        )

    async def route(self, result: DownloadResultMessage) -> None:
        topic = self.routes[result.status_subtype]
        await self.send_to_topic(topic, result.model_dump(), result.trace_id)
