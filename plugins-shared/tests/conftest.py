"""The ``route`` fixture: one plugin, one message of a stand-in domain, through core's ``routing_harness``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from shared_support import Route

from kafka_pipeline import Domain, RoutingPlugin
from kafka_pipeline.testing import HarnessFactory, SentRecord


@pytest.fixture
def route(routing_harness: HarnessFactory) -> Route:
    """What ``plugin`` (given ``config``, else its defaults) sends for ``message`` of ``domain``."""

    async def route(
        domain: Domain[Any],
        plugin: type[RoutingPlugin[Any]],
        message: str,
        config: Mapping[str, Any] | None = None,
    ) -> list[SentRecord]:
        settings = {"plugins": {plugin.name: {"config": dict(config)}}} if config is not None else None
        async with routing_harness(domain, [plugin], config=settings) as harness:
            return await harness.route(message)

    return route
