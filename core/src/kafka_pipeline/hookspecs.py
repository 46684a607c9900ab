"""The routing hooks a plugin implements.

A plugin implements a hook by overriding the method of the same name on
:class:`~kafka_pipeline._plugin.RoutingPlugin`; no marker is needed. These
specifications are what pluggy validates each implementation against: an
implementation may take fewer arguments than the spec, never other ones.
"""

from __future__ import annotations

from typing import Any, Final

import pluggy

__all__ = ["HOOK_NAMES", "PROJECT_NAME", "hookimpl", "hookspec"]

PROJECT_NAME: Final = "kafka_pipeline"

hookspec: Final = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl: Final = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def should_route(message: Any) -> bool:  # type: ignore[empty-body]
    """Return True if ``message`` should be routed by this plugin.

    Synchronous, pure and cheap: called for every valid message of the
    plugin's domain, before any I/O. Raising counts as a plugin failure for
    this message; other plugins still run.
    """


@hookspec
async def route(message: Any) -> None:
    """Send ``message``, or a payload derived from it, with ``self.send_to_topic``.

    Asynchronous; awaited only when ``should_route`` returned True. Sends are
    enqueued, not awaited one by one: the worker waits for every
    acknowledgement of the batch before it commits offsets. Returns nothing.
    """


@hookspec
async def start() -> None:
    """Acquire resources. Awaited once, before the first message is dispatched."""


@hookspec
async def stop() -> None:
    """Release resources. Awaited once, after the last batch was committed."""


HOOK_NAMES: Final[frozenset[str]] = frozenset({"should_route", "route", "start", "stop"})
