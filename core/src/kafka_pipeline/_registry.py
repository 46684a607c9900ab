"""``PluginRegistry[T]``: one domain's routing plugins, on a pluggy ``PluginManager``.

pluggy validates every hook implementation when a plugin is registered and
handles blocking; the registry then caches each plugin's bound
``should_route``/``route`` in priority order, so dispatching a message is a
plain loop over functions instead of a ``pm.hook.x(...)`` fan-out.
"""

from __future__ import annotations

import asyncio
import difflib
import inspect
import logging
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import Any, Final, Generic, TypeVar, cast

import pluggy

from kafka_pipeline import hookspecs
from kafka_pipeline._deadline import guarded
from kafka_pipeline._errors import PluginLoadError
from kafka_pipeline._plugin import RouteSender, RoutingPlugin
from kafka_pipeline.hookspecs import HOOK_NAMES, PROJECT_NAME

log = logging.getLogger("kafka_pipeline.registry")

T = TypeVar("T")

#: How long a plugin's ``start`` or ``stop`` may take (``resilience.lifecycle_timeout_seconds``).
DEFAULT_LIFECYCLE_TIMEOUT: Final = 30.0

_REQUIRED_HOOKS = ("should_route", "route")
_ASYNC_HOOKS = frozenset({"route", "start", "stop"})


def _overrides(cls: type, hook: str) -> bool:
    return getattr(cls, hook, None) is not getattr(RoutingPlugin, hook)


def validate_plugin_class(cls: object, *, entry_point: str | None = None) -> type[RoutingPlugin[Any]]:
    """Check what pluggy cannot: base class, name, required hooks, sync/async kinds.

    Raises :class:`PluginLoadError` with the plugin, the hook and the rule broken.
    """
    label = entry_point or str(getattr(cls, "__name__", repr(cls)))
    if not (isinstance(cls, type) and issubclass(cls, RoutingPlugin)):
        raise PluginLoadError(
            f"{cls!r} is not a RoutingPlugin subclass; an entry point in group "
            "'kafka_pipeline.routing' must name a class deriving from "
            "kafka_pipeline.RoutingPlugin",
            plugin=label,
        )
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name:
        raise PluginLoadError(f"{cls.__qualname__} sets no class attribute 'name'", plugin=label)
    name = str(name)
    for hook in _REQUIRED_HOOKS:
        if not _overrides(cls, hook):
            own = [m for m in vars(cls) if not m.startswith("_")]
            close = difflib.get_close_matches(hook, own, n=1)
            hint = f"; did you mean to name {close[0]!r} {hook!r}?" if close else ""
            raise PluginLoadError(
                f"{cls.__qualname__} does not implement the required hook {hook!r}{hint}",
                plugin=name,
            )
    for hook in sorted(HOOK_NAMES):
        impl = getattr(cls, hook)
        _check_arity(cls, hook, impl, name)
        is_async = inspect.iscoroutinefunction(impl)
        if hook in _ASYNC_HOOKS and not is_async:
            raise PluginLoadError(
                f"hook {hook!r} of {cls.__qualname__} must be 'async def' "
                f"(found: def {hook}{_signature(impl)})",
                plugin=name,
            )
        if hook not in _ASYNC_HOOKS and is_async:
            raise PluginLoadError(
                f"hook {hook!r} of {cls.__qualname__} must be a plain synchronous 'def': "
                "it decides per message and may not do I/O",
                plugin=name,
            )
    return cls


#: Positional arguments core passes to each hook after ``self``.
_ARITY: Final = {"should_route": 1, "route": 1, "start": 0, "stop": 0}


def _check_arity(cls: type, hook: str, impl: object, plugin: str) -> None:
    """Core calls every hook positionally: its parameter may have any name, not any number."""
    try:
        signature = _signature(impl)
    except (TypeError, ValueError):  # a builtin or C callable: nothing to check
        return
    wanted = _ARITY[hook]
    try:
        signature.bind(None, *([None] * wanted))  # self, then the message if any
    except TypeError:
        what = "one argument, the message," if wanted else "no argument"
        raise PluginLoadError(
            f"hook {hook!r} of {cls.__qualname__} must take {what} after self (found: def {hook}{signature})",
            plugin=plugin,
        ) from None


def _own_cancellation(exc: BaseException) -> bool:
    """Whether ``exc`` is this task being cancelled (the worker stopping), not a plugin's own raise."""
    task = asyncio.current_task()
    return isinstance(exc, asyncio.CancelledError) and task is not None and task.cancelling() > 0


def _signature(impl: Any) -> inspect.Signature:
    """The signature as the author wrote it: ``-> bool``, not ``-> 'bool'`` under postponed annotations."""
    try:
        return inspect.signature(impl, eval_str=True)
    except Exception:  # a name only imported under TYPE_CHECKING, say: the annotations as strings
        return inspect.signature(impl)


class _RoutingPluginManager(pluggy.PluginManager):
    """Counts a plain override of a hook method as its implementation.

    pluggy matches an implementation's parameters to the spec's by name;
    core calls hooks positionally, so a plugin may call the message
    ``result`` (as the design document does) or anything else.
    :func:`validate_plugin_class` checks the number of parameters instead.
    """

    def parse_hookimpl_opts(self, plugin: object, name: str) -> pluggy.HookimplOpts | None:
        if name in HOOK_NAMES and isinstance(plugin, RoutingPlugin):
            return (
                pluggy.HookimplOpts(
                    wrapper=False,
                    hookwrapper=False,
                    optionalhook=False,
                    tryfirst=False,
                    trylast=False,
                    specname=None,
                )
                if _overrides(type(plugin), name)
                else None
            )
        return super().parse_hookimpl_opts(plugin, name)

    def _verify_hook(self, hook: pluggy.HookCaller, hookimpl: pluggy.HookImpl) -> None:
        spec = hook.spec
        if spec is not None and isinstance(hookimpl.plugin, RoutingPlugin):
            # Tell pluggy the spec's names for the positional parameters, so that its
            # checks pass and its own calls (pm.hook.should_route(message=...)) line up.
            object.__setattr__(hookimpl, "argnames", spec.argnames)
        super()._verify_hook(hook, hookimpl)


@dataclass(frozen=True, slots=True)
class RegisteredPlugin(Generic[T]):
    """A registered plugin with its hook implementations resolved once."""

    name: str
    plugin: RoutingPlugin[T]
    priority: int
    should_route: Callable[[T], bool]
    route: Callable[[T], Awaitable[None]]


class PluginRegistry(Generic[T]):
    """The routing plugins of one domain, ordered by priority (higher first, ties by name).

    ``lifecycle_timeout``: the seconds each plugin's ``start`` and ``stop`` may take.
    """

    def __init__(self, domain: str, *, lifecycle_timeout: float = DEFAULT_LIFECYCLE_TIMEOUT) -> None:
        self.domain = domain
        self.lifecycle_timeout = lifecycle_timeout
        self._pm = _RoutingPluginManager(PROJECT_NAME)
        self._pm.add_hookspecs(hookspecs)
        self._priorities: dict[str, int] = {}
        self._ordered: tuple[RegisteredPlugin[T], ...] = ()

    @property
    def plugin_manager(self) -> pluggy.PluginManager:
        return self._pm

    @property
    def plugins(self) -> tuple[RegisteredPlugin[T], ...]:
        """Registered plugins in dispatch order."""
        return self._ordered

    def __len__(self) -> int:
        return len(self._ordered)

    def __contains__(self, name: object) -> bool:
        return any(p.name == name for p in self._ordered)

    def get(self, name: str) -> RegisteredPlugin[T]:
        for p in self._ordered:
            if p.name == name:
                return p
        raise KeyError(name)

    def register(self, plugin: RoutingPlugin[T], *, priority: int | None = None) -> bool:
        """Validate and add ``plugin``; False if its name is blocked.

        Raises :class:`PluginLoadError` naming plugin, hook and rule when an
        implementation does not fit its hookspec.
        """
        validate_plugin_class(type(plugin))
        try:
            registered = self._pm.register(plugin, name=plugin.name)
            self._pm.check_pending()
        except pluggy.PluginValidationError as exc:
            if self._pm.is_registered(plugin):
                self._pm.unregister(plugin)
            raise PluginLoadError(str(exc), plugin=plugin.name, original=exc) from exc
        except ValueError as exc:
            raise PluginLoadError(str(exc).splitlines()[0], plugin=plugin.name) from exc
        if registered is None:
            return False
        plugin.domain_name = self.domain
        self._priorities[plugin.name] = plugin.default_priority if priority is None else priority
        self._rebuild()
        return True

    def unregister(self, name: str) -> None:
        self._pm.unregister(name=name)
        self._priorities.pop(name, None)
        self._rebuild()

    def block(self, name: str) -> None:
        """Refuse ``name`` now and for any later registration (pluggy's blocking)."""
        self._pm.set_blocked(name)
        self._priorities.pop(name, None)
        self._rebuild()

    def attach(self, sender: RouteSender | None) -> None:
        """Make every plugin's ``send_to_topic`` go to ``sender``."""
        for p in self._ordered:
            p.plugin.attach(sender)

    def _rebuild(self) -> None:
        should = {i.plugin_name: i.function for i in self._pm.hook.should_route.get_hookimpls()}
        route = {i.plugin_name: i.function for i in self._pm.hook.route.get_hookimpls()}
        entries = [
            RegisteredPlugin(
                name=name,
                plugin=cast("RoutingPlugin[T]", self._pm.get_plugin(name)),
                priority=self._priorities[name],
                should_route=cast("Callable[[T], bool]", should[name]),
                route=cast("Callable[[T], Awaitable[None]]", route[name]),
            )
            for name in should
            if name in route and name in self._priorities
        ]
        entries.sort(key=lambda p: (-p.priority, p.name))
        self._ordered = tuple(entries)

    async def _lifecycle(
        self, hook: str, plugins: tuple[RegisteredPlugin[T], ...]
    ) -> dict[str, BaseException]:
        impls = {i.plugin_name: i.function for i in getattr(self._pm.hook, hook).get_hookimpls()}
        errors: dict[str, BaseException] = {}
        timeout = self.lifecycle_timeout
        for p in plugins:
            fn = impls.get(p.name)
            if fn is None:
                continue

            def ignored(name: str = p.name) -> None:
                log.error(
                    "plugin %s caught the cancellation of its %s and went on waiting; abandoned it "
                    "(let asyncio.CancelledError propagate)",
                    name,
                    hook,
                    extra={"plugin": name},
                )

            try:
                async with asyncio.timeout(timeout):
                    await guarded(fn(), ignored)
            except TimeoutError as exc:
                log.error(
                    "plugin %s: %s did not finish within %gs (resilience.lifecycle_timeout_seconds); %s",
                    p.name,
                    hook,
                    timeout,
                    "it does not run" if hook == "start" else "abandoned it",
                    extra={"plugin": p.name},
                )
                errors[p.name] = exc
            except BaseException as exc:  # one plugin's lifecycle never stops the others'
                if _own_cancellation(exc):
                    raise
                log.error("plugin %s failed in %s", p.name, hook, exc_info=exc, extra={"plugin": p.name})
                errors[p.name] = exc
        return errors

    async def start(self, only: Collection[str] | None = None) -> dict[str, BaseException]:
        """Await every plugin's (or ``only`` these plugins') ``start`` in priority order.

        Returns the failures by plugin.
        """
        return await self._lifecycle("start", self._selected(only))

    async def stop(self, only: Collection[str] | None = None) -> dict[str, BaseException]:
        """Await every plugin's (or ``only`` these plugins') ``stop`` in reverse priority order.

        Returns the failures by plugin.
        """
        return await self._lifecycle("stop", self._selected(only)[::-1])

    def _selected(self, only: Collection[str] | None) -> tuple[RegisteredPlugin[T], ...]:
        return self._ordered if only is None else tuple(p for p in self._ordered if p.name in only)
