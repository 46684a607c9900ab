"""From configuration to ready registries: discovery, plugin config, strict mode."""

from __future__ import annotations

import difflib
import logging
import os
from dataclasses import dataclass
from typing import Any, Final, NamedTuple

from kafka_pipeline._config import PipelineConfig
from kafka_pipeline._discovery import (
    ENV_LOAD_PLUGINS,
    ENV_STRICT_PLUGINS,
    DomainRecord,
    LoadStatus,
    PluginRecord,
    allowed_plugins,
    discover_domains,
    discover_plugins,
)
from kafka_pipeline._domain import Domain
from kafka_pipeline._errors import ConfigError, KafkaPipelineError, PluginLoadError
from kafka_pipeline._registry import PluginRegistry

log = logging.getLogger("kafka_pipeline.loading")


class Topics(NamedTuple):
    """The topics a domain's worker reads and parks in, as a configuration sets them."""

    source: str
    dlq: str


def topics_of(config: PipelineConfig, domain: Domain[Any]) -> Topics:
    """``source_topic`` and ``dlq_topic`` from ``config``, else the domain's.

    The DLQ defaults to ``<source>.dlq``, of the configured source topic.
    """
    source = config.source_topic or domain.source_topic
    return Topics(source, config.dlq_topic or domain.dlq_topic or f"{source}.dlq")


def strict_mode(config: PipelineConfig) -> bool:
    return config.strict or os.environ.get(ENV_STRICT_PLUGINS, "").lower() in {"1", "true", "yes"}


@dataclass
class Installation:
    """Every installed domain and plugin, as discovered under one configuration.

    The one rule for what runs, used by every command and by reloads: a
    plugin that cannot run (its package fails to import or needs another
    core, its class or hooks are invalid, its ``config`` does not validate)
    is skipped and reported; a name under ``plugins:`` or ``load:`` that is
    no installed plugin is reported with a "did you mean"; in strict mode
    either stops the command instead.
    """

    config: PipelineConfig
    domain_records: list[DomainRecord]
    plugin_records: list[PluginRecord]

    @property
    def domains(self) -> dict[str, Domain[Any]]:
        return {r.name: r.domain for r in self.domain_records if r.domain is not None}

    def domain(self, name: str) -> Domain[Any]:
        try:
            return self.domains[name]
        except KeyError:
            known = ", ".join(sorted(self.domains)) or "none installed"
            raise KafkaPipelineError(
                f"unknown domain {name!r} (known: {known}); install the package that provides it"
            ) from None

    def problems(self, domain: str | None = None) -> list[str]:
        """One line per domain or plugin that cannot run; with ``domain``, those that may concern it.

        A plugin that failed before its domains were known (an import error,
        an incompatible core) concerns every domain.
        """
        return [
            f"{kind} {r.name!r} ({r.distribution or '?'} {r.version or '?'}): {r.error}"
            for kind, recs in (("domain", self.domain_records), ("plugin", self.plugin_records))
            for r in recs
            if r.status in BROKEN and (domain is None or _concerns(r, domain))
        ]

    def shadowing(self, domain: str | None = None) -> list[str]:
        """One line per entry point that hides a same-named one of another distribution (a warning)."""
        return [
            f"{kind} {r.name!r} ({r.distribution or '?'} {r.version or '?'}) shadows {r.name} from "
            f"{hidden} in {hidden.location or '?'}, which is never loaded; uninstall the one "
            "you do not mean to run"
            for kind, recs in (("domain", self.domain_records), ("plugin", self.plugin_records))
            for r in recs
            if domain is None or _concerns(r, domain, broken=False)
            for hidden in r.shadows
        ]

    def unknown_names(self) -> list[str]:
        """One line per name under ``plugins:``, ``load:`` or in the load variable that no plugin has."""
        installed = sorted(r.name for r in self.plugin_records)
        named = [(f"plugins.{name}", name) for name in self.config.plugins]
        named += [(f"load[{i}]", name) for i, name in enumerate(self.config.load or ())]
        env = os.environ.get(ENV_LOAD_PLUGINS)
        named += [(ENV_LOAD_PLUGINS, n.strip()) for n in (env or "").split(",") if n.strip()]
        return [
            f"{where}: {_no_such_plugin(name, installed)}" for where, name in named if name not in installed
        ]

    def registry(self, domain: str, *, raise_errors: bool | None = None) -> PluginRegistry[Any]:
        """A registry of ``domain``'s runnable plugins, each with its validated config.

        A plugin whose config, constructor or hooks fail is marked
        (``invalid-config`` or ``failed``), logged at ERROR and left out. In
        strict mode (or with ``raise_errors``) any problem that concerns
        ``domain``, unknown plugin names included, raises instead, all listed.
        """
        self.domain(domain)
        strict = strict_mode(self.config) if raise_errors is None else raise_errors
        registry = self._build(domain)
        unknown = self.unknown_names()
        if strict and (problems := self.problems(domain) + unknown):
            raise _strict_failure(problems)
        for line in unknown:  # a rule someone expects to run does not: as loud as a skipped plugin
            log.error("%s", line)
        return registry

    def vet(self) -> None:
        """Build every domain's registry, so each plugin's status is what a worker would act on."""
        for name in self.domains:
            self._build(name)

    def _build(self, domain: str) -> PluginRegistry[Any]:
        registry: PluginRegistry[Any] = PluginRegistry(
            domain, lifecycle_timeout=self.config.resilience.lifecycle_timeout_seconds
        )
        for rec in self.plugin_records:
            if not rec.usable or domain not in rec.domains or rec.plugin_class is None:
                continue
            settings = self.config.plugin(rec.name)
            try:
                plugin = rec.plugin_class(settings.config)
            except ConfigError as exc:
                self._skip(rec, LoadStatus.INVALID_CONFIG, str(exc))
                continue
            except Exception as exc:  # the plugin's own constructor
                self._skip(rec, LoadStatus.FAILED, f"its constructor raised {type(exc).__name__}: {exc}")
                continue
            try:
                registry.register(plugin, priority=rec.priority)
            except PluginLoadError as exc:
                self._skip(rec, LoadStatus.FAILED, str(exc))
        return registry

    @staticmethod
    def _skip(rec: PluginRecord, status: LoadStatus, error: str) -> None:
        rec.status, rec.error = status, error
        log.error("skipping plugin %s: %s", rec.name, error, extra={"plugin": rec.name})


BROKEN: Final = frozenset({LoadStatus.FAILED, LoadStatus.INCOMPATIBLE, LoadStatus.INVALID_CONFIG})


def _concerns(record: DomainRecord | PluginRecord, domain: str, *, broken: bool = True) -> bool:
    """Whether ``record`` may concern ``domain``: a plugin of it or of no known domain; a broken domain."""
    if isinstance(record, DomainRecord):
        return broken or record.name == domain
    return not record.domains or domain in record.domains


def _no_such_plugin(name: str, installed: list[str]) -> str:
    close = difflib.get_close_matches(name, installed, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"no installed plugin is named {name!r}{hint} (installed: {', '.join(installed) or 'none'})"


def _strict_failure(problems: list[str]) -> PluginLoadError:
    return PluginLoadError(
        "\n  ".join(["plugins cannot run (strict mode):", *problems])
        + "\nFix or uninstall them, disable them ('plugins: {name: {enabled: false}}'), correct the "
        "names, or leave strict mode off to run without them.",
        plugin="*",
    )


def discover(config: PipelineConfig | None = None, *, strict: bool | None = None) -> Installation:
    """Discover domains and plugins under ``config`` (defaults if None).

    In strict mode (``strict``, else the config's or the environment's) a
    plugin that cannot run (in any domain) or a name no plugin has is an
    error listing them all; ``strict=False`` always returns the installation
    so that diagnostics can list every problem.
    """
    config = config or PipelineConfig()
    strict = strict_mode(config) if strict is None else strict
    domain_records = discover_domains()
    domains = {r.name: r.domain for r in domain_records if r.domain is not None}
    plugin_records = discover_plugins(
        domains,
        allowed=allowed_plugins(config.load),
        disabled=[n for n, s in config.plugins.items() if not s.enabled],
        priorities={n: s.priority for n, s in config.plugins.items()},
    )
    for rec in plugin_records:
        if rec.status in BROKEN:
            log.error(
                "skipping plugin %s from %s %s: %s",
                rec.name,
                rec.distribution,
                rec.version,
                rec.error,
                extra={"plugin": rec.name},
            )
    installation = Installation(config, domain_records, plugin_records)
    for line in installation.shadowing():
        log.warning("%s", line)
    if strict:
        installation.vet()  # plugin configs and constructors too: every problem in one message
        if problems := installation.problems() + installation.unknown_names():
            raise _strict_failure(problems)
    return installation
