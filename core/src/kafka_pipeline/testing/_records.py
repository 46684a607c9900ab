"""``SentRecord``: a record a plugin sent, as a test sees it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from kafka_pipeline._envelope import Headers
from kafka_pipeline._outbox import OutgoingRecord


@dataclass(frozen=True, slots=True)
class SentRecord:
    """One record a plugin would have produced, exactly as the worker would produce it.

    ``key`` and ``value`` are the bytes that would go to Kafka, ``headers``
    the ``(name, bytes)`` pairs in order (the ``x-routed-by`` and
    ``x-source-*`` provenance first); :attr:`text`, :meth:`json` and
    :meth:`header` read them back.
    """

    topic: str
    key: bytes | None
    value: bytes
    headers: Headers
    plugin: str

    @classmethod
    def of(cls, record: OutgoingRecord) -> SentRecord:
        assert record.plugin is not None, "a DLQ record is not a sent record"
        return cls(record.topic, record.key, record.value or b"", record.headers, record.plugin)

    @property
    def text(self) -> str:
        """The value decoded as UTF-8."""
        return self.value.decode()

    @property
    def key_text(self) -> str | None:
        """The key decoded as UTF-8, or None for a record without a key."""
        return None if self.key is None else self.key.decode()

    def json(self) -> Any:
        """The value parsed as JSON."""
        return json.loads(self.value)

    def header(self, name: str) -> bytes | None:
        """The value of the first header called ``name`` (bytes, like ``key`` and ``value``), or None."""
        for key, value in self.headers:
            if key == name:
                return value
        return None
