"""``media-processor``: successfully enriched media events go on to media processing."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from kafka_pipeline_claimx.base import ClaimXRoutingPlugin, Topic
from kafka_pipeline_claimx.schema import EnrichmentResult

__all__ = ["MediaProcessorPlugin"]


class MediaProcessorPlugin(ClaimXRoutingPlugin):
    """Forwards each successful result whose ``event_type`` is one of ``event_types`` to ``topic``.

    Event types are matched exactly. Failed enrichments are never forwarded:
    media processing needs the enriched data. The result is forwarded byte
    for byte, not re-serialized.
    """

    name = "media-processor"

    class Config(BaseModel):
        model_config = ConfigDict(frozen=True)

        #: Where successfully enriched media events are sent.
        topic: Topic = "claimx.media.processing"
        #: The event types forwarded.
        event_types: tuple[str, ...] = Field(default=("media.created", "media.updated"), min_length=1)

    config: Config

    def should_route(self, message: EnrichmentResult) -> bool:
        return message.success and message.event.event_type in self.config.event_types

    async def route(self, message: EnrichmentResult) -> None:
        # The message object itself, so core forwards its original bytes.
        self.send_to_topic(self.config.topic, message)
