"""What a plugin can read from a domain's messages: each field of its model, described.

``kafka-pipeline domains`` and the generated ``docs/message-fields.md`` are
built from :func:`describe_domain`, which reads only the pydantic model and
the ``Domain``: field names (dotted into nested models), types, whether a
field is required, its default, ``Field(description=..., examples=...)``,
and the derived (computed) fields. How the trace id and the status are
derived is the first paragraph of the docstring of the domain's
``trace_id`` and ``status`` callables.
"""

from __future__ import annotations

import datetime as dt
import enum
import inspect
import json
import types
import typing
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from pydantic import BaseModel
from pydantic.fields import ComputedFieldInfo, FieldInfo
from pydantic_core import PydanticUndefined

from kafka_pipeline._domain import Domain

#: Field types shown by their plain name rather than their module path.
_PLAIN_NAMES: Final = {dt.datetime: "datetime", dt.date: "date", dt.time: "time", dt.timedelta: "timedelta"}


@dataclass(frozen=True)
class MessageField:
    """One field a plugin can read, as ``message.<name>``."""

    #: Dotted into nested models: ``event.event_type``.
    name: str
    #: As a plugin author writes it: ``int | None``, ``"completed" | "failed"``, ``ErrorCategory``.
    type: str
    #: What validation holds it to beyond its type: ``>= 0``, ``min length 1``.
    constraints: tuple[str, ...] = ()
    #: Validation fails without it (inside its parent, for a nested field).
    required: bool = True
    #: Derived from other fields (a pydantic ``computed_field``), never read from the input.
    computed: bool = False
    #: The JSON text of the default of an optional field, or None.
    default: str | None = None
    description: str = ""
    #: The values an enum field (or a literal one) can take.
    values: tuple[str, ...] = ()
    #: Example values, from ``Field(examples=[...])``.
    examples: tuple[str, ...] = ()

    @property
    def presence(self) -> str:
        """``required``, ``optional``, ``optional, default 0`` or ``computed``."""
        if self.computed:
            return "computed"
        if self.required:
            return "required"
        return "optional" if self.default is None else f"optional, default {self.default}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "constraints": list(self.constraints),
            "required": self.required,
            "computed": self.computed,
            "default": self.default,
            "description": self.description,
            "values": list(self.values),
            "examples": list(self.examples),
        }


@dataclass(frozen=True)
class DomainReference:
    """A domain as a plugin author needs to know it: topics, tables, derived values and fields."""

    name: str
    description: str
    #: ``module.QualifiedName`` of the message model.
    model: str
    #: The model's docstring, first paragraph.
    model_description: str
    source_topic: str
    dlq_topic: str
    tables: dict[str, str]
    #: How the trace id is derived (the default key of routed records).
    trace_id: str
    #: How the status is derived (which picks the Delta table).
    status: str
    fields: list[MessageField] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "description": self.description,
            "model": self.model,
            "model_description": self.model_description,
            "source_topic": self.source_topic,
            "dlq_topic": self.dlq_topic,
            "tables": dict(self.tables),
            "derived": {"trace_id": self.trace_id, "status": self.status},
            "fields": [f.as_dict() for f in self.fields],
        }


def describe_domain(domain: Domain[Any]) -> DomainReference:
    """The reference of ``domain``: everything comes from the Domain object and its model."""
    model = domain.model
    return DomainReference(
        name=domain.name,
        description=domain.description,
        model=f"{model.__module__}.{model.__qualname__}",
        model_description=_first_paragraph(inspect.getdoc(model)),
        source_topic=domain.source_topic,
        dlq_topic=domain.default_dlq_topic,
        tables=dict(domain.tables),
        trace_id=describe_callable(domain.trace_id),
        status=describe_callable(domain.status),
        fields=list(message_fields(model)),
    )


def describe_callable(function: Callable[..., Any]) -> str:
    """The first paragraph of ``function``'s docstring, else where to read its code."""
    doc = _first_paragraph(inspect.getdoc(function))
    if doc:
        return doc
    module = getattr(function, "__module__", None) or "?"
    name = getattr(function, "__qualname__", None) or type(function).__qualname__
    return f"computed by {module}.{name} (no docstring)"


def message_fields(model: type[BaseModel], prefix: str = "") -> Iterator[MessageField]:
    """Every field of ``model`` in declaration order, each nested model's right after it, computed last."""
    yield from _walk(model, prefix, (model,))


def _walk(model: type[BaseModel], prefix: str, seen: tuple[type[BaseModel], ...]) -> Iterator[MessageField]:
    for name, info in model.model_fields.items():
        path = prefix + name
        yield _field(path, info)
        nested = _nested_model(info.annotation)
        if nested is not None and nested not in seen:  # a model that contains itself is listed once
            yield from _walk(nested, f"{path}.", (*seen, nested))
    for name, computed in model.model_computed_fields.items():
        yield _computed(prefix + name, computed)


def _field(path: str, info: FieldInfo) -> MessageField:
    required = info.is_required()
    return MessageField(
        name=path,
        type=_type_text(info.annotation),
        constraints=_constraints(info.metadata),
        required=required,
        default=None if required else _default_text(info),
        description=_text(info.description),
        values=_values(info.annotation),
        examples=tuple(_json(e) for e in info.examples or ()),
    )


def _computed(path: str, info: ComputedFieldInfo) -> MessageField:
    return MessageField(
        name=path,
        type=_type_text(info.return_type),
        required=False,
        computed=True,
        # pydantic takes the property's docstring when no description is given.
        description=_text(info.description),
        values=_values(info.return_type),
        examples=tuple(_json(e) for e in info.examples or ()),
    )


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    """The model a field holds directly or optionally (``Event``, ``Event | None``), else None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if _is_union(annotation):
        models = [m for a in typing.get_args(annotation) if (m := _nested_model(a)) is not None]
        others = [a for a in typing.get_args(annotation) if a is not type(None) and _nested_model(a) is None]
        if len(models) == 1 and not others:
            return models[0]
    return None


def _is_union(annotation: Any) -> bool:
    return typing.get_origin(annotation) in (typing.Union, types.UnionType)


def _type_text(annotation: Any) -> str:
    """``annotation`` as a plugin author would write it in a comparison's type hint."""
    if annotation is None or annotation is type(None):
        return "None"
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return _type_text(args[0])
    if origin is typing.Literal:
        return " | ".join(_json(a) for a in args)
    if _is_union(annotation):
        # None last, as people write it: ``int | None``.
        ordered = sorted(args, key=lambda a: a is type(None))
        return " | ".join(_type_text(a) for a in ordered)
    if origin is not None:
        name = getattr(origin, "__name__", str(origin))
        return f"{name}[{', '.join(_type_text(a) for a in args)}]"
    if isinstance(annotation, type):
        return _PLAIN_NAMES.get(annotation, annotation.__name__)
    return str(annotation).replace("typing.", "")


def _values(annotation: Any) -> tuple[str, ...]:
    """The values of an enum or literal field (``X | None`` included), else none."""
    args = typing.get_args(annotation) if _is_union(annotation) else (annotation,)
    inner = [a for a in args if a is not type(None)]
    if len(inner) != 1:
        return ()
    (only,) = inner
    if typing.get_origin(only) is typing.Literal:
        return tuple(_json(v) for v in typing.get_args(only))
    if isinstance(only, type) and issubclass(only, enum.Enum):
        return tuple(_json(m.value) for m in only)
    return ()


#: Constraint attributes of pydantic's field metadata (annotated-types' ``Ge`` has ``ge``), as shown.
_CONSTRAINTS: Final = (
    ("gt", "> {}"),
    ("ge", ">= {}"),
    ("lt", "< {}"),
    ("le", "<= {}"),
    ("multiple_of", "multiple of {}"),
    ("min_length", "min length {}"),
    ("max_length", "max length {}"),
    ("pattern", "matches {}"),
)


def _constraints(metadata: Sequence[Any]) -> tuple[str, ...]:
    """What a field is validated against beyond its type: ``>= 0``, ``min length 1``."""
    return tuple(
        template.format(value)
        for item in metadata
        for attribute, template in _CONSTRAINTS
        if (value := getattr(item, attribute, None)) is not None
    )


def _default_text(info: FieldInfo) -> str | None:
    if info.default_factory is not None:
        # Not called: a factory may make a new value each time (a timestamp, an id).
        return f"made by {getattr(info.default_factory, '__name__', 'a factory')}()"
    if info.default is PydanticUndefined or info.default is None:
        return None
    return _json(info.default)


def _json(value: Any) -> str:
    if isinstance(value, enum.Enum):
        value = value.value
    return json.dumps(value, default=str)


def _text(description: str | None) -> str:
    """One line; reStructuredText's double backquotes become Markdown's single ones."""
    return " ".join((description or "").split()).replace("``", "`")


def _first_paragraph(doc: str | None) -> str:
    return _text((doc or "").strip().split("\n\n")[0])
