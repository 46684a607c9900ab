"""``failure-alerter``: an alert for each download given up on after repeated retries."""

from __future__ import annotations

import enum
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from kafka_pipeline_xact.base import Topic, XactRoutingPlugin
from kafka_pipeline_xact.schema import DownloadResultMessage

__all__ = ["HIGH_SEVERITY_RETRIES", "FailureAlert", "FailureAlerterPlugin", "Severity"]

#: From this many retries on, a permanent failure is paged as ``high``.
HIGH_SEVERITY_RETRIES: Final = 5


class Severity(enum.StrEnum):
    """How urgently a person should look at the failure."""

    MEDIUM = "medium"
    HIGH = "high"


class FailureAlert(BaseModel):
    """The payload ``failure-alerter`` sends: enough to triage without the source message."""

    model_config = ConfigDict(frozen=True)

    alert_type: Literal["download_failure"] = "download_failure"
    severity: Severity
    trace_id: str
    assignment_id: str
    error_message: str | None
    retry_count: int
    http_status: int | None

    @classmethod
    def for_result(cls, message: DownloadResultMessage) -> FailureAlert:
        """The alert for ``message``: ``high`` from 5 retries on, else ``medium``."""
        high = message.retry_count >= HIGH_SEVERITY_RETRIES
        return cls(
            severity=Severity.HIGH if high else Severity.MEDIUM,
            trace_id=message.trace_id,
            assignment_id=message.assignment_id,
            error_message=message.error_message,
            retry_count=message.retry_count,
            http_status=message.http_status,
        )


class FailureAlerterPlugin(XactRoutingPlugin):
    """Sends a :class:`FailureAlert` for ``failed_permanent`` results with ``retry_count >= min_retries``.

    Severity is ``high`` from 5 retries on, else ``medium``. Results still
    being retried (``failed``) never alert: they may yet succeed.
    """

    name = "failure-alerter"

    class Config(BaseModel):
        model_config = ConfigDict(frozen=True)

        #: Where alerts are sent.
        topic: Topic = "xact.alerts.failures"
        #: Permanent failures with fewer retries than this are not alerted on.
        min_retries: int = Field(default=3, ge=0)

    config: Config

    def should_route(self, message: DownloadResultMessage) -> bool:
        return message.status == "failed_permanent" and message.retry_count >= self.config.min_retries

    async def route(self, message: DownloadResultMessage) -> None:
        self.send_to_topic(self.config.topic, FailureAlert.for_result(message))
