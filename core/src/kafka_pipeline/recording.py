"""A sender that records instead of producing: for dry runs and plugin tests."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from kafka_pipeline.envelope import Headers, current_source, encode_key, encode_payload, routed_headers

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
        source = current_source.get(None)
        self.records.append(
            SentRecord(
                topic=topic,
                key=encode_key(key, source),
                value=encode_payload(payload, source),
                headers=routed_headers(plugin, source, headers),
                plugin=plugin,
            )
        )

    def take(self) -> list[SentRecord]:
        taken, self.records = self.records, []
        return taken
