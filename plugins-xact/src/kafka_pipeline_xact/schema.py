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

    trace_id: str = Field(min_length=1)
    assignment_id: str
    status: DownloadStatus
    status_subtype: str | None = None
    file_type: str | None = None
    http_status: int | None = None
    retry_count: int = Field(default=0, ge=0)
    bytes_downloaded: int = Field(default=0, ge=0)
    error_message: str | None = None
    attachment_url: str | None = None
    blob_path: str | None = None
    created_at: datetime | None = None
