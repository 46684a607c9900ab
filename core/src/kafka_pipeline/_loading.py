"""From configuration to ready registries: discovery, plugin config, strict mode."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

from kafka_pipeline._config import PipelineConfig
from kafka_pipeline._discovery import (
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

__all__ = ["Installation", "discover", "strict_mode"]

log = logging.getLogger("kafka_pipeline.loading")


def strict_mode(config: PipelineConfig) -> bool:
    return config.strict or os.environ.get(ENV_STRICT_PLUGINS, "").lower() in {"1", "true", "yes"}


@dataclass
class Installation:
    """Every installed domain and plugin, as discovered under one configuration."""

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

    def problems(self) -> list[str]:
        """One line per domain or plugin that failed to load."""
        bad = {LoadStatus.FAILED, LoadStatus.INCOMPATIBLE}
        return [
            f"{kind} {r.name!r} ({r.distribution or '?'} {r.version or '?'}): {r.error}"
            for kind, recs in (("domain", self.domain_records), ("plugin", self.plugin_records))
            for r in recs
            if r.status in bad
        ]

    def unknown_plugin_settings(self) -> list[str]:
        installed = {r.name for r in self.plugin_records}
        return [
            f"plugins.{name}: no installed plugin is named {name!r} "
            f"(installed: {', '.join(sorted(installed)) or 'none'})"
            for name in self.config.plugins
            if name not in installed
        ]

    def registry(self, domain: str, *, raise_errors: bool | None = None) -> PluginRegistry[Any]:
        """A registry of ``domain``'s loaded plugins, each with its validated config.

        A plugin whose config or hooks are invalid is marked failed and left
        out; in strict mode (or with ``raise_errors``) that is an error instead.
        """
        self.domain(domain)
        strict = strict_mode(self.config) if raise_errors is None else raise_errors
        if strict and (problems := self.problems()):
            raise _strict_failure(problems)
        registry: PluginRegistry[Any] = PluginRegistry(domain)
        for rec in self.plugin_records:
            if not rec.usable or domain not in rec.domains or rec.plugin_class is None:
                continue
            settings = self.config.plugin(rec.name)
            try:
                plugin = rec.plugin_class(settings.config)
                registry.register(plugin, priority=rec.priority)
            except (ConfigError, PluginLoadError) as exc:
                rec.status, rec.error = LoadStatus.FAILED, str(exc)
                if strict:
                    raise
                log.error("skipping plugin %s: %s", rec.name, exc, extra={"plugin": rec.name})
        return registry


def _strict_failure(problems: list[str]) -> PluginLoadError:
    return PluginLoadError(
        "\n  ".join(["plugins failed to load (strict mode):", *problems])
        + "\nFix or uninstall them, disable them ('plugins: {name: {enabled: false}}'), "
        "or leave strict mode off to run without them.",
        plugin="*",
    )


def discover(config: PipelineConfig | None = None, *, strict: bool | None = None) -> Installation:
    """Discover domains and plugins under ``config`` (defaults if None).

    In strict mode (``strict``, else the config's or the environment's) a
    plugin that failed to load is an error; ``strict=False`` always returns
    the installation so that diagnostics can list every problem.
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
        if rec.status in {LoadStatus.FAILED, LoadStatus.INCOMPATIBLE}:
            log.warning(
                "skipping plugin %s from %s %s: %s",
                rec.name,
                rec.distribution,
                rec.version,
                rec.error,
                extra={"plugin": rec.name},
            )
    installation = Installation(config, domain_records, plugin_records)
    if strict and (problems := installation.problems()):
        raise _strict_failure(problems)
    return installation
