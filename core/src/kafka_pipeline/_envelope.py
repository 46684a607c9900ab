"""The source record a message came from, and how routed payloads are encoded.

The worker and the dry-run senders share these so that a routed message looks
the same whichever path produced it.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Final

import pydantic_core
from pydantic import BaseModel

__all__ = [
    "HEADER_ROUTED_BY",
    "HEADER_SOURCE_OFFSET",
    "HEADER_SOURCE_PARTITION",
    "HEADER_SOURCE_TOPIC",
    "HEADER_TRACE_ID",
    "Headers",
    "SourceRecord",
    "current_source",
    "encode_key",
    "encode_payload",
    "encode_routed",
    "routed_headers",
]

HEADER_ROUTED_BY: Final = "x-routed-by"
HEADER_SOURCE_TOPIC: Final = "x-source-topic"
HEADER_SOURCE_PARTITION: Final = "x-source-partition"
HEADER_SOURCE_OFFSET: Final = "x-source-offset"
HEADER_TRACE_ID: Final = "x-trace-id"

Headers = list[tuple[str, bytes]]


@dataclass(slots=True)
class SourceRecord:
    """Where the message being routed came from."""

    topic: str
    partition: int
    offset: int
    value: bytes
    message: object
    trace_id: str
    key: bytes | None = None


current_source: Final[ContextVar[SourceRecord]] = ContextVar("kafka_pipeline_source")


def encode_payload(payload: object, source: SourceRecord | None) -> bytes:
    """Serialize a routed payload to JSON bytes.

    Routing the very message being processed forwards its original bytes
    unchanged: no re-serialization on the hot path, and byte-identical output.
    """
    if source is not None and payload is source.message:
        return source.value
    if isinstance(payload, bytes):
        return payload
    if isinstance(payload, BaseModel):
        return payload.__pydantic_serializer__.to_json(payload)
    if isinstance(payload, str):
        return payload.encode()
    return pydantic_core.to_json(payload)


def encode_key(key: str | bytes | None, source: SourceRecord | None) -> bytes | None:
    """The routed record's key: the plugin's, else the source message's trace id."""
    if key is None:
        return source.trace_id.encode() if source is not None else None
    return key if isinstance(key, bytes) else key.encode()


def routed_headers(
    plugin: str, source: SourceRecord | None, extra: Mapping[str, str | bytes] | None
) -> Headers:
    """Provenance headers naming the plugin and source record, then the plugin's own."""
    headers: Headers = [(HEADER_ROUTED_BY, plugin.encode())]
    if source is not None:
        headers += [
            (HEADER_SOURCE_TOPIC, source.topic.encode()),
            (HEADER_SOURCE_PARTITION, str(source.partition).encode()),
            (HEADER_SOURCE_OFFSET, str(source.offset).encode()),
            (HEADER_TRACE_ID, source.trace_id.encode()),
        ]
    if extra:
        headers += [(k, v if isinstance(v, bytes) else v.encode()) for k, v in extra.items()]
    return headers


def encode_routed(
    plugin: str, payload: object, key: str | bytes | None, headers: Mapping[str, str | bytes] | None
) -> tuple[bytes | None, bytes, Headers]:
    """Key, value and headers of a record ``plugin`` sends while the current source is routed.

    The one encoding of ``send_to_topic``'s arguments, shared by the worker's
    producer and the dry-run recorder so that both produce the same bytes.
    """
    source = current_source.get(None)
    return encode_key(key, source), encode_payload(payload, source), routed_headers(plugin, source, headers)
