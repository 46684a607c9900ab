"""A sender that records instead of producing: for dry runs and plugin tests."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from kafka_pipeline._envelope import Headers, encode_routed

__all__ = ["RecordingSender", "SentRecord"]


@dataclass(frozen=True, slots=True)
class SentRecord:
    """One record a plugin would have produced."""

    topic: str
    key: bytes | None
    value: bytes
    headers: Headers
    plugin: str

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k == name:
                return v.decode()
        return None


@dataclass
class RecordingSender:
    """Encodes exactly as the worker's producer does, then keeps the record."""

    records: list[SentRecord] = field(default_factory=list)

    def send(
        self,
        plugin: str,
        topic: str,
        payload: object,
        key: str | bytes | None,
        headers: Mapping[str, str | bytes] | None,
    ) -> None:
        key_bytes, value, record_headers = encode_routed(plugin, payload, key, headers)
        self.records.append(SentRecord(topic, key_bytes, value, record_headers, plugin))

    def take(self) -> list[SentRecord]:
        taken, self.records = self.records, []
        return taken
