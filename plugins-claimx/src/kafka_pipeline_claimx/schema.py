"""``EnrichmentResult``: what ClaimX enrichment reports for each ClaimX event."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field

__all__ = ["ClaimXEvent", "ClaimXStatus", "EnrichmentResult", "ErrorCategory"]

#: ``failed`` will be retried upstream; ``failed_permanent`` will not.
ClaimXStatus = Literal["completed", "failed", "failed_permanent"]


class ErrorCategory(enum.StrEnum):
    """Why an enrichment failed. Values are the lower-case member names (``not_found``)."""

    AUTH = "auth"
    NOT_FOUND = "not_found"
    RATE_LIMITED = "rate_limited"
    TRANSIENT = "transient"
    VALIDATION = "validation"
    UNKNOWN = "unknown"

    @classmethod
    def _missing_(cls, value: object) -> ErrorCategory | None:
        # Upstream services write "NOT_FOUND" as often as "not_found"; both mean
        # the same. Anything else stays an error, so the message goes to the DLQ
        # with its category intact instead of being filed as UNKNOWN.
        if isinstance(value, str):
            return cls.__members__.get(value.upper())
        return None


class ClaimXEvent(BaseModel):
    """The ClaimX event that was enriched."""

    # Numeric ids are accepted and kept as text: ClaimX sends both.
    model_config = ConfigDict(extra="ignore", frozen=True, coerce_numbers_to_str=True)

    event_id: str = Field(
        min_length=1,
        description="The event's id in ClaimX, unique per event (numeric ids arrive as text): the "
        "result's trace id, so the default key of routed records.",
        examples=["3f6c2a9e-8b1d-4c57-a0e4-52d7c9b1e6f3"],
    )
    event_type: str = Field(
        description="What happened, as `<family>.<action>`; the families are `media`, `project` and "
        "`task`. `media-processor` routes `media.created` and `media.updated`, `project-notifier` "
        'every `project.` event. Example: `message.event.event_type == "media.created"`.',
        examples=["media.created", "media.updated", "project.updated", "task.assigned"],
    )
    project_id: str = Field(
        description="The ClaimX project the event belongs to (numeric ids arrive as text), for "
        'project-based routing. Example: `message.event.project_id in {"100017", "100042"}`.',
        examples=["100017"],
    )
    media_id: str | None = Field(
        default=None,
        description="The media item of a `media.` event; None for the other families.",
        examples=["48213377"],
    )
    occurred_at: datetime = Field(description="When the event happened in ClaimX (ISO 8601 in the message).")


class EnrichmentResult(BaseModel):
    """One result from ``claimx.enrichment.results``; ``Routable`` through ``trace_id`` and ``status``.

    ``trace_id`` and ``status`` are derived, not read: they appear in every
    serialized row (so the Delta tables have them) and are ignored on input.
    A failure that does not say whether it is retryable counts as permanent,
    so it is stored and alerted on rather than assumed to come back.
    """

    # frozen: every plugin and the Delta writer see the same message.
    model_config = ConfigDict(extra="ignore", frozen=True)

    event: ClaimXEvent = Field(description="The ClaimX event that was enriched: its fields follow.")
    success: bool = Field(
        description="Whether the enrichment succeeded; `status` is derived from it and `is_retryable`. "
        "Example: `not message.success`.",
    )
    error_category: ErrorCategory | None = Field(
        default=None,
        description="Why the enrichment failed (upper-case names such as `NOT_FOUND` are read too); "
        "None when it succeeded. Compare with the enum or its value: "
        "`message.error_category == ErrorCategory.AUTH`.",
    )
    is_retryable: bool = Field(
        default=False,
        description="Whether a failure will be retried upstream (`status` `failed`) or not "
        "(`failed_permanent`); a failure that does not say is permanent. False on success. "
        "Example: `not message.is_retryable`.",
    )
    error_message: str | None = Field(
        default=None,
        description="Why the enrichment failed, free text; None when it succeeded. "
        'Example: `"rate limit" in (message.error_message or "")`.',
        examples=["ClaimX API token rejected (401)", "ClaimX API timed out after 10s"],
    )
    retry_count: int = Field(
        default=0,
        ge=0,
        description="How many times the enrichment was retried before this result; 0 on the first "
        "attempt. Example: `message.retry_count >= 3`.",
    )

    @computed_field  # type: ignore[prop-decorator]
    @property
    def trace_id(self) -> str:
        """The enriched event's id, `event.event_id`: the default key of routed records."""
        return self.event.event_id

    @computed_field  # type: ignore[prop-decorator]
    @property
    def status(self) -> ClaimXStatus:
        """`completed` on success (stored in `claimx_enrichments`), `failed` when retryable (not
        stored), else `failed_permanent` (stored in `claimx_enrichments_failed`)."""
        if self.success:
            return "completed"
        return "failed" if self.is_retryable else "failed_permanent"
