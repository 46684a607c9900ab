"""Awaiting a plugin's coroutine so that a timeout ends it, even when the plugin swallows the cancellation.

``asyncio.timeout`` cancels the waiting task and then waits for the
coroutine to give up. A plugin that catches ``CancelledError`` and waits
again never gives up, and the worker waits with it, silently, for ever. The
coroutines here are driven step by step instead (as ``await`` would drive
them): when one answers a cancellation by waiting again, it is closed, the
``ignored`` callback says so, and the cancellation goes on to the caller,
whose timeout then ends as usual.

What a cancellation cannot interrupt is code that never yields to the event
loop (``time.sleep``, a busy loop): the loop watchdog reports that.
"""

from __future__ import annotations

import asyncio
import contextlib
import types
from collections.abc import Callable, Coroutine, Generator
from typing import Any, TypeVar

R = TypeVar("R")

#: Told that a coroutine swallowed a cancellation and was closed.
Ignored = Callable[[], None]


def _close(step: Coroutine[Any, Any, Any]) -> None:
    # A coroutine that waits again even on GeneratorExit makes close() raise RuntimeError;
    # its own cleanup may raise anything. It is abandoned either way.
    with contextlib.suppress(Exception):
        step.close()


@types.coroutine
def drive(step: Coroutine[Any, Any, R], yielded: Any, ignored: Ignored) -> Generator[Any, Any, R]:
    """Drive ``step``, which suspended by yielding ``yielded``, to its end; returns what it returns.

    What the event loop sends or throws in (results, a timeout's
    ``CancelledError``) is passed on to ``step``. When ``step`` catches a
    cancellation and suspends again, it is closed, ``ignored()`` is called and
    the cancellation is raised here.
    """
    while True:
        try:
            sent = yield yielded
        except GeneratorExit:
            _close(step)
            raise
        except BaseException as exc:
            try:
                yielded = step.throw(exc)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]
            if isinstance(exc, asyncio.CancelledError):
                _close(step)
                ignored()
                raise exc from None
        else:
            try:
                yielded = step.send(sent)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]


async def guarded(step: Coroutine[Any, Any, R], ignored: Ignored) -> R:
    """``await step``, except that a cancellation it swallows closes it (see :func:`drive`)."""
    try:
        yielded = step.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    return await drive(step, yielded, ignored)
