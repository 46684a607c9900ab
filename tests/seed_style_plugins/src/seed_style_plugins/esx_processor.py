# Verbatim from the design document below the imports; see ruff.toml and mypy.ini for why it is exempt.
from kafka_pipeline_xact import XactRoutingPlugin
from kafka_pipeline_xact.schema import DownloadResultMessage


class EsxProcessorPlugin(XactRoutingPlugin):
    """Route completed ESX files to specialized processing queue."""

    name = "esx-processor"

    def __init__(self, config: dict | None = None):
        super().__init__(config)
        self.target_topic = self.config.get("topic", "xact.esx.processing")

    def should_route(self, result: DownloadResultMessage) -> bool:
        return result.file_type == "esx" and result.status == "completed"

    async def route(self, result: DownloadResultMessage) -> None:
        await self.send_to_topic(
            self.target_topic,
            result.model_dump(),
            result.trace_id
        )
