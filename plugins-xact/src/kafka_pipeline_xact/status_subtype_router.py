"""``status-subtype-router``: completed downloads go to a topic chosen by their status subtype."""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

from pydantic import BaseModel, ConfigDict, Field

from kafka_pipeline_xact.base import Topic, XactRoutingPlugin
from kafka_pipeline_xact.schema import DownloadResultMessage

__all__ = ["DEFAULT_ROUTES", "StatusSubtypeRouterPlugin"]

DEFAULT_ROUTES: Final = MappingProxyType(
    {
        "estimateCreated": "xact.estimates.received",
        "documentsReceived": "xact.documents.received",
    }
)


class StatusSubtypeRouterPlugin(XactRoutingPlugin):
    """Forwards a completed result to ``routes[status_subtype]``; other subtypes are left alone.

    Subtypes are matched exactly (they are camelCase identifiers, not free
    text). A configured ``routes`` replaces the default mapping as a whole.
    """

    name = "status-subtype-router"

    class Config(BaseModel):
        model_config = ConfigDict(frozen=True)

        #: Status subtype -> topic its completed results are forwarded to.
        routes: dict[str, Topic] = Field(default_factory=lambda: dict(DEFAULT_ROUTES))

    config: Config

    def _topic_for(self, message: DownloadResultMessage) -> str | None:
        if message.status != "completed" or message.status_subtype is None:
            return None
        return self.config.routes.get(message.status_subtype)

    def should_route(self, message: DownloadResultMessage) -> bool:
        return self._topic_for(message) is not None

    async def route(self, message: DownloadResultMessage) -> None:
        topic = self._topic_for(message)
        if topic is not None:
            # The message object itself, so core forwards its original bytes.
            self.send_to_topic(topic, message)
