"""``DownloadResultMessage``: what the XACT attachment downloader reports for each attachment."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["DownloadResultMessage", "DownloadStatus"]

#: ``failed`` will be retried by the downloader; ``failed_permanent`` will not.
DownloadStatus = Literal["completed", "failed", "failed_permanent"]


class DownloadResultMessage(BaseModel):
    """One attachment download result from ``xact.downloads.results``.

    Only what every result carries is required: its identity and status. A
    failed download may have no file type (the URL never resolved), no HTTP
    status (a timeout or DNS error), no blob and no bytes, so those are
    optional. Fields the downloader adds later are ignored rather than
    rejected, so a newer producer never sends results to the DLQ.
    """

    # frozen: every plugin and the Delta writer see the same message, so no
    # plugin may change it under the others. Numeric ids are accepted as text.
    model_config = ConfigDict(extra="ignore", frozen=True, coerce_numbers_to_str=True)

    trace_id: str = Field(
        min_length=1,
        description="The download's correlation id, set by the downloader and carried end to end: "
        "the default key of routed records and their `x-trace-id` header.",
        examples=["5d0c8f52-6f7e-4a43-9d8b-0f2a1c3e9b71"],
    )
    assignment_id: str = Field(
        description="The XACT assignment the attachment belongs to (numeric ids arrive as text). "
        'Example: `message.assignment_id.startswith("A")`.',
        examples=["ASG-2026-004211"],
    )
    status: DownloadStatus = Field(
        description="How the download ended: `completed` (stored in `xact_attachments`), `failed` "
        "(the downloader retries it; not stored) or `failed_permanent` (given up on; stored in "
        '`xact_attachments_failed`). Example: `message.status == "completed"`.',
    )
    status_subtype: str | None = Field(
        default=None,
        description="The XACT event behind the download, a camelCase identifier matched exactly; "
        "None when the downloader did not say. `status-subtype-router` routes on it. "
        'Example: `message.status_subtype == "estimateCreated"`.',
        examples=["estimateCreated", "documentsReceived", "estimateUpdated", "photosReceived"],
    )
    file_type: str | None = Field(
        default=None,
        description="The attachment's file extension without the dot, as the source named it: `esx` "
        "and `ESX` both occur, so compare case-insensitively. None when the URL never resolved. "
        'Example: `(message.file_type or "").lower() in {"esx", "pdf"}`.',
        examples=["pdf", "esx", "ESX", "jpg"],
    )
    http_status: int | None = Field(
        default=None,
        description="The HTTP status of the last attempt: 200, or 206 for a download resumed with a "
        "range request; 403, 404, 500, 502 or 503 when it failed. None when no response came "
        "(a timeout, a reset connection). Example: `message.http_status == 403`.",
        examples=[200, 206, 403, 404, 503],
    )
    retry_count: int = Field(
        default=0,
        ge=0,
        description="How many times the download was retried before this result; 0 on the first "
        "attempt. `failure-alerter` alerts on permanent failures from 3 (`high` from 5). "
        "Example: `message.retry_count >= 3`.",
    )
    bytes_downloaded: int = Field(
        default=0,
        ge=0,
        description="The size of the downloaded file in bytes; 0 when the download failed. "
        "Example: `message.bytes_downloaded > 10_000_000`.",
    )
    error_message: str | None = Field(
        default=None,
        description="Why the download failed, free text from the downloader; None when it succeeded. "
        'Example: `"timeout" in (message.error_message or "")`.',
        examples=["read timeout after 30s", "attachment not found at source"],
    )
    attachment_url: str | None = Field(
        default=None, description="Where the attachment was downloaded from, in the XACT API."
    )
    blob_path: str | None = Field(
        default=None,
        description="Where the file was stored in blob storage; None when nothing was stored (a failure).",
    )
    created_at: datetime | None = Field(
        default=None, description="When the downloader reported the result (ISO 8601 in the message)."
    )
