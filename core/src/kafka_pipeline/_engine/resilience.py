"""How the worker treats a failing plugin: a timeout, retries with backoff, a circuit breaker.

A plugin that keeps failing must not stall the stream by burning its whole
timeout and retry budget on every message: after ``failure_threshold``
messages in a row failed, its breaker opens and its matches go straight to
the DLQ (``circuit_open``). After ``reset_seconds`` one message is let
through as a trial: success closes the breaker, failure opens it again.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from dataclasses import dataclass

from kafka_pipeline._config import PipelineConfig


@dataclass(frozen=True, slots=True)
class PluginPolicy:
    """Failure handling for one plugin: the ``resilience`` defaults, overridden under ``plugins.<name>``."""

    timeout_seconds: float
    max_retries: int
    retry_backoff_seconds: float
    failure_threshold: int
    reset_seconds: float

    @classmethod
    def for_plugin(cls, config: PipelineConfig, name: str) -> PluginPolicy:
        defaults = config.resilience
        own = config.plugin(name)
        return cls(
            timeout_seconds=own.timeout_seconds or defaults.timeout_seconds,
            max_retries=defaults.max_retries if own.max_retries is None else own.max_retries,
            retry_backoff_seconds=defaults.retry_backoff_seconds,
            failure_threshold=own.breaker_failure_threshold or defaults.breaker_failure_threshold,
            reset_seconds=own.breaker_reset_seconds or defaults.breaker_reset_seconds,
        )

    def backoff(self, attempt: int) -> float:
        """Seconds to wait before retry number ``attempt + 1``: doubling from the base."""
        return self.retry_backoff_seconds * 2.0**attempt


class BreakerState(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Consecutive-failure breaker for one plugin.

    The worker routes one message at a time, so a half-open breaker has
    exactly one trial in flight and its outcome is recorded before the next
    :meth:`allow`.
    """

    __slots__ = ("_clock", "_opened_at", "failure_threshold", "failures", "reset_seconds", "state")

    def __init__(
        self,
        failure_threshold: int,
        reset_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.failure_threshold = failure_threshold
        self.reset_seconds = reset_seconds
        self._clock = clock
        self.state = BreakerState.CLOSED
        self.failures = 0
        self._opened_at = 0.0

    def allow(self) -> bool:
        """Whether the next message may be routed; an open breaker past its cooldown half-opens."""
        if self.state is BreakerState.CLOSED:
            return True
        if self.state is BreakerState.OPEN and self._clock() - self._opened_at >= self.reset_seconds:
            self.state = BreakerState.HALF_OPEN
            return True
        return False

    def record_success(self) -> None:
        self.failures = 0
        self.state = BreakerState.CLOSED

    def record_failure(self) -> bool:
        """Count a failed message; True when this failure opened the breaker."""
        self.failures += 1
        if self.state is BreakerState.HALF_OPEN or (
            self.state is BreakerState.CLOSED and self.failures >= self.failure_threshold
        ):
            self.state = BreakerState.OPEN
            self._opened_at = self._clock()
            return True
        return False
