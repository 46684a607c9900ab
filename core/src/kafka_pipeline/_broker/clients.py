"""The aiokafka clients of a worker, configured from ``kafka:`` settings.

Security settings (TLS files, SASL) are passed through unchanged; the SASL
password comes from the configuration's secret or the environment and is
never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaConnectionError
from aiokafka.helpers import create_ssl_context

from kafka_pipeline._broker.partitioner import KeyPartitioner
from kafka_pipeline._config import KafkaSettings
from kafka_pipeline._errors import BrokerConnectionError, ConfigError

log = logging.getLogger("kafka_pipeline.worker.clients")


def security_options(kafka: KafkaSettings) -> dict[str, Any]:
    """aiokafka's ``security_protocol``, ``ssl_context`` and ``sasl_*`` arguments."""
    options: dict[str, Any] = {"security_protocol": kafka.security_protocol}
    if "SSL" in kafka.security_protocol:
        options["ssl_context"] = create_ssl_context(
            cafile=kafka.ssl_cafile, certfile=kafka.ssl_certfile, keyfile=kafka.ssl_keyfile
        )
    if kafka.security_protocol.startswith("SASL"):
        mechanism = kafka.sasl_mechanism or "PLAIN"
        if mechanism == "OAUTHBEARER":
            raise ConfigError(
                [
                    "kafka.sasl_mechanism: OAUTHBEARER needs a token provider, which a configuration "
                    "file cannot hold; build the Worker in Python with "
                    "client_options={'sasl_oauth_token_provider': ...}"
                ]
            )
        if kafka.sasl_username is None or kafka.sasl_password is None:
            raise ConfigError(
                [
                    f"kafka.sasl_username / kafka.sasl_password: {kafka.security_protocol} needs both; "
                    "set the password in the KAFKA_PIPELINE_SASL_PASSWORD environment variable"
                ]
            )
        options["sasl_mechanism"] = mechanism
        options["sasl_plain_username"] = kafka.sasl_username
        options["sasl_plain_password"] = kafka.sasl_password.get_secret_value()
    return options


def _common(kafka: KafkaSettings, extra: Mapping[str, Any] | None) -> dict[str, Any]:
    options = {"bootstrap_servers": kafka.bootstrap_servers, "client_id": kafka.client_id}
    try:
        options |= security_options(kafka)
    except ConfigError:
        if not extra or "sasl_oauth_token_provider" not in extra:
            raise
        options |= {"security_protocol": kafka.security_protocol, "sasl_mechanism": "OAUTHBEARER"}
    return options | dict(extra or {})


def make_consumer(kafka: KafkaSettings, extra: Mapping[str, Any] | None = None) -> AIOKafkaConsumer:
    """A group consumer that never commits on its own: the worker commits after Delta."""
    return AIOKafkaConsumer(
        group_id=kafka.group_id,
        enable_auto_commit=False,
        auto_offset_reset=kafka.auto_offset_reset,
        session_timeout_ms=kafka.session_timeout_ms,
        heartbeat_interval_ms=min(3_000, kafka.session_timeout_ms // 3),
        max_poll_interval_ms=kafka.max_poll_interval_ms,
        **_common(kafka, extra),
    )


def make_producer(
    kafka: KafkaSettings,
    extra: Mapping[str, Any] | None = None,
    *,
    delivery_timeout_seconds: float = 40.0,
) -> AIOKafkaProducer:
    """The one producer of routed and DLQ records: every record acknowledged by all in-sync replicas.

    A batch not acknowledged within ``delivery_timeout_seconds`` fails (aiokafka's
    ``request_timeout_ms``, which ``extra`` may still set), so that the worker can
    retry it, or stop.
    """
    timeout = {"request_timeout_ms": round(delivery_timeout_seconds * 1000)}
    return AIOKafkaProducer(
        acks="all",
        enable_idempotence=kafka.enable_idempotence,
        linger_ms=kafka.linger_ms,
        max_batch_size=kafka.max_batch_size,
        partitioner=KeyPartitioner(),
        **(timeout | _common(kafka, extra)),
    )


def make_admin(kafka: KafkaSettings, extra: Mapping[str, Any] | None = None) -> AIOKafkaAdminClient:
    """The admin client that checks (and with ``--create-topics`` creates) topics."""
    return AIOKafkaAdminClient(**_common(kafka, extra))


#: How long closing one client may take before the worker leaves it behind.
CLOSE_TIMEOUT_SECONDS = 30.0


async def close_quietly(close: Callable[[], Awaitable[object]]) -> None:
    """Close a client on the way out; a failure to close must not hide why the worker stopped.

    With the broker unreachable, aiokafka's consumer ``stop()`` raises the
    ``CancelledError`` of a fetch it cancelled itself; only a cancellation of
    this very task goes on up. An idempotent producer's ``stop()`` waits for
    its unacknowledged batches without end: past ``CLOSE_TIMEOUT_SECONDS`` it is
    left behind (nothing is lost: no offset was committed for those records).
    """
    try:
        async with asyncio.timeout(CLOSE_TIMEOUT_SECONDS):
            await close()
    except TimeoutError:
        log.warning("closing %r took more than %gs; leaving it behind", close, CLOSE_TIMEOUT_SECONDS)
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise
        log.warning("closing %r was cut short by a cancelled request inside the client", close)
    except Exception as exc:
        log.warning("closing %r failed: %s", close, exc)


async def start_admin(
    stack: contextlib.AsyncExitStack, kafka: KafkaSettings, extra: Mapping[str, Any] | None = None
) -> AIOKafkaAdminClient:
    """A started admin client, closed by ``stack``; the first contact with the cluster.

    Raises :class:`BrokerConnectionError` when no broker answers.
    """
    admin = make_admin(kafka, extra)
    stack.push_async_callback(close_quietly, admin.close)
    try:
        await admin.start()
    except KafkaConnectionError as exc:
        raise BrokerConnectionError(
            f"no Kafka broker answered at {kafka.bootstrap_servers} ({exc}); check kafka.bootstrap_servers "
            "(or --bootstrap-servers) and that the cluster is reachable from here"
        ) from exc
    return admin


async def start_producer(
    stack: contextlib.AsyncExitStack,
    kafka: KafkaSettings,
    extra: Mapping[str, Any] | None = None,
    *,
    delivery_timeout_seconds: float = 40.0,
) -> AIOKafkaProducer:
    """A started producer (see :func:`make_producer`), closed by ``stack``."""
    producer = make_producer(kafka, extra, delivery_timeout_seconds=delivery_timeout_seconds)
    stack.push_async_callback(close_quietly, producer.stop)
    await producer.start()
    return producer
