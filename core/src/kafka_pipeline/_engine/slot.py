"""``PluginSlot``: one plugin as the engine calls it: its hooks, failure policy, breaker and counters."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any, cast

from kafka_pipeline._engine.resilience import CircuitBreaker, PluginPolicy
from kafka_pipeline._observability.stats import PluginStats
from kafka_pipeline._observability.timing import DEFAULT_SAMPLE_EVERY
from kafka_pipeline._registry import RegisteredPlugin

log = logging.getLogger("kafka_pipeline.worker.routing")


class Failure:
    """Why a plugin failed on the last message it failed on: the stage and what it raised."""

    __slots__ = ("error", "stage")

    def __init__(self, stage: str, error: BaseException) -> None:
        self.stage = stage
        self.error = error


class NotABoolError(TypeError):
    """``should_route`` returned something other than True or False."""

    def __init__(self, value: object) -> None:
        self.value = value
        super().__init__(
            f"should_route returned {type(value).__name__} {value!r:.60}, not a bool; "
            "return True or False (e.g. wrap the condition in bool(...))"
        )


class PluginSlot:
    """A plugin's hook functions with its failure policy, breaker and counters."""

    __slots__ = (
        "breaker",
        "failure",
        "ignored_return",
        "instance",
        "name",
        "policy",
        "route",
        "sample_every",
        "sample_first",
        "should_route",
        "stats",
    )

    def __init__(
        self,
        plugin: RegisteredPlugin[Any],
        policy: PluginPolicy,
        stats: PluginStats,
        clock: Callable[[], float],
        sample_every: int = DEFAULT_SAMPLE_EVERY,
    ) -> None:
        self.name = plugin.name
        self.instance = plugin.plugin
        self.should_route: Callable[[Any], object] = plugin.should_route
        self.route: Callable[[Any], Coroutine[Any, Any, object]] = cast(
            "Callable[[Any], Coroutine[Any, Any, object]]", plugin.route
        )
        self.policy = policy
        self.breaker = CircuitBreaker(policy.failure_threshold, policy.reset_seconds, clock)
        self.stats = stats
        #: The match numbers ``n`` with ``n % sample_every == sample_first`` are timed: 1, 1 + every, ...
        self.sample_every = sample_every
        self.sample_first = 1 % sample_every
        #: The last failure given up on (kept for dry runs and tests; the worker logs it).
        self.failure: Failure | None = None
        #: The type ``route`` returned instead of None, once warned about.
        self.ignored_return: str | None = None

    def returned(self, value: object) -> None:
        """``route`` returned ``value``, which nothing reads: say so, once per plugin."""
        if self.ignored_return is None:
            self.ignored_return = type(value).__name__
            log.warning(
                "plugin %s: route returned %s %r; its return value is ignored (send with "
                "self.send_to_topic, return None)",
                self.name,
                self.ignored_return,
                value,
                extra={"plugin": self.name},
            )

    def timed(self) -> bool:
        """Whether the match just counted is one to time."""
        return self.stats.matched % self.sample_every == self.sample_first

    def ignored_cancellation(self) -> None:
        """Its ``route`` caught the cancellation of a timeout and waited again: it was closed."""
        log.error(
            "plugin %s caught the cancellation of its timed-out route and went on waiting; "
            "abandoned that call (let asyncio.CancelledError propagate)",
            self.name,
            extra={"plugin": self.name},
        )
