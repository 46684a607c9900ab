"""Small stand-in domains for the cross-domain plugin specifications.

They are deliberately not XACT or ClaimX: this package must work for any
``Routable`` domain, and it depends on core only. One model has the fields
directly, one derives them, one is not ``Routable`` at all. ``Route`` types
the ``route`` fixture of ``conftest.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, Protocol

from pydantic import BaseModel, computed_field

from kafka_pipeline import Domain, RoutingPlugin
from kafka_pipeline.testing import SentRecord

__all__ = ["HEARTBEATS", "INVOICES", "PARCELS", "Heartbeat", "Invoice", "Parcel", "Route"]


class Parcel(BaseModel):
    trace_id: str
    status: Literal["completed", "failed", "failed_permanent"]
    carrier: str = "dhl"


class Invoice(BaseModel):
    invoice_id: str
    paid: bool
    will_retry: bool = False

    @computed_field  # type: ignore[prop-decorator]
    @property
    def trace_id(self) -> str:
        return self.invoice_id

    @computed_field  # type: ignore[prop-decorator]
    @property
    def status(self) -> str:
        if self.paid:
            return "completed"
        return "failed" if self.will_retry else "failed_permanent"


class Heartbeat(BaseModel):
    host: str


PARCELS: Domain[Parcel] = Domain(name="parcels", model=Parcel, source_topic="parcels.results")
INVOICES: Domain[Invoice] = Domain(name="invoices", model=Invoice, source_topic="invoices.results")
HEARTBEATS: Domain[Heartbeat] = Domain(name="heartbeats", model=Heartbeat, source_topic="heartbeats")


class Route(Protocol):
    """The ``route`` fixture (``conftest.py``): what one plugin sends for one message of ``domain``.

    ``config`` is the plugin's own settings; without it the plugin runs on its defaults.
    """

    async def __call__(
        self,
        domain: Domain[Any],
        plugin: type[RoutingPlugin[Any]],
        message: str,
        config: Mapping[str, Any] | None = None,
    ) -> list[SentRecord]: ...
