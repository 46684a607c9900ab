"""Helpers for the XACT plugin specifications: a message builder, and the type of the ``route`` fixture."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol

from kafka_pipeline import RoutingPlugin
from kafka_pipeline.testing import SentRecord

__all__ = ["TRACE_ID", "Route", "download_result"]

TRACE_ID = "trace-0001"


def download_result(**fields: Any) -> str:
    """Raw JSON of a completed ESX estimate download; keyword arguments override fields."""
    message = {
        "trace_id": TRACE_ID,
        "assignment_id": "ASG-2026-000042",
        "status": "completed",
        "status_subtype": "estimateCreated",
        "file_type": "esx",
        "http_status": 200,
        "retry_count": 0,
        "bytes_downloaded": 48_213,
        "error_message": None,
        "attachment_url": "https://xact.example/api/assignments/ASG-2026-000042/files/7",
        "blob_path": "xact/2026/11/29/ASG-2026-000042/7.esx",
        "created_at": "2026-11-29T08:15:00.000Z",
    }
    return json.dumps(message | fields)


class Route(Protocol):
    """The ``route`` fixture (``conftest.py``): what one plugin sends for one XACT result.

    ``config`` is the plugin's own settings; without it the plugin runs on its defaults.
    """

    async def __call__(
        self, plugin: type[RoutingPlugin[Any]], message: str, config: Mapping[str, Any] | None = None
    ) -> list[SentRecord]: ...
