"""The ``route`` fixture: one XACT plugin, one message, through core's ``routing_harness``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from xact_support import Route

from kafka_pipeline import RoutingPlugin
from kafka_pipeline.testing import HarnessFactory, SentRecord
from kafka_pipeline_xact import XACT_DOMAIN


@pytest.fixture
def route(routing_harness: HarnessFactory) -> Route:
    """What ``plugin`` (given ``config``, else its defaults) sends for ``message``."""

    async def route(
        plugin: type[RoutingPlugin[Any]], message: str, config: Mapping[str, Any] | None = None
    ) -> list[SentRecord]:
        settings = {"plugins": {plugin.name: {"config": dict(config)}}} if config is not None else None
        async with routing_harness(XACT_DOMAIN, [plugin], config=settings) as harness:
            return await harness.route(message)

    return route
