"""Missing topics are a clear error, never a hang; ``--create-topics`` creates them for development."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from integration.kit import (
    Names,
    WorkerProcess,
    config_data,
    create_topics,
    encode,
    parcel,
    produce,
    read_topic,
    run_worker,
    topic_partitions,
    write_config,
)
from kafka_pipeline import parse_config
from kafka_pipeline._broker.embedded import free_port
from kafka_pipeline._errors import BrokerConnectionError, TopicMissingError
from kafka_pipeline._worker.runner import Worker

pytestmark = pytest.mark.integration


def express_config(bootstrap: str, names: Names) -> dict[str, object]:
    return config_data(bootstrap, names, {"express-router": {"config": {"topic": names.topic("express")}}})


def test_a_missing_source_topic_stops_the_worker_command_with_what_to_do(
    bootstrap: str, names: Names, parcels_site: Path, tmp_path: Path
) -> None:
    config = write_config(tmp_path / "worker.yaml", express_config(bootstrap, names))
    worker = WorkerProcess(
        ["--domain", "parcels", "--config", str(config)], parcels_site, tmp_path / "worker.log"
    ).start()

    status = worker.wait(timeout=60)

    assert status == 1
    assert f"source topic '{names.source}' does not exist on {bootstrap}" in worker.output()
    assert "or pass --create-topics (development only)" in worker.output()


def test_a_missing_dlq_topic_stops_the_worker_before_it_consumes(bootstrap: str, names: Names) -> None:
    asyncio.run(create_topics(bootstrap, names.source))

    with pytest.raises(TopicMissingError, match=rf"dead-letter topic '{names.dlq}' does not exist"):
        run_worker(express_config(bootstrap, names))


def test_an_unreachable_broker_is_named_in_the_error(names: Names) -> None:
    unreachable = f"127.0.0.1:{free_port()}"
    config = parse_config(config_data(unreachable, names, {}))

    with pytest.raises(BrokerConnectionError, match=f"no Kafka broker answered at {unreachable}"):
        asyncio.run(Worker.from_config(config, "parcels").run())


def test_a_routed_topic_that_does_not_exist_parks_the_message_naming_plugin_and_topic(
    bootstrap: str, names: Names
) -> None:
    asyncio.run(create_topics(bootstrap, names.source, names.dlq))
    asyncio.run(produce(bootstrap, names.source, [(b"e-1", encode(parcel("e-1", carrier="express")))]))

    run_worker(express_config(bootstrap, names))

    (parked,) = asyncio.run(read_topic(bootstrap, names.dlq))
    assert (parked.headers["x-dlq-reason"], parked.headers["x-dlq-plugin"]) == (
        "plugin_error",
        "express-router",
    )
    assert parked.headers["x-dlq-error"].startswith(
        f"route: TopicMissingError: plugin 'express-router' sent to topic '{names.topic('express')}', "
        f"which does not exist on {bootstrap}"
    )


def test_create_topics_creates_a_missing_source_and_dlq_topic(bootstrap: str, names: Names) -> None:
    run_worker(express_config(bootstrap, names), idle=0.5, create_topics=True)

    assert asyncio.run(topic_partitions(bootstrap, names.source)) == [0, 1, 2]
    assert asyncio.run(topic_partitions(bootstrap, names.dlq)) == [0, 1, 2]


def test_create_topics_creates_a_routed_topic_when_a_plugin_first_sends_to_it(
    bootstrap: str, names: Names
) -> None:
    asyncio.run(create_topics(bootstrap, names.source, names.dlq))
    asyncio.run(produce(bootstrap, names.source, [(b"e-1", encode(parcel("e-1", carrier="express")))]))

    run_worker(express_config(bootstrap, names), create_topics=True)

    assert [r.key for r in asyncio.run(read_topic(bootstrap, names.topic("express")))] == [b"e-1"]
