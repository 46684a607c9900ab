"""``Domain``: what a family of result messages is and how it is stored."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from kafka_pipeline._protocols import satisfies

MessageT = TypeVar("MessageT", bound=BaseModel)


def _attr_trace_id(message: Any) -> str:
    """The message's ``trace_id`` field."""
    return str(message.trace_id)


def _attr_status(message: Any) -> str:
    """The message's ``status`` field."""
    return str(message.status)


@dataclass(frozen=True)
class Domain(Generic[MessageT]):
    """A message family, registered under the ``kafka_pipeline.domains`` entry-point group.

    ``tables`` maps a message's status to the Delta table its standard
    processing appends it to; a status that is not a key is stored nowhere.
    """

    name: str
    model: type[MessageT]
    source_topic: str
    tables: Mapping[str, str] = field(default_factory=dict)
    trace_id: Callable[[MessageT], str] = _attr_trace_id
    status: Callable[[MessageT], str] = _attr_status
    dlq_topic: str | None = None
    description: str = ""
    #: Makes one realistic raw message (a JSON-able dict) for ``demo`` and benchmarks.
    sample: Callable[[random.Random], dict[str, Any]] | None = None

    @property
    def default_dlq_topic(self) -> str:
        return self.dlq_topic or f"{self.source_topic}.dlq"

    def parse(self, raw: bytes | str) -> MessageT:
        """Validate one raw JSON value; raises ``pydantic.ValidationError``."""
        return self.model.model_validate_json(raw)

    def table_for(self, message: MessageT) -> str | None:
        """The Delta table ``message`` is appended to, or None."""
        return self.tables.get(self.status(message))

    def satisfies(self, protocol: type) -> bool:
        """Whether this domain's messages satisfy ``protocol`` (e.g. ``Routable``)."""
        return satisfies(self.model, protocol)
