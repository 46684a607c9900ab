# Verbatim from the design document below the imports; see ruff.toml and mypy.ini for why it is exempt.
from kafka_pipeline_xact import XactRoutingPlugin
from kafka_pipeline_xact.schema import DownloadResultMessage


class FailureAlerterPlugin(XactRoutingPlugin):
    """Route high-retry permanent failures to alerting system."""

    name = "failure-alerter"

    def __init__(self, config: dict | None = None):
        super().__init__(config)
        self.target_topic = self.config.get("topic", "xact.alerts.failures")
        self.min_retries = self.config.get("min_retries", 3)

    def should_route(self, result: DownloadResultMessage) -> bool:
        return (
            result.status == "failed_permanent"
            and result.retry_count >= self.min_retries
        )

    async def route(self, result: DownloadResultMessage) -> None:
        alert_payload = {
            "alert_type": "download_failure",
            "severity": "high" if result.retry_count >= 5 else "medium",
            "trace_id": result.trace_id,
            "assignment_id": result.assignment_id,
            "error_message": result.error_message,
            "retry_count": result.retry_count,
            "http_status": result.http_status,
        }
        await self.send_to_topic(self.target_topic, alert_payload, result.trace_id)
