"""``CLAIMX_DOMAIN``: where ClaimX enrichment results come from and which Delta table keeps them."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from kafka_pipeline import Domain
from kafka_pipeline_claimx.schema import EnrichmentResult, ErrorCategory

__all__ = ["CLAIMX_DOMAIN", "sample_enrichment_result"]

# Every family (media, project, task) and every type of each turns up, so that
# both what a rule routes and what it leaves alone are among the samples.
_EVENT_TYPES: Final = (
    ("media.created", 30),
    ("media.updated", 15),
    ("media.deleted", 5),
    ("project.created", 10),
    ("project.updated", 15),
    ("project.closed", 5),
    ("task.assigned", 10),
    ("task.completed", 10),
)
# (category, retryable, message): rate limits and transient errors come back
# by themselves, the others need a person. UNKNOWN appears both ways.
_FAILURES: Final = (
    (ErrorCategory.RATE_LIMITED, True, "ClaimX API rate limit exceeded (429), retry after 30s"),
    (ErrorCategory.TRANSIENT, True, "ClaimX API timed out after 10s"),
    (ErrorCategory.TRANSIENT, True, "connection reset while fetching project details"),
    (ErrorCategory.UNKNOWN, True, "unexpected response shape from ClaimX API"),
    (ErrorCategory.AUTH, False, "ClaimX API token rejected (401)"),
    (ErrorCategory.NOT_FOUND, False, "media no longer exists in ClaimX (404)"),
    (ErrorCategory.VALIDATION, False, "project is missing a policy number"),
    (ErrorCategory.UNKNOWN, False, "enrichment aborted: unhandled ClaimX error"),
)
# Some services write the category's name (NOT_FOUND) rather than its value.
_CATEGORY_NAME_SHARE: Final = 0.2
# Events cluster in projects: a few hundred active ones, so that an allow-list
# of project ids matches now and then. Some ids arrive as JSON numbers.
_PROJECTS: Final = (100_000, 100_300)
_NUMERIC_ID_SHARE: Final = 0.1
# A fixed window keeps samples reproducible from the seed alone.
_EPOCH: Final = datetime(2026, 1, 1, tzinfo=UTC)
_WINDOW_SECONDS: Final = 330 * 24 * 3600


def sample_enrichment_result(rng: random.Random) -> dict[str, Any]:
    """One realistic raw enrichment result: about 75% succeed, the rest fail either way."""
    types, weights = zip(*_EVENT_TYPES, strict=True)
    event_type = rng.choices(types, weights)[0]
    occurred = _EPOCH + timedelta(seconds=rng.randrange(_WINDOW_SECONDS), microseconds=rng.randrange(10**6))
    project = rng.randrange(*_PROJECTS)
    message: dict[str, Any] = {
        "event": {
            "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "event_type": event_type,
            "project_id": project if rng.random() < _NUMERIC_ID_SHARE else str(project),
            "media_id": str(rng.randrange(10**7, 10**8)) if event_type.startswith("media.") else None,
            "occurred_at": occurred.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        },
        "success": True,
        "error_category": None,
        "is_retryable": False,
        "error_message": None,
        "retry_count": rng.choice((0, 0, 0, 1)),
    }
    if rng.random() >= 0.75:
        category, retryable, error = rng.choice(_FAILURES)
        message |= {
            "success": False,
            "error_category": category.name if rng.random() < _CATEGORY_NAME_SHARE else category.value,
            "is_retryable": retryable,
            "error_message": error,
            "retry_count": rng.randrange(0, 5),
        }
    return message


def _trace_id(message: EnrichmentResult) -> str:
    """The enriched event's id, `event.event_id` (also the computed `trace_id` field)."""
    return message.event.event_id


def _status(message: EnrichmentResult) -> str:
    """The computed `status` field: from `success` and `is_retryable`."""
    return message.status


CLAIMX_DOMAIN: Final[Domain[EnrichmentResult]] = Domain(
    name="claimx",
    model=EnrichmentResult,
    source_topic="claimx.enrichment.results",
    tables={"completed": "claimx_enrichments", "failed_permanent": "claimx_enrichments_failed"},
    trace_id=_trace_id,
    status=_status,
    description="ClaimX event enrichment results",
    sample=sample_enrichment_result,
)
