"""pytest fixtures for routing-plugin authors: ``routing_harness`` and ``kafka_broker``.

Registered under the ``pytest11`` entry point, so pytest loads this module in
every run of an environment where core is installed, including runs that
never use these fixtures. Hence nothing happens at import: no discovery, no
broker, no Kafka client; each fixture imports what it needs when first used.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Protocol

import pytest

if TYPE_CHECKING:
    from kafka_pipeline.testing._harness import HarnessFactory

__all__ = [
    "ENV_BOOTSTRAP_SERVERS",
    "ExternalBroker",
    "HarnessFactory",
    "KafkaBroker",
    "kafka_broker",
    "routing_harness",
]


def __getattr__(name: str) -> Any:
    """``HarnessFactory``, imported on first use: 0.1.0's plugin tests import it from here."""
    if name == "HarnessFactory":
        from kafka_pipeline.testing._harness import HarnessFactory

        return HarnessFactory
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


ENV_BOOTSTRAP_SERVERS: Final = "KAFKA_BOOTSTRAP_SERVERS"


class KafkaBroker(Protocol):
    """What the ``kafka_broker`` fixture yields."""

    @property
    def bootstrap_servers(self) -> str: ...


@dataclass(frozen=True)
class ExternalBroker:
    """A broker the test run did not start, named by ``KAFKA_BOOTSTRAP_SERVERS``."""

    bootstrap_servers: str


@pytest.fixture
def routing_harness() -> HarnessFactory:
    """Build a :class:`~kafka_pipeline.testing.RoutingHarness`; use it with ``async with``.

    ``routing_harness("xact", plugins=[MyPlugin], config={...})``: without
    ``plugins``, every installed plugin of the domain is loaded.
    """
    from kafka_pipeline.testing._harness import RoutingHarness

    return RoutingHarness


def _reachable(bootstrap_servers: str) -> bool:
    for server in bootstrap_servers.split(","):
        host, _, port = server.strip().rpartition(":")
        address = (host.strip("[]") or "localhost", int(port) if port.isdigit() else -1)
        with contextlib.suppress(OSError, OverflowError), socket.create_connection(address, timeout=5):
            return True
    return False


@pytest.fixture(scope="session")
def kafka_broker() -> Iterator[KafkaBroker]:
    """A running Kafka-protocol broker for the whole session; use ``.bootstrap_servers``.

    ``KAFKA_BOOTSTRAP_SERVERS`` points the tests at a broker of your own;
    otherwise the embedded Tansu broker is started once and stopped at the
    end. A broker that cannot be had fails the tests that need it: a skip
    would let a CI run without a broker pass while testing nothing.
    """
    external = os.environ.get(ENV_BOOTSTRAP_SERVERS, "").strip()
    if external:
        if not _reachable(external):
            pytest.fail(
                f"{ENV_BOOTSTRAP_SERVERS}={external} but no broker answers there; start it, "
                f"or unset {ENV_BOOTSTRAP_SERVERS} to use the embedded broker",
                pytrace=False,
            )
        yield ExternalBroker(external)
        return

    from kafka_pipeline._broker.embedded import INSTALL_HINT, BrokerUnavailableError, EmbeddedBroker

    broker = EmbeddedBroker()
    try:
        broker.start()
    except BrokerUnavailableError as exc:
        problem = str(exc)
    else:
        problem = ""
    if problem:  # failed outside the except block so the report is not a chained traceback
        where = " (CI is set, so a missing broker is a failure)" if os.environ.get("CI") else ""
        pytest.fail(
            f"the kafka_broker fixture could not start the embedded broker{where}: {problem}\n"
            f"Install it with: {INSTALL_HINT}\n"
            f"or set {ENV_BOOTSTRAP_SERVERS} to a broker of your own.",
            pytrace=False,
        )
    try:
        yield broker
    finally:
        broker.stop()
