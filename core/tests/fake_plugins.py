"""Routing plugins for core's tests, as the source of fake distributions, and where they go.

They route the ``widgets`` test domain from ``widget_domain``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from distributions import write_distribution

from kafka_pipeline._discovery import DOMAINS_GROUP, ROUTING_GROUP

#: Routes red widgets; a nested Config model with defaults.
RED_ROUTER = """
from pydantic import BaseModel

from kafka_pipeline import RoutingPlugin


class RedRouter(RoutingPlugin):
    name = "red-router"
    domain = "widgets"
    default_priority = 5

    class Config(BaseModel):
        topic: str = "widgets.red"
        min_size: int = 0

    def should_route(self, message):
        return message.colour == "red"

    async def route(self, message):
        self.send_to_topic(self.config.topic, message)
"""

#: Cross-domain: attaches to every domain whose messages are Routable.
PERMANENT_FAILURES = """
from kafka_pipeline import Routable, RoutingPlugin


class PermanentFailures(RoutingPlugin):
    name = "permanent-failures"
    requires = (Routable,)

    def should_route(self, message):
        return message.status == "failed_permanent"

    async def route(self, message):
        self.send_to_topic(
            f"alerts.{self.domain_name}", {"trace_id": message.trace_id, "domain": self.domain_name}
        )
"""

#: Raises on every message: a broken rule among good ones.
EXPLODING = """
from kafka_pipeline import RoutingPlugin


class Exploding(RoutingPlugin):
    name = "exploding"
    domain = "widgets"
    default_priority = 100

    def should_route(self, message):
        return message.colour == "blue"

    async def route(self, message):
        raise RuntimeError("the alerting service is down")
"""

#: A plugin whose ``should_route`` takes an argument core never passes: refused at registration.
EXTRA_ARGUMENT = RED_ROUTER.replace("red-router", "nosy-router").replace(
    "def should_route(self, message):", "def should_route(self, message, headers):"
)

WIDGET_PLUGINS = ("red-router", "permanent-failures")


@dataclass
class Site:
    """A directory on ``sys.path`` where a test installs fake distributions."""

    root: Path
    modules: list[str] = field(default_factory=list)

    def install(
        self,
        distribution: str,
        version: str = "1.0.0",
        *,
        plugins: Mapping[str, str] | None = None,
        domains: Mapping[str, str] | None = None,
        modules: Mapping[str, str] | None = None,
        requires: Sequence[str] = (),
    ) -> None:
        entry_points = {ROUTING_GROUP: plugins or {}, DOMAINS_GROUP: domains or {}}
        write_distribution(
            self.root,
            distribution,
            version,
            entry_points={group: eps for group, eps in entry_points.items() if eps},
            modules=modules,
            requires=requires,
        )
        self.modules += [m.split(".")[0] for m in modules or {}]

    def install_plugin(
        self, name: str, source: str, cls: str, *, version: str = "1.0.0", requires: Sequence[str] = ()
    ) -> str:
        """Install plugin ``name`` as distribution ``kafka-pipeline-<name>``; returns its module name."""
        module = name.replace("-", "_") + "_plugin"
        self.install(
            f"kafka-pipeline-{name}",
            version,
            plugins={name: f"{module}:{cls}"},
            modules={module: source},
            requires=requires,
        )
        return module
