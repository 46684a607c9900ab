"""The ``parcels`` test domain and its plugins, installable as a fake distribution.

The model has one field of each kind the Delta schema derivation handles
(Enum, Literal, datetime, nested model, list, computed field). The plugins
are the cast of the worker's tests: two well-behaved rules, and the broken
ones (a plugin that raises, one that hangs, one whose decision raises,
``rogue``, which raises what no plugin should, ``stubborn``, which hangs and
ignores cancellation, ``blocker``, which blocks the event loop, one whose
decision is not a bool, one whose ``route`` returns a value), plus
``dawdle``, which slows a worker down, and ``tally``, which lets a test see how
far a worker process has got.
"""

from __future__ import annotations

from pathlib import Path

from distributions import write_distribution

from kafka_pipeline._discovery import DOMAINS_GROUP, ROUTING_GROUP

PARCELS_DISTRIBUTION = "kafka-pipeline-parcels"

DOMAIN_MODULE = """
import datetime as dt
import enum
from typing import Literal

from pydantic import BaseModel, ConfigDict, computed_field

from kafka_pipeline import Domain


class Carrier(enum.Enum):
    POST = "post"
    EXPRESS = "express"


class Dimensions(BaseModel):
    width_cm: float
    height_cm: float


class ParcelResult(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    trace_id: str
    status: Literal["completed", "failed", "failed_permanent"]
    carrier: Carrier
    weight_kg: float
    items: int
    sent_at: dt.datetime
    fragile: bool = False
    dimensions: Dimensions | None = None
    tags: list[str] = []

    @computed_field
    @property
    def heavy(self) -> bool:
        return self.weight_kg >= 20


PARCELS = Domain(
    name="parcels",
    model=ParcelResult,
    source_topic="parcels.results",
    tables={"completed": "parcels", "failed_permanent": "parcels_failed"},
)
"""

PLUGINS_MODULE = '''
import asyncio
import os
import time
from pathlib import Path

from pydantic import BaseModel

from kafka_pipeline import RoutingPlugin


class ExpressRouter(RoutingPlugin):
    """Forwards completed express parcels as they came."""

    name = "express-router"
    domain = "parcels"
    default_priority = 10

    class Config(BaseModel):
        topic: str = "parcels.express"

    def should_route(self, message):
        return message.status == "completed" and message.carrier.value == "express"

    async def route(self, message):
        self.send_to_topic(self.config.topic, message)


class LossAlerter(RoutingPlugin):
    """An alert of its own making for every parcel lost for good."""

    name = "loss-alerter"
    domain = "parcels"

    class Config(BaseModel):
        topic: str = "parcels.alerts"

    def should_route(self, message):
        return message.status == "failed_permanent"

    async def route(self, message):
        alert = {"trace_id": message.trace_id, "weight_kg": message.weight_kg}
        self.send_to_topic(self.config.topic, alert, headers={"x-alert": "lost"})


class Fussy(RoutingPlugin):
    """Raises on its first ``fail_first`` calls (on all when negative), then forwards."""

    name = "fussy"
    domain = "parcels"

    class Config(BaseModel):
        topic: str = "parcels.fussy"
        fail_first: int = -1

    calls = 0

    def should_route(self, message):
        return "fussy" in message.tags

    async def route(self, message):
        self.calls += 1
        if self.config.fail_first < 0 or self.calls <= self.config.fail_first:
            self.send_to_topic(self.config.topic, message)  # sent, then the attempt fails
            raise RuntimeError(f"fussy refuses call {self.calls}")
        self.send_to_topic(self.config.topic, message)


class Sleepy(RoutingPlugin):
    """Sends, then never returns."""

    name = "sleepy"
    domain = "parcels"

    class Config(BaseModel):
        topic: str = "parcels.sleepy"

    def should_route(self, message):
        return "sleepy" in message.tags

    async def route(self, message):
        self.send_to_topic(self.config.topic, message)
        await asyncio.sleep(3600)


class Picky(RoutingPlugin):
    """Its very decision raises for parcels tagged 'picky'."""

    name = "picky"
    domain = "parcels"

    def should_route(self, message):
        if "picky" in message.tags:
            raise ValueError("picky cannot make up its mind")
        return False

    async def route(self, message):
        raise AssertionError("never matches")


class Leaky(RoutingPlugin):
    """Fails on parcels tagged 'leaky' quoting the SASL password, as a careless client library might."""

    name = "leaky"
    domain = "parcels"

    def should_route(self, message):
        return "leaky" in message.tags

    async def route(self, message):
        raise PermissionError(f"login with {os.environ.get('KAFKA_PIPELINE_SASL_PASSWORD')} refused")


class Dawdle(RoutingPlugin):
    """Takes its time over every message: keeps a worker busy long enough to be interrupted."""

    name = "dawdle"
    domain = "parcels"

    class Config(BaseModel):
        seconds: float = 0.001

    def should_route(self, message):
        return True

    async def route(self, message):
        await asyncio.sleep(self.config.seconds)


class Tally(RoutingPlugin):
    """Writes how many messages it has seen to ``path``, and 'stopped' when stopped."""

    name = "tally"
    domain = "parcels"

    class Config(BaseModel):
        path: str
        every: int = 100

    seen = 0

    def should_route(self, message):
        self.seen += 1
        if self.seen % self.config.every == 0:
            Path(self.config.path).write_text(str(self.seen))
        return False

    async def route(self, message):
        raise AssertionError("never matches")

    async def stop(self):
        Path(self.config.path).write_text(f"{self.seen} stopped")


class Rogue(RoutingPlugin):
    """Does what a parcel's ``rogue:<act>`` tag says, in ``route`` (or ``rogue-decision:<act>``, in
    ``should_route``): raise SystemExit(3), KeyboardInterrupt or CancelledError, the same after a
    first await (``late-exit``), send with a header name that is not a str (``bad-header``); any
    other act forwards the parcel."""

    name = "rogue"
    domain = "parcels"

    class Config(BaseModel):
        topic: str = "parcels.rogue"

    @staticmethod
    def act(message, prefix):
        return next((t.removeprefix(prefix) for t in message.tags if t.startswith(prefix)), None)

    @staticmethod
    def misbehave(act):
        if act == "exit":
            raise SystemExit(3)
        if act == "interrupt":
            raise KeyboardInterrupt
        if act == "cancel":
            raise asyncio.CancelledError

    def should_route(self, message):
        self.misbehave(self.act(message, "rogue-decision:"))
        return self.act(message, "rogue:") is not None

    async def route(self, message):
        act = self.act(message, "rogue:")
        if act == "late-exit":
            await asyncio.sleep(0)
            raise SystemExit(4)
        self.misbehave(act)
        if act == "bad-header":
            self.send_to_topic(self.config.topic, message, headers={1: "x"})
            return
        self.send_to_topic(self.config.topic, message)


class Stubborn(RoutingPlugin):
    """Hangs in the hook ``hang_in`` names (``start``, ``stop`` or ``route``), catching every
    cancellation unless ``swallow`` is off; otherwise forwards parcels tagged 'stubborn'."""

    name = "stubborn"
    domain = "parcels"

    class Config(BaseModel):
        hang_in: str = ""
        swallow: bool = True
        topic: str = "parcels.stubborn"

    async def hang(self):
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                if not self.config.swallow:
                    raise

    async def start(self):
        if self.config.hang_in == "start":
            await self.hang()

    async def stop(self):
        if self.config.hang_in == "stop":
            await self.hang()

    def should_route(self, message):
        return "stubborn" in message.tags

    async def route(self, message):
        if self.config.hang_in == "route":
            await self.hang()
        self.send_to_topic(self.config.topic, message)


class Blocker(RoutingPlugin):
    """Blocks the event loop with ``time.sleep(seconds)`` in route, for parcels tagged 'block'."""

    name = "blocker"
    domain = "parcels"

    class Config(BaseModel):
        seconds: float = 2.0

    def should_route(self, message):
        return "block" in message.tags

    async def route(self, message):
        time.sleep(self.config.seconds)


class Vague(RoutingPlugin):
    """Answers parcels tagged 'vague' with a number instead of True: a plugin failure."""

    name = "vague"
    domain = "parcels"

    class Config(BaseModel):
        topic: str = "parcels.vague"

    def should_route(self, message):
        if "vague" in message.tags:
            return len(message.tags)
        return False

    async def route(self, message):
        self.send_to_topic(self.config.topic, message)


class Chatty(RoutingPlugin):
    """Forwards parcels tagged 'chatty' and returns how many it sent, which nobody reads."""

    name = "chatty"
    domain = "parcels"

    class Config(BaseModel):
        topic: str = "parcels.chatty"

    def should_route(self, message):
        return "chatty" in message.tags

    async def route(self, message):
        self.send_to_topic(self.config.topic, message)
        return 1


class Nosy(RoutingPlugin):
    """Asks for an argument core never passes: invalid, so skipped wherever it is loaded."""

    name = "nosy"
    domain = "parcels"

    def should_route(self, message, headers):
        return True

    async def route(self, message):
        raise AssertionError("never registered")
'''

PLUGINS = {
    "express-router": "ExpressRouter",
    "loss-alerter": "LossAlerter",
    "fussy": "Fussy",
    "sleepy": "Sleepy",
    "picky": "Picky",
    "leaky": "Leaky",
    "dawdle": "Dawdle",
    "tally": "Tally",
    "nosy": "Nosy",
    "rogue": "Rogue",
    "stubborn": "Stubborn",
    "blocker": "Blocker",
    "vague": "Vague",
    "chatty": "Chatty",
}


def install_parcels(root: Path) -> Path:
    """Install the ``parcels`` domain and its plugins as one distribution under ``root``."""
    return write_distribution(
        root,
        PARCELS_DISTRIBUTION,
        "1.0.0",
        entry_points={
            DOMAINS_GROUP: {"parcels": "parcels_domain:PARCELS"},
            ROUTING_GROUP: {name: f"parcels_plugins:{cls}" for name, cls in PLUGINS.items()},
        },
        modules={"parcels_domain": DOMAIN_MODULE, "parcels_plugins": PLUGINS_MODULE},
    )
