"""Hook implementations are checked at registration: by pluggy against the hookspecs, and for kind."""

from __future__ import annotations

from typing import Any

import pytest

from kafka_pipeline import PluginLoadError, PluginRegistry, RoutingPlugin


class Good(RoutingPlugin[Any]):
    name = "good"
    domain = "widgets"

    def should_route(self, message: Any) -> bool:
        return True

    async def route(self, message: Any) -> None:
        pass


def register(plugin: RoutingPlugin[Any]) -> PluginRegistry[Any]:
    registry: PluginRegistry[Any] = PluginRegistry("widgets")
    registry.register(plugin)
    return registry


def test_a_plain_method_override_counts_as_the_hook_implementation() -> None:
    registry = register(Good())

    impls = registry.plugin_manager.hook.should_route.get_hookimpls()
    assert [i.plugin_name for i in impls] == ["good"]


def test_start_and_stop_are_optional_and_not_implemented_unless_overridden() -> None:
    registry = register(Good())

    assert registry.plugin_manager.hook.start.get_hookimpls() == []


def test_a_misspelled_required_hook_is_refused_with_the_likely_intended_name() -> None:
    class Misspelled(RoutingPlugin[Any]):
        name = "misspelled"
        domain = "widgets"

        def should_rout(self, message: Any) -> bool:
            return True

        async def route(self, message: Any) -> None:
            pass

    with pytest.raises(PluginLoadError, match="'should_route'; did you mean to name 'should_rout'") as caught:
        register(Misspelled())
    assert caught.value.plugin == "misspelled"


def test_a_hook_taking_an_argument_the_spec_lacks_is_refused_naming_plugin_hook_and_argument() -> None:
    class ExtraArgument(RoutingPlugin[Any]):
        name = "extra-argument"
        domain = "widgets"

        def should_route(self, message: Any, headers: Any) -> bool:  # type: ignore[override]
            return True

        async def route(self, message: Any) -> None:
            pass

    with pytest.raises(PluginLoadError) as caught:
        register(ExtraArgument())

    message = str(caught.value)
    assert "'extra-argument'" in message
    assert "should_route" in message
    assert "headers" in message


def test_a_synchronous_route_is_refused_because_it_must_be_async_def() -> None:
    class SyncRoute(RoutingPlugin[Any]):
        name = "sync-route"
        domain = "widgets"

        def should_route(self, message: Any) -> bool:
            return True

        def route(self, message: Any) -> None:  # type: ignore[override]
            pass

    with pytest.raises(PluginLoadError, match=r"plugin 'sync-route': hook 'route' of .* must be 'async def'"):
        register(SyncRoute())


def test_an_async_should_route_is_refused_because_deciding_may_not_do_io() -> None:
    class AsyncDecision(RoutingPlugin[Any]):
        name = "async-decision"
        domain = "widgets"

        async def should_route(self, message: Any) -> bool:  # type: ignore[override]
            return True

        async def route(self, message: Any) -> None:
            pass

    with pytest.raises(
        PluginLoadError, match=r"plugin 'async-decision': hook 'should_route' .* plain synchronous 'def'"
    ):
        register(AsyncDecision())


def test_a_refused_plugin_leaves_the_registry_usable_for_the_others() -> None:
    class ExtraArgument(Good):
        name = "extra-argument"

        def should_route(self, message: Any, headers: Any) -> bool:  # type: ignore[override]
            return True

    registry: PluginRegistry[Any] = PluginRegistry("widgets")
    with pytest.raises(PluginLoadError):
        registry.register(ExtraArgument())
    registry.register(Good())

    assert [p.name for p in registry.plugins] == ["good"]


def test_the_message_parameter_may_have_any_name_as_hooks_are_called_positionally() -> None:
    class SeedStyle(RoutingPlugin[Any]):
        name = "seed-style"
        domain = "widgets"

        def should_route(self, result: Any) -> bool:  # the design document's name
            return bool(result)

        async def route(self, result: Any) -> None:
            pass

    registry = register(SeedStyle())

    assert registry.plugin_manager.hook.should_route(message=1) == [True]


def test_a_hook_without_its_message_parameter_is_refused_with_the_signature_found() -> None:
    class NoMessage(RoutingPlugin[Any]):
        name = "no-message"
        domain = "widgets"

        def should_route(self) -> bool:  # type: ignore[override]
            return True

        async def route(self, message: Any) -> None:
            pass

    with pytest.raises(PluginLoadError) as caught:
        register(NoMessage())
    # As written, though this module postpones its annotations: ``-> bool``, not ``-> 'bool'``.
    assert "must take one argument, the message, after self (found: def should_route(self) -> bool)" in str(
        caught.value
    )


def test_a_signature_naming_a_type_only_imported_for_type_checkers_is_still_checked() -> None:
    class Unresolvable(RoutingPlugin[Any]):
        name = "unresolvable"
        domain = "widgets"

        def should_route(self) -> NotImportedHere:  # type: ignore[name-defined,override]  # noqa: F821
            return True

        async def route(self, message: Any) -> None:
            pass

    with pytest.raises(PluginLoadError) as caught:
        register(Unresolvable())
    assert "(found: def should_route(self) -> 'NotImportedHere')" in str(caught.value)
