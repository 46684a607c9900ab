"""The aiokafka clients of a worker, configured from ``kafka:`` settings.

Security settings (TLS files, SASL) are passed through unchanged; the SASL
password comes from the configuration's secret or the environment and is
never logged.

Each client's ``start()`` turns a broker's refusal that a configuration can
cause (a SASL login refused, an idempotent producer refused, a protocol
version missing) into a :class:`BrokerRefusedError` that names the setting to
change, instead of aiokafka's bare ``UnknownError`` or ``KeyError``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import traceback
from collections.abc import Awaitable, Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka import errors as kafka_errors
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaConnectionError
from aiokafka.helpers import create_ssl_context

from kafka_pipeline._broker.partitioner import KeyPartitioner
from kafka_pipeline._config import ENV_SASL_PASSWORD, KafkaSettings
from kafka_pipeline._errors import BrokerConnectionError, BrokerRefusedError, ConfigError, KafkaPipelineError

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


def _raised_in_aiokafka_connection(exc: BaseException) -> bool:
    frames = traceback.extract_tb(exc.__traceback__)
    return bool(frames) and Path(frames[-1].filename).parts[-2:] == ("aiokafka", "conn.py")


def explain_refusal(exc: BaseException, kafka: KafkaSettings, client: str) -> KafkaPipelineError | None:
    """The error to raise when ``client`` (``"producer"``, ...) failed to start with ``exc``, or None.

    None means that there is nothing better to say than ``exc`` itself.

    aiokafka tries each bootstrap server in turn and, when none lets it in,
    raises ``KafkaConnectionError`` and logs each server's reason; so a
    refused SASL login may come as that too.
    """
    servers = kafka.bootstrap_servers
    sasl = kafka.security_protocol.startswith("SASL")
    mechanism = kafka.sasl_mechanism or "PLAIN"
    login = (
        f"check kafka.sasl_username ({kafka.sasl_username!r}), the password ({ENV_SASL_PASSWORD} or "
        "kafka.sasl_password) and kafka.sasl_mechanism"
    )
    if sasl and isinstance(
        exc, kafka_errors.UnsupportedSaslMechanismError | kafka_errors.AuthenticationMethodNotSupported
    ):
        return BrokerRefusedError(
            f"the broker at {servers} does not offer SASL mechanism {mechanism} ({type(exc).__name__}); "
            "set kafka.sasl_mechanism to one it offers"
        )
    refused_login = (
        kafka_errors.SaslAuthenticationFailed,
        kafka_errors.AuthenticationFailedError,
        kafka_errors.IllegalSaslStateError,
    )
    # aiokafka's SCRAM client fails with a KeyError on the server's "e=" answer to a wrong password.
    if sasl and (isinstance(exc, refused_login) or _raised_in_aiokafka_connection(exc)):
        return BrokerRefusedError(
            f"the broker at {servers} refused the SASL {mechanism} login of the {client} "
            f"({type(exc).__name__}); {login}"
        )
    if sasl and isinstance(exc, kafka_errors.KafkaConnectionError):
        return BrokerConnectionError(
            f"no Kafka broker at {servers} let the {client} in ({exc}): either none is reachable "
            "(check kafka.bootstrap_servers and the network) or each refused the SASL login "
            f"({login}); aiokafka's log line above gives each broker's reason"
        )
    idempotence_refused = (
        kafka_errors.UnknownError,
        kafka_errors.ClusterAuthorizationFailedError,
        kafka_errors.TransactionalIdAuthorizationFailed,
        kafka_errors.UnsupportedVersionError,
    )
    if client == "producer" and kafka.enable_idempotence and isinstance(exc, idempotence_refused):
        return BrokerRefusedError(
            f"the broker at {servers} refused the idempotent producer ({type(exc).__name__} to "
            "InitProducerId): set kafka.enable_idempotence: false for a broker without idempotence "
            "(the embedded development broker is one), or on a real cluster grant this client the "
            "IdempotentWrite permission on the cluster"
        )
    if isinstance(exc, kafka_errors.UnsupportedVersionError):
        return BrokerRefusedError(
            f"the broker at {servers} does not support a request the {client} needs ({exc}); "
            "kafka-pipeline needs Kafka 0.11 or later (record headers)"
        )
    if isinstance(
        exc, kafka_errors.TopicAuthorizationFailedError | kafka_errors.GroupAuthorizationFailedError
    ):
        return BrokerRefusedError(
            f"the broker at {servers} refused the {client} access ({type(exc).__name__}); grant this "
            f"client (kafka.sasl_username {kafka.sasl_username!r}) access to the topics and to group "
            f"{kafka.group_id!r}"
        )
    return None


@contextlib.contextmanager
def _explained(kafka: KafkaSettings, client: str) -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        explained = explain_refusal(exc, kafka, client)
        if explained is None:
            raise
        raise explained from exc


# aiokafka is untyped, hence Any to mypy: the subclasses below add only an explained start().


class _Consumer(AIOKafkaConsumer):  # type: ignore[misc]
    def __init__(self, kafka: KafkaSettings, **options: Any) -> None:
        super().__init__(**options)
        self._pipeline_kafka = kafka

    async def start(self) -> None:
        with _explained(self._pipeline_kafka, "consumer"):
            await super().start()


class _Producer(AIOKafkaProducer):  # type: ignore[misc]
    def __init__(self, kafka: KafkaSettings, **options: Any) -> None:
        super().__init__(**options)
        self._pipeline_kafka = kafka

    async def start(self) -> None:
        with _explained(self._pipeline_kafka, "producer"):
            await super().start()


class _Admin(AIOKafkaAdminClient):  # type: ignore[misc]
    def __init__(self, kafka: KafkaSettings, **options: Any) -> None:
        super().__init__(**options)
        self._pipeline_kafka = kafka

    async def start(self) -> None:
        with _explained(self._pipeline_kafka, "admin client"):
            await super().start()


def make_consumer(kafka: KafkaSettings, extra: Mapping[str, Any] | None = None) -> AIOKafkaConsumer:
    """A group consumer that never commits on its own: the worker commits after Delta."""
    return _Consumer(
        kafka,
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
    return _Producer(
        kafka,
        acks="all",
        enable_idempotence=kafka.enable_idempotence,
        linger_ms=kafka.linger_ms,
        max_batch_size=kafka.max_batch_size,
        partitioner=KeyPartitioner(),
        **(timeout | _common(kafka, extra)),
    )


def make_admin(kafka: KafkaSettings, extra: Mapping[str, Any] | None = None) -> AIOKafkaAdminClient:
    """The admin client that checks (and with ``--create-topics`` creates) topics."""
    return _Admin(kafka, **_common(kafka, extra))


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
