"""``ClaimXRoutingPlugin``: the base class of routing rules over ClaimX enrichment results."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field

from kafka_pipeline import RoutingPlugin
from kafka_pipeline_claimx.schema import EnrichmentResult

__all__ = ["ClaimXRoutingPlugin", "Topic"]

#: A Kafka topic name, checked when the configuration is loaded rather than
#: when the first message is produced to it.
Topic = Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]{1,249}$")]


class ClaimXRoutingPlugin(RoutingPlugin[EnrichmentResult]):
    """Derive from this to route ClaimX results: it ties the plugin to the ``claimx`` domain."""

    domain: ClassVar[str | None] = "claimx"
