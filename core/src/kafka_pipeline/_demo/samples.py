"""Sample results for one domain: what its producers would send, a few broken ones among them.

Every domain brings its own ``sample`` factory; this module only adds the
failures a real topic sees now and then, in forms that fit any domain: a
value cut off mid-way (not JSON), a value that lacks one of the model's
required fields (fails the schema), and an empty value. Each record is keyed
by its trace id, as the domain's producers key them.
"""

from __future__ import annotations

import enum
import json
import random
from collections import Counter
from dataclasses import dataclass
from typing import Any, Final

from pydantic import ValidationError

from kafka_pipeline._domain import Domain
from kafka_pipeline._errors import KafkaPipelineError

#: Below this many results per domain the demo produces valid ones only.
MIN_FOR_INVALID: Final = 10


class SampleError(KafkaPipelineError):
    """A domain's sample factory failed or made a message its own model rejects."""


class SampleKind(enum.StrEnum):
    """What a sample record is, and so where the worker should put it."""

    VALID = "valid"
    #: Cut off half-way: the worker parks it with ``x-dlq-reason: invalid_json``.
    NOT_JSON = "not_json"
    #: JSON without a required field: ``x-dlq-reason: schema``.
    SCHEMA = "schema"
    #: An empty value: ``x-dlq-reason: invalid_json``.
    EMPTY = "empty"


INVALID_KINDS: Final = (SampleKind.NOT_JSON, SampleKind.SCHEMA, SampleKind.EMPTY)


@dataclass(frozen=True, slots=True)
class SampleRecord:
    """One record to produce to the domain's source topic; an invalid one from a user's file has no key."""

    key: bytes | None
    value: bytes
    kind: SampleKind


def invalid_count(total: int) -> int:
    """How many of ``total`` results are broken on purpose: about 1%, at least one of each kind."""
    if total < MIN_FOR_INVALID:
        return 0
    return max(len(INVALID_KINDS), total // 100)


def sample_records(domain: Domain[Any], total: int, rng: random.Random) -> list[SampleRecord]:
    """``total`` records for ``domain``, :func:`invalid_count` of them invalid, at random positions.

    Raises :class:`SampleError` when the domain has no sample factory, or its
    factory raises or makes a message that the domain's model rejects.
    """
    broken = sorted(rng.sample(range(total), invalid_count(total)))
    # Cycling through the kinds gives each about a third of the broken ones.
    kind_at = {position: INVALID_KINDS[i % len(INVALID_KINDS)] for i, position in enumerate(broken)}
    records = []
    for position in range(total):
        value = _sample(domain, rng)
        key = _trace_id(domain, value).encode()
        kind = kind_at.get(position, SampleKind.VALID)
        if kind is not SampleKind.VALID:
            value = _break(domain, value, kind)
        records.append(SampleRecord(key, value, kind))
    return records


def kinds(records: list[SampleRecord]) -> Counter[str]:
    """How many records of each kind, by :class:`SampleKind` value."""
    return Counter(r.kind.value for r in records)


def _sample(domain: Domain[Any], rng: random.Random) -> bytes:
    if domain.sample is None:
        raise SampleError(f"domain {domain.name!r} has no sample factory (Domain.sample)")
    try:
        message = domain.sample(rng)
        return json.dumps(message, separators=(",", ":")).encode()
    except Exception as exc:
        raise SampleError(
            f"domain {domain.name!r}: its sample factory failed ({type(exc).__name__}: {exc}); "
            "fix Domain.sample in the package that provides the domain"
        ) from exc


def _trace_id(domain: Domain[Any], value: bytes) -> str:
    try:
        return domain.trace_id(domain.parse(value))
    except ValidationError as exc:
        raise SampleError(
            f"domain {domain.name!r}: its sample factory made a message that its own model "
            f"{domain.model.__name__} rejects ({exc.error_count()} errors, first: "
            f"{exc.errors()[0]['msg']}); fix Domain.sample in the package that provides the domain"
        ) from exc


def _break(domain: Domain[Any], value: bytes, kind: SampleKind) -> bytes:
    if kind is SampleKind.NOT_JSON:
        return value[: len(value) // 2]  # a proper prefix of a JSON object is never JSON
    if kind is SampleKind.EMPTY:
        return b""
    message: dict[str, Any] = json.loads(value)
    for name, field in domain.model.model_fields.items():
        key = field.alias or name
        if field.is_required() and key in message:
            del message[key]
            return json.dumps(message, separators=(",", ":")).encode()
    # A model without required fields takes any object; no model takes a list.
    return json.dumps([message]).encode()
