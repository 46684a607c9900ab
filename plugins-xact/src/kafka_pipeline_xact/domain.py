"""``XACT_DOMAIN``: where XACT download results come from and which Delta table keeps them."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from kafka_pipeline import Domain
from kafka_pipeline_xact.schema import DownloadResultMessage

__all__ = ["XACT_DOMAIN", "sample_download_result"]

# Weights follow what the downloader sees in production: most downloads
# succeed, a fifth fail and are retried, a tenth are given up on.
_STATUSES: Final = (("completed", 70), ("failed", 20), ("failed_permanent", 10))
_SUBTYPES: Final = (
    ("estimateCreated", 30),
    ("documentsReceived", 25),
    ("estimateUpdated", 15),
    ("photosReceived", 15),
    ("invoiceReceived", 8),
    ("noteAdded", 7),
)
_FILE_TYPES: Final = (("pdf", 35), ("esx", 25), ("jpg", 25), ("png", 8), ("docx", 4), ("xml", 3))
_FAILURES: Final = (
    (404, "attachment not found at source"),
    (403, "access denied by XACT API"),
    (500, "upstream server error"),
    (502, "bad gateway from XACT API"),
    (503, "XACT API unavailable, retry later"),
    (None, "read timed out after 30s"),
    (None, "connection reset by peer"),
)
# A fixed window keeps samples reproducible from the seed alone.
_EPOCH: Final = datetime(2026, 1, 1, tzinfo=UTC)
_WINDOW_SECONDS: Final = 330 * 24 * 3600


def _pick(rng: random.Random, weighted: tuple[tuple[Any, int], ...]) -> Any:
    values, weights = zip(*weighted, strict=True)
    return rng.choices(values, weights)[0]


def sample_download_result(rng: random.Random) -> dict[str, Any]:
    """One realistic raw download result (JSON-able, about 430 bytes as JSON)."""
    status = _pick(rng, _STATUSES)
    assignment = f"ASG-{rng.randrange(2024, 2027)}-{rng.randrange(10**6):06d}"
    attachment = rng.randrange(1, 10**5)
    file_type = _pick(rng, _FILE_TYPES)
    created = _EPOCH + timedelta(seconds=rng.randrange(_WINDOW_SECONDS), microseconds=rng.randrange(10**6))
    message: dict[str, Any] = {
        "trace_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "assignment_id": assignment,
        "status": status,
        "status_subtype": _pick(rng, _SUBTYPES),
        "file_type": file_type,
        "http_status": 200,
        "retry_count": rng.choice((0, 0, 0, 0, 1, 2)),
        "bytes_downloaded": rng.randrange(20_000, 8_000_000),
        "error_message": None,
        "attachment_url": f"https://xact.example/api/assignments/{assignment}/files/{attachment}",
        "blob_path": f"xact/{created:%Y/%m/%d}/{assignment}/{attachment}.{file_type}",
        "created_at": created.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }
    if status != "completed":
        http_status, error = rng.choice(_FAILURES)
        message |= {
            "http_status": http_status,
            "error_message": error,
            "bytes_downloaded": 0,
            "blob_path": None,
            # Permanent failures are the ones that ran out of retries.
            "retry_count": rng.randrange(0, 5) if status == "failed" else rng.randrange(2, 7),
        }
    return message


def _trace_id(message: DownloadResultMessage) -> str:
    """The result's own `trace_id` field, set by the downloader."""
    return message.trace_id


def _status(message: DownloadResultMessage) -> str:
    """The result's own `status` field."""
    return message.status


XACT_DOMAIN: Final[Domain[DownloadResultMessage]] = Domain(
    name="xact",
    model=DownloadResultMessage,
    source_topic="xact.downloads.results",
    tables={"completed": "xact_attachments", "failed_permanent": "xact_attachments_failed"},
    trace_id=_trace_id,
    status=_status,
    description="XACT attachment download results",
    sample=sample_download_result,
)
