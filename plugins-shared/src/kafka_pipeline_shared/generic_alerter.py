"""``generic-alerter``: an alert on ``alerts.<domain>`` for every result given up on, in any domain."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from kafka_pipeline import KafkaPipelineError, Routable, RoutingPlugin

__all__ = ["GenericAlert", "GenericAlerterPlugin"]

RoutableStatus = Literal["completed", "failed", "failed_permanent"]


class GenericAlert(BaseModel):
    """The payload ``generic-alerter`` sends: which result, of which domain, read from where.

    The source coordinates are None when the result was not read from Kafka
    (a dry run given bare messages).
    """

    model_config = ConfigDict(frozen=True)

    domain: str
    trace_id: str
    status: str
    source_topic: str | None
    source_partition: int | None
    source_offset: int | None


class GenericAlerterPlugin(RoutingPlugin[Routable]):
    """Alerts on ``<topic_prefix><domain>`` for each result whose status is in ``statuses``.

    It declares no domain, only that messages be :class:`~kafka_pipeline.Routable`,
    so it attaches to every installed domain whose model is; a domain added
    later gets alerts without a change here.
    """

    name = "generic-alerter"
    requires: ClassVar[tuple[type, ...]] = (Routable,)

    class Config(BaseModel):
        model_config = ConfigDict(frozen=True)

        #: Results with one of these statuses raise an alert.
        statuses: tuple[RoutableStatus, ...] = Field(default=("failed_permanent",), min_length=1)
        #: Alerts go to this prefix followed by the domain name.
        topic_prefix: str = Field(default="alerts.", pattern=r"^[A-Za-z0-9._-]*$")

    config: Config

    def _served_domain(self) -> str:
        if self.domain_name is None:
            raise KafkaPipelineError(
                f"plugin {self.name!r} serves no domain yet, so it has no alert topic; "
                "register it with a PluginRegistry (the worker and RoutingHarness do)"
            )
        return self.domain_name

    def should_route(self, message: Routable) -> bool:
        return message.status in self.config.statuses

    async def route(self, message: Routable) -> None:
        domain = self._served_domain()
        source = self.source_of(message)
        alert = GenericAlert(
            domain=domain,
            trace_id=self.get_trace_id(message),
            status=message.status,
            source_topic=source.topic if source is not None else None,
            source_partition=source.partition if source is not None else None,
            source_offset=source.offset if source is not None else None,
        )
        self.send_to_topic(f"{self.config.topic_prefix}{domain}", alert)
