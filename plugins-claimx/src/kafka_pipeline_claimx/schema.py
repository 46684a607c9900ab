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

    event_id: str = Field(min_length=1)
    event_type: str
    project_id: str
    media_id: str | None = None
    occurred_at: datetime


class EnrichmentResult(BaseModel):
    """One result from ``claimx.enrichment.results``; ``Routable`` through ``trace_id`` and ``status``.

    ``trace_id`` and ``status`` are derived, not read: they appear in every
    serialized row (so the Delta tables have them) and are ignored on input.
    A failure that does not say whether it is retryable counts as permanent,
    so it is stored and alerted on rather than assumed to come back.
    """

    # frozen: every plugin and the Delta writer see the same message.
    model_config = ConfigDict(extra="ignore", frozen=True)

    event: ClaimXEvent
    success: bool
    error_category: ErrorCategory | None = None
    is_retryable: bool = False
    error_message: str | None = None
    retry_count: int = Field(default=0, ge=0)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def trace_id(self) -> str:
        """The enriched event's id."""
        return self.event.event_id

    @computed_field  # type: ignore[prop-decorator]
    @property
    def status(self) -> ClaimXStatus:
        """``completed`` on success, ``failed`` when retryable, else ``failed_permanent``."""
        if self.success:
            return "completed"
        return "failed" if self.is_retryable else "failed_permanent"
