"""``esx-processor``: completed ESX (Xactimate estimate) downloads go on to ESX processing."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from kafka_pipeline_xact.base import Topic, XactRoutingPlugin
from kafka_pipeline_xact.schema import DownloadResultMessage

__all__ = ["EsxProcessorPlugin"]


class EsxProcessorPlugin(XactRoutingPlugin):
    """Forwards every completed download whose ``file_type`` is ``esx`` to ``topic``.

    ``file_type`` is compared case-insensitively: it comes from file
    extensions, which arrive as ``esx`` or ``ESX`` alike. The result itself is
    forwarded byte for byte, not re-serialized.
    """

    name = "esx-processor"

    class Config(BaseModel):
        model_config = ConfigDict(frozen=True)

        #: Where completed ESX downloads are sent.
        topic: Topic = "xact.esx.processing"

    config: Config

    def should_route(self, message: DownloadResultMessage) -> bool:
        return (
            message.status == "completed"
            and message.file_type is not None
            and message.file_type.lower() == "esx"
        )

    async def route(self, message: DownloadResultMessage) -> None:
        # The message object itself, so core forwards its original bytes.
        self.send_to_topic(self.config.topic, message)
