"""The per-plugin circuit breaker: closed, open after N failed messages, one trial after the cooldown."""

from __future__ import annotations

from kafka_pipeline import parse_config
from kafka_pipeline._engine.resilience import BreakerState, CircuitBreaker, PluginPolicy


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def breaker(threshold: int = 3, reset: float = 30.0) -> tuple[CircuitBreaker, Clock]:
    clock = Clock()
    return CircuitBreaker(threshold, reset, clock), clock


def fail(b: CircuitBreaker, times: int) -> list[bool]:
    return [b.record_failure() for _ in range(times)]


def test_a_new_breaker_lets_messages_through() -> None:
    b, _ = breaker()

    assert (b.allow(), b.state) == (True, BreakerState.CLOSED)


def test_failures_below_the_threshold_keep_it_closed() -> None:
    b, _ = breaker(threshold=3)
    fail(b, 2)

    assert (b.allow(), b.state) == (True, BreakerState.CLOSED)


def test_the_failure_that_reaches_the_threshold_opens_it() -> None:
    b, _ = breaker(threshold=3)

    assert fail(b, 3) == [False, False, True]
    assert b.state is BreakerState.OPEN


def test_an_open_breaker_refuses_messages_until_the_cooldown_has_passed() -> None:
    b, clock = breaker(threshold=1, reset=30)
    fail(b, 1)
    clock.now += 29.9

    assert b.allow() is False


def test_after_the_cooldown_one_trial_is_let_through() -> None:
    b, clock = breaker(threshold=1, reset=30)
    fail(b, 1)
    clock.now += 30

    assert (b.allow(), b.state) == (True, BreakerState.HALF_OPEN)


def test_while_the_trial_runs_no_other_message_is_let_through() -> None:
    b, clock = breaker(threshold=1, reset=30)
    fail(b, 1)
    clock.now += 30
    b.allow()

    assert b.allow() is False


def test_a_successful_trial_closes_the_breaker() -> None:
    b, clock = breaker(threshold=1, reset=30)
    fail(b, 1)
    clock.now += 30
    b.allow()

    b.record_success()

    assert (b.state, b.failures, b.allow()) == (BreakerState.CLOSED, 0, True)


def test_a_failed_trial_opens_it_again_for_a_full_cooldown() -> None:
    b, clock = breaker(threshold=1, reset=30)
    fail(b, 1)
    clock.now += 30
    b.allow()

    reopened = b.record_failure()
    clock.now += 29

    assert (reopened, b.state, b.allow()) == (True, BreakerState.OPEN, False)


def test_a_success_resets_the_count_of_consecutive_failures() -> None:
    b, _ = breaker(threshold=3)
    fail(b, 2)
    b.record_success()

    assert fail(b, 2) == [False, False]


def test_a_plugins_own_settings_override_the_resilience_defaults() -> None:
    config = parse_config(
        {
            "resilience": {"timeout_seconds": 5, "max_retries": 2, "breaker_failure_threshold": 5},
            "plugins": {"slow": {"timeout_seconds": 30, "max_retries": 0}},
        }
    )

    assert PluginPolicy.for_plugin(config, "slow") == PluginPolicy(
        timeout_seconds=30,
        max_retries=0,
        retry_backoff_seconds=0.05,
        failure_threshold=5,
        reset_seconds=30.0,
    )


def test_retries_back_off_exponentially() -> None:
    policy = PluginPolicy.for_plugin(parse_config({"resilience": {"retry_backoff_seconds": 0.1}}), "any")

    assert [policy.backoff(n) for n in range(3)] == [0.1, 0.2, 0.4]
