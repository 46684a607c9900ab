"""Reading the DLQ topic: the replay group, and how much is left to read."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kafka_pipeline._config import PipelineConfig

#: Hears how far a replay got: records read so far, and of about how many (None: not known yet).
Progress = Callable[[int, int | None], None]


def replay_group(config: PipelineConfig, group_id: str | None = None) -> str:
    """The consumer group of replays: ``group_id``, else ``<kafka.group_id>.replay``."""
    return group_id or f"{config.kafka.group_id}.replay"


async def remaining(consumer: Any) -> int:
    """Records between the consumer's position and the high watermark of each assigned partition.

    The high watermark is the last fetch response's: ListOffsets is not
    trusted (the embedded broker answers it with a batch's base offset).
    """
    left = 0
    for tp in consumer.assignment():
        highwater = consumer.highwater(tp)
        if highwater is not None:
            left += max(0, highwater - await consumer.position(tp))
    return left
