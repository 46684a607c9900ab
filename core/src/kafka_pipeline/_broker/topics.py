"""Which topics exist, and creating the missing ones when the operator asked for it.

A worker must not hang on a topic that is not there: aiokafka waits for
metadata of an unknown topic until its request timeout, and some brokers
(Tansu among them) silently create any topic a producer names. So the
worker checks each topic once, through the admin API, before first use.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, Final

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from kafka_pipeline._errors import TopicMissingError, WorkerError

log = logging.getLogger("kafka_pipeline.worker.topics")

#: Partitions of topics that ``--create-topics`` creates.
DEV_TOPIC_PARTITIONS: Final = 3

_TOPIC_ALREADY_EXISTS: Final = 36
_DEV_ONLY: Final = "pass --create-topics (development only)"


class TopicAdmin:
    """Knows which topics exist; creates missing ones only when ``create`` is set."""

    def __init__(
        self,
        admin: AIOKafkaAdminClient,
        *,
        bootstrap_servers: str,
        create: bool = False,
        partitions: int = DEV_TOPIC_PARTITIONS,
        refresh_seconds: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._admin = admin
        self.bootstrap_servers = bootstrap_servers
        self.create = create
        self.partitions = partitions
        self._refresh_seconds = refresh_seconds
        self._clock = clock
        self._existing: set[str] = set()
        self._listed_at: float | None = None

    async def exists(self, topic: str) -> bool:
        """Whether ``topic`` exists; the broker is asked at most every ``refresh_seconds`` for a miss."""
        if topic in self._existing:
            return True
        now = self._clock()
        if self._listed_at is None or now - self._listed_at >= self._refresh_seconds:
            self._existing = set(await self._admin.list_topics())
            self._listed_at = now
        return topic in self._existing

    async def require_source(self, topic: str) -> None:
        if not await self.exists(topic):
            await self._create_or_raise(
                topic,
                f"source topic {topic!r} does not exist on {self.bootstrap_servers}. Create it "
                f"(e.g. kafka-topics.sh --bootstrap-server {self.bootstrap_servers} --create "
                f"--topic {topic}), set source_topic in the configuration to an existing topic, "
                f"or {_DEV_ONLY}",
            )

    async def require_dlq(self, topic: str) -> None:
        if not await self.exists(topic):
            await self._create_or_raise(
                topic,
                f"dead-letter topic {topic!r} does not exist on {self.bootstrap_servers}; invalid "
                "messages and plugin failures could not be parked. Create it, set dlq_topic in the "
                f"configuration to an existing topic, or {_DEV_ONLY}",
            )

    async def require_routed(self, topic: str, plugin: str) -> None:
        if not await self.exists(topic):
            await self._create_or_raise(
                topic,
                f"plugin {plugin!r} sent to topic {topic!r}, which does not exist on "
                f"{self.bootstrap_servers}. Create the topic, correct the topic in "
                f"plugins.{plugin}.config, or {_DEV_ONLY}",
                plugin=plugin,
            )

    async def _create_or_raise(self, topic: str, problem: str, plugin: str | None = None) -> None:
        if not self.create:
            raise TopicMissingError(
                problem, topic=topic, bootstrap_servers=self.bootstrap_servers, plugin=plugin
            )
        response: Any = await self._admin.create_topics([NewTopic(topic, self.partitions, 1)])
        for name, code, message in (e[:3] for e in response.topic_errors):
            if code not in (0, _TOPIC_ALREADY_EXISTS):
                raise WorkerError(
                    f"could not create topic {name!r} on {self.bootstrap_servers}: error {code} "
                    f"({message}); create it by hand or check the broker's permissions"
                )
        log.warning(
            "created missing topic %s (%d partitions)", topic, self.partitions, extra={"topic": topic}
        )
        self._existing.add(topic)
