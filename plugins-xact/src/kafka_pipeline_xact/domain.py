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
# succeed, a fifth fail and are retried, a tenth are given up on. Every value a
# routing rule may test turns up (the field reference, docs/message-fields.md,
# lists them): each status and subtype, no subtype, ESX in either case.
_STATUSES: Final = (("completed", 70), ("failed", 20), ("failed_permanent", 10))
_SUBTYPES: Final = (
    ("estimateCreated", 30),
    ("documentsReceived", 25),
    ("estimateUpdated", 15),
    ("photosReceived", 15),
    ("invoiceReceived", 7),
    ("noteAdded", 5),
    (None, 3),
)
_FILE_TYPES: Final = (
    ("pdf", 35),
    ("esx", 20),
    ("ESX", 5),
    ("jpg", 25),
    ("png", 8),
    ("docx", 4),
    ("xml", 3),
)
# (HTTP status, error, file type known): no status when no response came; a
# host that never resolved leaves no file type either.
_FAILURES: Final = (
    (404, "attachment not found at source", True),
    (403, "access denied by XACT API", True),
    (500, "upstream server error", True),
    (502, "bad gateway from XACT API", True),
    (503, "XACT API unavailable, retry later", True),
    (206, "transfer ended early: partial content only", True),
    (None, "read timeout after 30s", True),
    (None, "connect timeout after 10s", True),
    (None, "connection reset by peer", True),
    (None, "DNS lookup failed for the attachment host", False),
)
# A completed download is a 200, or a 206 when it was resumed with a range request.
_COMPLETED_HTTP: Final = ((200, 95), (206, 5))
# Most attachments are small; a few are the large files that rules single out.
_SMALL_BYTES: Final = (20_000, 8_000_000)
_LARGE_BYTES: Final = (10_000_001, 80_000_000)
_LARGE_SHARE: Final = 0.08
# Some assignment ids arrive as JSON numbers (the model reads them as text).
_NUMERIC_ID_SHARE: Final = 0.05
# A fixed window keeps samples reproducible from the seed alone.
_EPOCH: Final = datetime(2026, 1, 1, tzinfo=UTC)
_WINDOW_SECONDS: Final = 330 * 24 * 3600


def _pick(rng: random.Random, weighted: tuple[tuple[Any, int], ...]) -> Any:
    values, weights = zip(*weighted, strict=True)
    return rng.choices(values, weights)[0]


def sample_download_result(rng: random.Random) -> dict[str, Any]:
    """One realistic raw download result (JSON-able, about 430 bytes as JSON)."""
    status = _pick(rng, _STATUSES)
    numeric = rng.random() < _NUMERIC_ID_SHARE
    assignment: str | int = (
        rng.randrange(10**6, 10**7)
        if numeric
        else f"ASG-{rng.randrange(2024, 2027)}-{rng.randrange(10**6):06d}"
    )
    attachment = rng.randrange(1, 10**5)
    file_type = _pick(rng, _FILE_TYPES)
    created = _EPOCH + timedelta(seconds=rng.randrange(_WINDOW_SECONDS), microseconds=rng.randrange(10**6))
    size = _LARGE_BYTES if rng.random() < _LARGE_SHARE else _SMALL_BYTES
    message: dict[str, Any] = {
        "trace_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "assignment_id": assignment,
        "status": status,
        "status_subtype": _pick(rng, _SUBTYPES),
        "file_type": file_type,
        "http_status": _pick(rng, _COMPLETED_HTTP),
        "retry_count": rng.choice((0, 0, 0, 0, 1, 2)),
        "bytes_downloaded": rng.randrange(*size),
        "error_message": None,
        "attachment_url": f"https://xact.example/api/assignments/{assignment}/files/{attachment}",
        "blob_path": f"xact/{created:%Y/%m/%d}/{assignment}/{attachment}.{file_type.lower()}",
        "created_at": created.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }
    if status != "completed":
        http_status, error, file_type_known = rng.choice(_FAILURES)
        message |= {
            "http_status": http_status,
            "error_message": error,
            "file_type": file_type if file_type_known else None,
            "bytes_downloaded": 0,
            "blob_path": None,
            # Permanent failures are the ones that ran out of retries: from 2, below
            # failure-alerter's default threshold of 3, to 6, past its high severity at 5.
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
