"""``XactRoutingPlugin``: the base class of routing rules over XACT download results."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field

from kafka_pipeline import RoutingPlugin
from kafka_pipeline_xact.schema import DownloadResultMessage

__all__ = ["Topic", "XactRoutingPlugin"]

#: A Kafka topic name, checked when the configuration is loaded rather than
#: when the first message is produced to it.
Topic = Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]{1,249}$")]


class XactRoutingPlugin(RoutingPlugin[DownloadResultMessage]):
    """Derive from this to route XACT results: it ties the plugin to the ``xact`` domain."""

    domain: ClassVar[str | None] = "xact"
