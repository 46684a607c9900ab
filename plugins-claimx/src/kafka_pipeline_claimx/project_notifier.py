"""``project-notifier``: project events, enriched or not, go to the project notification topic."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, field_validator

from kafka_pipeline_claimx.base import ClaimXRoutingPlugin, Topic
from kafka_pipeline_claimx.schema import EnrichmentResult

__all__ = ["PROJECT_EVENT_PREFIX", "ProjectNotifierPlugin"]

PROJECT_EVENT_PREFIX: Final = "project."


class ProjectNotifierPlugin(ClaimXRoutingPlugin):
    """Forwards every result whose ``event_type`` starts with ``project.`` to ``topic``.

    Whether enrichment succeeded does not matter: watchers of a project want
    to hear that it changed either way. With ``project_ids`` set, only those
    projects are notified; without it, every project is.
    """

    name = "project-notifier"

    class Config(BaseModel):
        # Project ids are text in messages; YAML lists of numbers must match them.
        model_config = ConfigDict(frozen=True, coerce_numbers_to_str=True)

        #: Where project events are sent.
        topic: Topic = "claimx.projects.notifications"
        #: Only these projects are notified; absent (null) means every project.
        project_ids: tuple[str, ...] | None = None

        @field_validator("project_ids")
        @classmethod
        def _not_empty(cls, ids: tuple[str, ...] | None) -> tuple[str, ...] | None:
            if ids is not None and not ids:
                raise ValueError(
                    "an empty allow-list would notify no project; leave project_ids out to notify "
                    "every project, or set 'enabled: false' to turn the plugin off"
                )
            return ids

    config: Config

    def __init__(self, config: Mapping[str, Any] | BaseModel | None = None) -> None:
        super().__init__(config)
        ids = self.config.project_ids
        # A set: allow-lists of hundreds of projects are checked per message.
        self._allowed: frozenset[str] | None = None if ids is None else frozenset(ids)

    def should_route(self, message: EnrichmentResult) -> bool:
        event = message.event
        return event.event_type.startswith(PROJECT_EVENT_PREFIX) and (
            self._allowed is None or event.project_id in self._allowed
        )

    async def route(self, message: EnrichmentResult) -> None:
        # The message object itself, so core forwards its original bytes.
        self.send_to_topic(self.config.topic, message)
