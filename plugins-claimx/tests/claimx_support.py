"""Helpers for the ClaimX plugin specifications: a message builder and a one-plugin router."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from kafka_pipeline import RoutingPlugin
from kafka_pipeline.testing import RoutingHarness, SentRecord
from kafka_pipeline_claimx import CLAIMX_DOMAIN

__all__ = ["EVENT_ID", "PROJECT_ID", "enrichment_result", "failed", "route"]

EVENT_ID = "evt-7f3a"
PROJECT_ID = "552301"


def enrichment_result(event_type: str = "media.created", project_id: Any = PROJECT_ID, **fields: Any) -> str:
    """Raw JSON of a successful enrichment of a ClaimX event; keyword arguments override fields."""
    message = {
        "event": {
            "event_id": EVENT_ID,
            "event_type": event_type,
            "project_id": project_id,
            "media_id": "88120034",
            "occurred_at": "2026-11-29T08:15:00.000Z",
        },
        "success": True,
        "error_category": None,
        "is_retryable": False,
        "error_message": None,
        "retry_count": 0,
    }
    return json.dumps(message | fields)


def failed(retryable: bool, category: str = "transient") -> dict[str, Any]:
    """The fields of a failed enrichment, to pass to :func:`enrichment_result`."""
    return {
        "success": False,
        "is_retryable": retryable,
        "error_category": category,
        "error_message": "ClaimX API timed out after 10s",
        "retry_count": 2,
    }


async def route(
    plugin: type[RoutingPlugin[Any]], message: str, config: Mapping[str, Any] | None = None
) -> list[SentRecord]:
    """What ``plugin`` (given ``config``, else its defaults) sends for ``message``."""
    settings = {"plugins": {plugin.name: {"config": dict(config)}}} if config is not None else None
    async with RoutingHarness(CLAIMX_DOMAIN, [plugin], config=settings) as harness:
        return await harness.route(message)
