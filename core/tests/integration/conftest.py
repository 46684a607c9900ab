"""Fixtures of the worker's integration tests: the broker, the ``parcels`` distribution, names.

The broker is the ``kafka_broker`` fixture of core's pytest plugin: the
embedded Tansu, or ``KAFKA_BOOTSTRAP_SERVERS``; a broker that cannot be had
fails the tests, it never skips them. Every test gets its own topics, group
and Delta root, so tests share the one broker without seeing each other.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from distributions import forget_modules

from integration.kit import Names, make_names
from integration.parcels import install_parcels
from integration.stores import S3, Azure, azurite, moto_server
from kafka_pipeline.testing.pytest_plugin import KafkaBroker


@pytest.fixture(scope="session", autouse=True)
def parcels_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The ``parcels`` distribution, importable here and (through PYTHONPATH) in worker processes."""
    root = install_parcels(tmp_path_factory.mktemp("parcels-site"))
    sys.path.insert(0, str(root))
    importlib.invalidate_caches()
    yield root
    sys.path.remove(str(root))
    forget_modules("parcels_domain")
    forget_modules("parcels_plugins")


@pytest.fixture(scope="session")
def bootstrap(kafka_broker: KafkaBroker) -> str:
    return kafka_broker.bootstrap_servers


@pytest.fixture
def names(tmp_path: Path, request: pytest.FixtureRequest) -> Names:
    return make_names(tmp_path, request.node.name)


@pytest.fixture(scope="session")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3]:
    """moto_server on loopback for the session; ``s3.bucket()`` gives each test its own bucket."""
    with moto_server(tmp_path_factory.mktemp("moto")) as store:
        yield store


@pytest.fixture(scope="session")
def azure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azure]:
    """Azurite's Blob service on loopback; ``azure.container()`` gives each test its own container."""
    with azurite(tmp_path_factory.mktemp("azurite")) as store:
        yield store
