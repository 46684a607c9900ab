"""Finding installed domains and routing plugins through entry points.

Nothing a plugin package does can stop discovery: an import error, a wrong
object, an unknown domain or a core version outside the range the package
requires is recorded on its :class:`PluginRecord` and the plugin skipped.
Plugins that are disabled or not allowed are never imported. Of one name
provided by two distributions, the first on ``sys.path`` is used and the
other recorded as shadowed; two in the same directory are a conflict, and
neither is used.
"""

from __future__ import annotations

import enum
import importlib.metadata as md
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, NamedTuple

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from kafka_pipeline._domain import Domain
from kafka_pipeline._errors import KafkaPipelineError
from kafka_pipeline._plugin import RoutingPlugin
from kafka_pipeline._registry import validate_plugin_class

ROUTING_GROUP: Final = "kafka_pipeline.routing"
DOMAINS_GROUP: Final = "kafka_pipeline.domains"
CORE_DISTRIBUTION: Final = "kafka-pipeline-core"
ENV_LOAD_PLUGINS: Final = "KAFKA_PIPELINE_LOAD_PLUGINS"
ENV_STRICT_PLUGINS: Final = "KAFKA_PIPELINE_STRICT_PLUGINS"


class LoadStatus(enum.StrEnum):
    """What became of an installed plugin (or domain) under a configuration."""

    #: Imported and valid; it runs.
    LOADED = "loaded"
    #: Its package failed to import, or its class, constructor or hooks are invalid.
    FAILED = "failed"
    #: Built for a core version range that excludes the installed core.
    INCOMPATIBLE = "incompatible"
    #: Its ``config`` section does not fit its ``Config`` model.
    INVALID_CONFIG = "invalid-config"
    #: ``enabled: false`` in the configuration.
    DISABLED = "disabled"
    #: Not in the ``load`` allow-list (or ``KAFKA_PIPELINE_LOAD_PLUGINS``).
    NOT_ALLOWED = "not_allowed"


@dataclass(frozen=True)
class Shadowed:
    """A same-named entry point of another distribution, hidden by the one discovery kept."""

    distribution: str | None
    version: str | None
    entry_point: str
    #: The ``sys.path`` entry (site directory) it is installed in.
    location: str | None

    def __str__(self) -> str:
        return f"{self.distribution or '?'} {self.version or '?'}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "distribution": self.distribution,
            "version": self.version,
            "entry_point": self.entry_point,
            "location": self.location,
        }


@dataclass
class DomainRecord:
    """One entry of the ``kafka_pipeline.domains`` group and what became of it."""

    name: str
    entry_point: str
    distribution: str | None
    version: str | None
    status: LoadStatus
    error: str | None = None
    domain: Domain[Any] | None = None
    #: How long importing the entry point took; shared modules count where first imported.
    import_seconds: float | None = None
    #: Same-named entry points of other distributions, later on ``sys.path``: never loaded.
    shadows: list[Shadowed] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        d = self.domain
        return {
            "name": self.name,
            "entry_point": self.entry_point,
            "distribution": self.distribution,
            "version": self.version,
            "status": str(self.status),
            "error": self.error,
            "model": f"{d.model.__module__}.{d.model.__qualname__}" if d else None,
            "source_topic": d.source_topic if d else None,
            "dlq_topic": d.default_dlq_topic if d else None,
            "tables": dict(d.tables) if d else None,
            "import_seconds": _rounded(self.import_seconds),
            "shadows": [s.as_dict() for s in self.shadows],
        }


@dataclass
class PluginRecord:
    """One entry of the ``kafka_pipeline.routing`` group and what became of it."""

    name: str
    entry_point: str
    distribution: str | None
    version: str | None
    status: LoadStatus
    error: str | None = None
    plugin_class: type[RoutingPlugin[Any]] | None = None
    domains: tuple[str, ...] = ()
    enabled: bool = True
    priority: int = 0
    requires_core: str | None = None
    problems: list[str] = field(default_factory=list)
    #: How long importing the entry point took; None when it was not imported (disabled, not allowed).
    import_seconds: float | None = None
    #: Same-named entry points of other distributions, later on ``sys.path``: never loaded.
    shadows: list[Shadowed] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        return self.status is LoadStatus.LOADED

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "entry_point": self.entry_point,
            "distribution": self.distribution,
            "version": self.version,
            "domains": list(self.domains),
            "enabled": self.enabled,
            "priority": self.priority,
            "status": str(self.status),
            "error": self.error,
            "requires_core": self.requires_core,
            "import_seconds": _rounded(self.import_seconds),
            "shadows": [s.as_dict() for s in self.shadows],
        }


def _rounded(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 6)


def core_version() -> str:
    """The installed kafka-pipeline-core's version; ``0.0.0`` when run from a source tree."""
    try:
        return md.version(CORE_DISTRIBUTION)
    except md.PackageNotFoundError:  # pragma: no cover - a source tree without install
        return "0.0.0"


def _dist_of(ep: md.EntryPoint) -> tuple[str | None, str | None, md.Distribution | None]:
    dist = ep.dist
    if dist is None:
        return None, None, None
    return dist.metadata["Name"], dist.version, dist


def _core_requirement(dist: md.Distribution | None) -> Requirement | None:
    for line in (dist.requires or []) if dist is not None else []:
        try:
            req = Requirement(line)
        except InvalidRequirement:
            continue
        if canonicalize_name(req.name) == CORE_DISTRIBUTION and (
            req.marker is None or req.marker.evaluate({"extra": ""})
        ):
            return req
    return None


def core_incompatibility(requirement: Requirement | None, installed: str | None = None) -> str | None:
    """Why the installed core does not fit ``requirement``, or None when it does."""
    if requirement is None or not str(requirement.specifier):
        return None
    installed = installed or core_version()
    try:
        ok = requirement.specifier.contains(Version(installed), prereleases=True)
    except InvalidVersion:
        return None
    if ok:
        return None
    return (
        f"requires {CORE_DISTRIBUTION}{requirement.specifier} but {installed} is installed; "
        f"install a release of the plugin built for core {installed}, or a matching core"
    )


def allowed_plugins(config_load: Iterable[str] | None) -> frozenset[str] | None:
    """The allow-list: ``KAFKA_PIPELINE_LOAD_PLUGINS`` wins over config ``load``.

    Unset means every plugin, empty means none, a comma list means only those.
    """
    env = os.environ.get(ENV_LOAD_PLUGINS)
    if env is not None:
        return frozenset(n.strip() for n in env.split(",") if n.strip())
    return None if config_load is None else frozenset(config_load)


class _Found(NamedTuple):
    """An entry point discovery keeps, and why it may not be used as is."""

    entry_point: md.EntryPoint
    #: Same-named entry points of distributions later on ``sys.path``: a warning.
    shadows: list[Shadowed]
    #: Why it cannot be used: another distribution in the same directory provides the name too.
    conflict: str | None


def _entry_points(group: str) -> list[_Found]:
    """The group's entry points by name; of one name from several distributions, the first on sys.path.

    Within one directory there is no "first": which one Python finds first is
    the file system's order. Such a name is a conflict, and neither is used.
    """
    named: dict[str, list[md.EntryPoint]] = {}
    for ep in md.entry_points(group=group):
        named.setdefault(ep.name, []).append(ep)
    return [_choose(eps) for _, eps in sorted(named.items())]


def _choose(eps: list[md.EntryPoint]) -> _Found:
    first, *others = eps
    if not others:  # the usual case: no file system look-up
        return _Found(first, [], None)
    where = _location(first)
    same = [ep for ep in others if where is not None and _location(ep) == where]
    if same:
        names = ", ".join(" ".join(filter(None, _dist_of(ep)[:2])) or ep.value for ep in (first, *same))
        return _Found(
            first,
            [],
            f"two installed distributions provide {first.name!r}: {names} (both in {where}), "
            "and which one Python finds first is up to the file system; uninstall one",
        )
    return _Found(first, [_shadowed(ep) for ep in others], None)


def _location(ep: md.EntryPoint) -> str | None:
    """The sys.path entry ``ep``'s distribution is installed in."""
    if ep.dist is None:
        return None
    try:
        return str(Path(str(ep.dist.locate_file(""))).resolve())
    except (OSError, NotImplementedError):
        return None


def _shadowed(ep: md.EntryPoint) -> Shadowed:
    dist_name, version, _ = _dist_of(ep)
    return Shadowed(dist_name, version, ep.value, _location(ep))


def _load(ep: md.EntryPoint) -> tuple[Any, str | None, float]:
    """Import ``ep``: its object, why it failed (never raised: one package cannot stop discovery), seconds."""
    started = time.perf_counter()
    try:
        obj = ep.load()
    except Exception as exc:
        return None, f"import failed: {type(exc).__name__}: {exc}", time.perf_counter() - started
    return obj, None, time.perf_counter() - started


def discover_domains() -> list[DomainRecord]:
    """Import every ``kafka_pipeline.domains`` entry point."""
    records = []
    for ep, shadows, conflict in _entry_points(DOMAINS_GROUP):
        dist_name, version, _ = _dist_of(ep)
        rec = DomainRecord(ep.name, ep.value, dist_name, version, LoadStatus.LOADED, shadows=shadows)
        records.append(rec)
        if conflict is not None:
            rec.status, rec.error = LoadStatus.FAILED, conflict
            continue
        obj, failure, rec.import_seconds = _load(ep)
        if failure is not None:
            rec.status, rec.error = LoadStatus.FAILED, failure
        elif not isinstance(obj, Domain):
            rec.status = LoadStatus.FAILED
            rec.error = f"{ep.value} is {type(obj).__name__}, not a kafka_pipeline.Domain"
        elif obj.name != ep.name:
            rec.status = LoadStatus.FAILED
            rec.error = f"entry point is named {ep.name!r} but the Domain is named {obj.name!r}"
        else:
            rec.domain = obj
    return records


def plugin_domains(cls: type[RoutingPlugin[Any]], domains: Mapping[str, Domain[Any]]) -> tuple[str, ...]:
    """The domains ``cls`` attaches to; raises when it names an unknown one or none."""
    named = (cls.domain,) if cls.domain else tuple(cls.domains)
    if named:
        unknown = [d for d in named if d not in domains]
        if unknown:
            raise KafkaPipelineError(
                f"names unknown domain {', '.join(map(repr, unknown))} "
                f"(installed: {', '.join(sorted(domains)) or 'none'}); install that domain's package"
            )
        return named
    if cls.requires:
        return tuple(
            name for name, dom in sorted(domains.items()) if all(dom.satisfies(p) for p in cls.requires)
        )
    raise KafkaPipelineError(f"{cls.__qualname__} declares no 'domain', 'domains' or 'requires'")


def discover_plugins(
    domains: Mapping[str, Domain[Any]],
    *,
    allowed: frozenset[str] | None = None,
    disabled: Iterable[str] = (),
    priorities: Mapping[str, int | None] | None = None,
) -> list[PluginRecord]:
    """Import every allowed, enabled ``kafka_pipeline.routing`` entry point and vet it."""
    disabled = set(disabled)
    priorities = priorities or {}
    records = []
    for ep, shadows, conflict in _entry_points(ROUTING_GROUP):
        dist_name, version, dist = _dist_of(ep)
        req = _core_requirement(dist)
        rec = PluginRecord(
            ep.name,
            ep.value,
            dist_name,
            version,
            LoadStatus.LOADED,
            requires_core=str(req.specifier) if req is not None and req.specifier else None,
            shadows=shadows,
        )
        records.append(rec)
        if allowed is not None and ep.name not in allowed:
            rec.status, rec.enabled = LoadStatus.NOT_ALLOWED, False
            continue
        if ep.name in disabled:
            rec.status, rec.enabled = LoadStatus.DISABLED, False
            continue
        if conflict is not None:
            rec.status, rec.error = LoadStatus.FAILED, conflict
            continue
        reason = core_incompatibility(req)
        if reason is not None:
            rec.status, rec.error = LoadStatus.INCOMPATIBLE, reason
            continue
        obj, failure, rec.import_seconds = _load(ep)
        if failure is not None:
            rec.status, rec.error = LoadStatus.FAILED, failure
            continue
        try:
            cls = validate_plugin_class(obj, entry_point=ep.name)
            if cls.name != ep.name:
                raise KafkaPipelineError(
                    f"entry point is named {ep.name!r} but {cls.__qualname__}.name is {cls.name!r}; "
                    "they must match"
                )
            rec.domains = plugin_domains(cls, domains)
        except KafkaPipelineError as exc:
            rec.status, rec.error = LoadStatus.FAILED, str(exc)
            continue
        rec.plugin_class = cls
        explicit = priorities.get(ep.name)
        rec.priority = cls.default_priority if explicit is None else explicit
    return records
