"""Helpers for the ClaimX plugin specifications: message builders, and the type of the ``route`` fixture."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol

from kafka_pipeline import RoutingPlugin
from kafka_pipeline.testing import SentRecord

__all__ = ["EVENT_ID", "PROJECT_ID", "Route", "enrichment_result", "failed"]

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


class Route(Protocol):
    """The ``route`` fixture (``conftest.py``): what one plugin sends for one ClaimX result.

    ``config`` is the plugin's own settings; without it the plugin runs on its defaults.
    """

    async def __call__(
        self, plugin: type[RoutingPlugin[Any]], message: str, config: Mapping[str, Any] | None = None
    ) -> list[SentRecord]: ...
