"""Committing consumed offsets to Kafka: the last step of every flush."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiokafka import TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError

from kafka_pipeline._config import WorkerSettings
from kafka_pipeline._errors import OffsetCommitError

log = logging.getLogger("kafka_pipeline.worker.offsets")


async def commit_offsets(
    consumer: Any,
    offsets: Mapping[tuple[str, int], int],
    *,
    group_id: str,
    retries: int,
    backoff_seconds: float,
    timeout_seconds: float,
) -> None:
    """Commit the next offset of each ``(topic, partition)`` this consumer still owns.

    A commit the group refuses because it rebalanced is not an error: the
    work is acknowledged and in Delta, the partitions' next owner consumes it
    again from the previous commit and Delta skips what it already holds.
    Other failures, and attempts unanswered after ``timeout_seconds``, are
    retried, then raise :class:`OffsetCommitError`.
    """
    assigned = consumer.assignment()
    mine = {TopicPartition(t, p): o for (t, p), o in offsets.items() if TopicPartition(t, p) in assigned}
    if not mine:
        return
    for attempt in range(retries + 1):
        try:
            # aiokafka retries an unreachable coordinator for ever: without a bound, a broker
            # outage would hang the worker here instead of stopping it.
            await asyncio.wait_for(consumer.commit(mine), timeout_seconds)
        except CommitFailedError as exc:
            log.warning("offset commit refused after a rebalance (%s); the next owner resumes", exc)
            return
        except (KafkaError, TimeoutError) as exc:
            if attempt == retries:
                problem = (
                    f"no answer from the group coordinator within {timeout_seconds:g}s"
                    if isinstance(exc, TimeoutError)
                    else repr(exc)
                )
                raise OffsetCommitError(
                    f"could not commit offsets for group {group_id!r} after {retries + 1} attempts: "
                    f"{problem}. Routed records and Delta rows are durable; restart the worker and it "
                    "resumes from the last commit"
                ) from exc
            await asyncio.sleep(backoff_seconds * 2.0**attempt)
        else:
            return


def offset_committer(
    consumer: Any, group_id: str, settings: WorkerSettings
) -> Callable[[Mapping[tuple[str, int], int]], Awaitable[None]]:
    """:func:`commit_offsets` for ``consumer``, with the ``worker:`` retry and timeout settings."""
    return functools.partial(
        commit_offsets,
        consumer,
        group_id=group_id,
        retries=settings.delivery_retries,
        backoff_seconds=settings.delivery_backoff_seconds,
        timeout_seconds=settings.delivery_timeout_seconds,
    )
