"""Hot reload: the plugin settings of a running worker change without a restart.

Only what concerns plugins is hot: ``plugins`` (enabled, priority, config,
timeouts, retries, breakers), ``load``, ``strict`` and ``resilience``. The
rest (``kafka``, ``source_topic``, ``dlq_topic``, ``delta``, ``worker``,
``metrics``) is wired into clients, tables and the loop at start-up; a change
there is logged as needing a restart and otherwise ignored.

:func:`prepare_reload` builds and validates the new plugin set away from
the consumer loop (the worker runs it in a thread): discovery again (modules
already imported stay imported; only entry-point metadata is read again), a
fresh instance of each plugin with its new config, every problem that
``kafka-pipeline check`` would report. A plugin whose class and config did
not change keeps its running instance, unstarted and unstopped, so only
what changed is restarted. The worker then starts the new instances, swaps
the set between two batches, and stops the ones it replaced.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

from pydantic import BaseModel

from kafka_pipeline._config import PipelineConfig
from kafka_pipeline._engine.engine import RoutingEngine
from kafka_pipeline._errors import ConfigError, KafkaPipelineError
from kafka_pipeline._loading import BROKEN, discover, strict_mode
from kafka_pipeline._logs import redact
from kafka_pipeline._observability.stats import WorkerStats
from kafka_pipeline._outbox import Outbox
from kafka_pipeline._registry import PluginRegistry
from kafka_pipeline._worker.config_watch import ConfigFile, watch_config

log = logging.getLogger("kafka_pipeline.worker.reload")

#: Top-level configuration keys that a reload applies.
HOT_SECTIONS: Final = ("plugins", "load", "strict", "resilience")
#: Top-level configuration keys that take effect only when the worker starts.
RESTART_SECTIONS: Final = ("kafka", "source_topic", "dlq_topic", "delta", "worker", "metrics")


class ReloadError(KafkaPipelineError):
    """The new configuration is invalid; the running one stays."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n  ".join(["the new configuration was refused:", *problems]))


def _changed_paths(old: Any, new: Any, prefix: str) -> Iterator[str]:
    if isinstance(old, BaseModel) and type(old) is type(new):
        for name in type(old).model_fields:
            yield from _changed_paths(getattr(old, name), getattr(new, name), f"{prefix}.{name}")
    elif old != new:
        yield prefix


def restart_only_changes(old: PipelineConfig, new: PipelineConfig) -> list[str]:
    """The setting paths that differ between ``old`` and ``new`` but need a restart to apply."""
    return [
        path for key in RESTART_SECTIONS for path in _changed_paths(getattr(old, key), getattr(new, key), key)
    ]


def hot_config(running: PipelineConfig, new: PipelineConfig) -> PipelineConfig:
    """``running`` with the hot sections of ``new``: what the worker runs with after the reload."""
    return running.model_copy(update={key: getattr(new, key) for key in HOT_SECTIONS})


@dataclass(frozen=True)
class PluginReload:
    """A validated plugin set, ready to be swapped in."""

    config: PipelineConfig
    registry: PluginRegistry[Any]
    #: Plugins whose instance is new: started before the swap.
    started: frozenset[str]
    #: Plugins of the running registry whose instance goes: stopped after the swap.
    retired: frozenset[str]
    #: What changes, one line each, for the log.
    changes: tuple[str, ...]
    #: Plugins that could not be loaded and are skipped (not in strict mode).
    skipped: tuple[str, ...] = ()


def prepare_reload(
    running: PipelineConfig, current: PluginRegistry[Any], new: PipelineConfig, domain: str
) -> PluginReload:
    """The plugin set that ``new`` asks for, validated; raises :class:`ReloadError` listing every problem.

    The rule of start-up applies: a plugin that cannot run is skipped and
    reported, an unknown plugin name is warned about, and strict mode
    refuses both. One more rule keeps a running worker safe: a plugin that
    runs now is never dropped because of a problem (its new config does
    not validate, say); the reload is refused and the plugin carries on.
    Dropping it takes ``enabled: false``.
    """
    config = hot_config(running, new)
    installation = discover(config, strict=False)
    fresh = installation.registry(domain, raise_errors=False)
    skipped = installation.problems(domain)
    records = {r.name: r for r in installation.plugin_records}
    dropped = [
        f"plugins.{p.name}: it runs now and would stop: {records[p.name].error}"
        for p in current.plugins
        if p.name in records and records[p.name].status in BROKEN
    ]
    problems = dropped
    if strict_mode(config):
        problems = dropped + skipped + installation.unknown_names()
    if problems:
        raise ReloadError(problems)

    registry: PluginRegistry[Any] = PluginRegistry(
        domain, lifecycle_timeout=config.resilience.lifecycle_timeout_seconds
    )
    started: set[str] = set()
    changes: list[str] = []
    for entry in fresh.plugins:
        name, plugin = entry.name, entry.plugin
        if name in current:
            old = current.get(name)
            if type(old.plugin) is type(plugin) and old.plugin.config == plugin.config:
                plugin = old.plugin
            else:
                changes.append(f"{name}: new instance (its config changed)")
            if old.priority != entry.priority:
                changes.append(f"{name}: priority {old.priority} -> {entry.priority}")
            if running.plugin(name).model_dump(exclude={"config", "priority", "enabled"}) != config.plugin(
                name
            ).model_dump(exclude={"config", "priority", "enabled"}):
                changes.append(f"{name}: timeout, retry or breaker settings changed")
        else:
            changes.append(f"{name}: added")
        if plugin is entry.plugin:
            started.add(name)
        registry.register(plugin, priority=entry.priority)
    kept = {p.name for p in registry.plugins}
    changes += [f"{p.name}: removed" for p in current.plugins if p.name not in kept]
    if running.resilience != config.resilience:
        changes.append("resilience defaults changed")
    retired = {p.name for p in current.plugins if p.name not in kept or p.name in started}
    return PluginReload(
        config=config,
        registry=registry,
        started=frozenset(started),
        retired=frozenset(retired),
        changes=tuple(changes),
        skipped=tuple(skipped),
    )


@dataclass
class LivePlugins:
    """The plugins a running worker routes with, and what a reload swaps between two batches.

    ``config`` is the running configuration (its hot sections the last
    reload's); ``lock`` is held by the consumer loop while it processes a
    batch; ``outbox`` is where new plugin instances send.
    """

    domain: str
    config: PipelineConfig
    registry: PluginRegistry[Any]
    engine: RoutingEngine
    outbox: Outbox
    stats: WorkerStats
    lock: asyncio.Lock


class Reloader:
    """Applies reloads to :class:`LivePlugins`: one at a time, swapped in between two batches."""

    def __init__(self, live: LivePlugins) -> None:
        self._live = live
        self._one_at_a_time = asyncio.Lock()

    async def watch(self, source: ConfigFile, hangup: asyncio.Event, interval: float | None) -> None:
        """Reload from ``source`` when it changes or on ``hangup``; runs until cancelled."""
        await watch_config(source, lambda why: self.reload_file(source, why), hangup, interval=interval)

    async def reload_file(self, source: ConfigFile, why: str) -> bool:
        try:
            config = source.load()
        except ConfigError as exc:
            return self._refuse(why, exc.problems)
        return await self.reload(config, why=why)

    async def reload(self, config: PipelineConfig, *, why: str) -> bool:
        """Apply the plugin settings of ``config``; False when they were refused.

        Plugins are enabled, disabled, reordered and reconfigured; only those
        whose instance changed are started (new) and stopped (replaced). An
        invalid ``config``, or a new plugin whose ``start`` fails, is refused
        with an error in the log, and the running plugins carry on.
        """
        live = self._live
        async with self._one_at_a_time:
            redact(*config.secrets())
            ignored = restart_only_changes(live.config, config)
            if ignored:
                log.warning(
                    "%s: %s changed, which takes effect only when the worker restarts; "
                    "the running worker keeps the values it started with",
                    why,
                    ", ".join(ignored),
                )
            try:
                plan = await asyncio.to_thread(
                    prepare_reload, live.config, live.registry, config, live.domain
                )
            except ReloadError as exc:
                return self._refuse(why, exc.problems)
            for problem in plan.skipped:
                log.error("%s: skipped, as at start-up: %s", why, problem)
            plan.registry.attach(live.outbox)
            failed = await plan.registry.start(only=plan.started)
            if failed:
                await plan.registry.stop(only=plan.started)
                problems = [f"plugins.{name}: start() raised {exc!r}" for name, exc in sorted(failed.items())]
                return self._refuse(why, problems)
            async with live.lock:  # between two batches
                retiring = live.registry
                live.registry, live.config = plan.registry, plan.config
                live.engine.replace_plugins(plan.registry.plugins, plan.config)
            await retiring.stop(only=plan.retired)
            live.stats.reloads["applied"] += 1
            log.warning("%s: configuration reloaded; %s", why, "; ".join(plan.changes) or "no plugin changed")
            return True

    def _refuse(self, why: str, problems: list[str]) -> bool:
        self._live.stats.reloads["refused"] += 1
        # A problem of several lines (a plugin's config errors) is indented under its first.
        listed = "\n  ".join(problem.replace("\n", "\n  ") for problem in problems)
        log.error("%s: the new configuration was refused, the running one stays:\n  %s", why, listed)
        return False
