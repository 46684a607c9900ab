"""Structural message types that cross-domain plugins are written against."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class Routable(Protocol):
    """A result with a trace id and a status.

    ``status`` is one of ``completed``, ``failed`` (will be retried upstream)
    or ``failed_permanent``.
    """

    @property
    def trace_id(self) -> str: ...

    @property
    def status(self) -> str: ...


_PROTOCOL_NOISE = frozenset(
    {
        "__module__",
        "__qualname__",
        "__doc__",
        "__dict__",
        "__weakref__",
        "__annotations__",
        "__init__",
        "__abstractmethods__",
        "__parameters__",
        "__orig_bases__",
        "__protocol_attrs__",
        "__non_callable_proto_members__",
        "__subclasshook__",
        "__class_getitem__",
        "__slots__",
        "__type_params__",
        "__static_attributes__",
        "__firstlineno__",
        "__annotate_func__",
        "__annotations_cache__",
        "_is_protocol",
        "_is_runtime_protocol",
        "__callable_proto_members_only__",
        "__annotate__",
    }
)


def protocol_members(protocol: type) -> frozenset[str]:
    """The attribute names a class must have to satisfy ``protocol``."""
    names: set[str] = set()
    for base in protocol.__mro__:
        if base.__name__ in {"Protocol", "Generic", "object"}:
            continue
        names.update(getattr(base, "__annotations__", {}))
        names.update(n for n in vars(base) if n not in _PROTOCOL_NOISE and not n.startswith("_abc_"))
    return frozenset(names)


def satisfies(model: type, protocol: type) -> bool:
    """Whether instances of ``model`` (a class, not an instance) satisfy ``protocol``.

    ``issubclass`` refuses protocols with data members, so this checks names:
    a pydantic field, a property or any class attribute counts.
    """
    fields: dict[str, object] = getattr(model, "model_fields", {})
    return all(name in fields or hasattr(model, name) for name in protocol_members(protocol))
