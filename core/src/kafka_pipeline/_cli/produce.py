"""``kafka-pipeline produce``: your own JSON lines onto a topic, keyed as the domain's producers key them."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final

import click
from pydantic import ValidationError

from kafka_pipeline._cli.common import (
    CommandError,
    config_option,
    domain_option,
    load_pipeline_config,
    quiet_loading,
)
from kafka_pipeline._config import PipelineConfig
from kafka_pipeline._discovery import discover_domains
from kafka_pipeline._domain import Domain
from kafka_pipeline._errors import format_validation_error

#: Invalid lines reported one by one; past this many only their count is given.
MAX_REPORTED: Final = 20
#: Sends awaited together: bounds the futures held for a large file.
_ACK_EVERY: Final = 10_000


@click.command()
@config_option(required=True)
@domain_option(
    required=False,
    help="Validate each line with this domain's model and key it by its trace id. "
    "The domain's source topic is the default topic.",
)
@click.option(
    "--topic",
    metavar="T",
    help="The topic to produce to. Default: source_topic in the configuration, else the domain's.",
)
@click.option("--bootstrap-servers", metavar="HOST:PORT[,...]", help="Overrides kafka.bootstrap_servers.")
@click.option(
    "--create-topic",
    is_flag=True,
    help="Create the topic if it does not exist (3 partitions). For development.",
)
@click.argument("file", type=click.File("rb"), metavar="FILE.jsonl")
def produce(
    *,
    config_path: Path,
    domain_name: str | None,
    topic: str | None,
    bootstrap_servers: str | None,
    create_topic: bool,
    file: IO[bytes],
) -> None:
    """Produce each line of FILE.jsonl to a topic as one record, for a worker to consume.

    With --domain, a line that the domain's model validates is keyed by its
    trace id, as the domain's producers key their results. A line that is
    not valid (not JSON, or failing the schema) is produced unchanged and
    without a key, and reported on stderr: producing bad input on purpose is
    how to see a worker park it on the dead-letter topic. FILE '-' reads
    stdin; blank lines are skipped.

    The topic must exist unless --create-topic is given. The kafka.*
    settings of the configuration apply (security, enable_idempotence).
    Prints one summary line; exits 1 when the broker cannot be reached or
    did not acknowledge every record.
    """
    config = load_pipeline_config(config_path).with_overrides(bootstrap_servers=bootstrap_servers)
    domain = _domain(domain_name)
    target = topic or config.source_topic or (domain.source_topic if domain else None)
    if target is None:
        raise click.UsageError("name the topic: --topic T, source_topic in the configuration, or --domain D")
    tally = Tally(domain.name if domain else None)
    records = _records(file, domain, tally)
    asyncio.run(_send(config, target, records, create=create_topic))
    if tally.hidden:
        click.echo(f"... and {tally.hidden} more invalid lines, not shown", err=True)
    click.echo(tally.summary(target, config.kafka.bootstrap_servers))


def _domain(name: str | None) -> Domain[Any] | None:
    if name is None:
        return None
    with quiet_loading():
        records = discover_domains()
    for record in records:
        if record.name == name:
            if record.domain is None:
                raise CommandError(
                    f"domain {name!r} ({record.distribution or '?'} {record.version or '?'}) failed to "
                    f"load: {record.error}"
                )
            return record.domain
    known = ", ".join(sorted(r.name for r in records if r.domain is not None)) or "none installed"
    raise click.BadParameter(
        f"unknown domain {name!r} (installed: {known}). "
        "Install the package that provides it; 'kafka-pipeline plugins' lists what is installed.",
        param_hint="'--domain'",
    )


@dataclass
class Tally:
    """What was produced, and why some lines went without a key."""

    #: The domain that validates the lines, if any.
    domain: str | None
    keyed: int = 0
    unkeyed: int = 0
    invalid: Counter[str] = field(default_factory=Counter)
    hidden: int = 0

    def invalid_line(self, number: int, reason: str, problem: str) -> None:
        self.invalid[reason] += 1
        if self.invalid.total() > MAX_REPORTED:
            self.hidden += 1
            return
        click.echo(
            f"line {number}: invalid for {self.domain} ({problem}); produced as is, without a key",
            err=True,
        )

    def summary(self, topic: str, servers: str) -> str:
        total = self.keyed + self.unkeyed
        head = f"produced {total} record{'s' if total != 1 else ''} to {topic} on {servers}: "
        if self.domain is None:
            return head + f"{total} without a key (no --domain, so lines were not validated)"
        reasons = ", ".join(f"{n} {reason}" for reason, n in sorted(self.invalid.items()))
        why = f" (invalid for {self.domain}: {reasons})" if reasons else ""
        return head + f"{self.keyed} keyed by trace id, {self.unkeyed} without a key{why}"


def _records(
    lines: Iterable[bytes], domain: Domain[Any] | None, tally: Tally
) -> Iterator[tuple[bytes | None, bytes]]:
    """``(key, value)`` per non-blank line; the key is the trace id of a line ``domain`` validates."""
    for number, raw in enumerate(lines, start=1):
        value = raw.rstrip(b"\r\n")  # the line as written: broken input stays broken the same way
        if not value.strip():
            continue
        key = _trace_id(domain, number, value, tally) if domain is not None else None
        if key is None:
            tally.unkeyed += 1
        else:
            tally.keyed += 1
        yield key, value


def _trace_id(domain: Domain[Any], number: int, value: bytes, tally: Tally) -> bytes | None:
    try:
        json.loads(value)
    except ValueError as exc:
        tally.invalid_line(number, "not JSON", f"not JSON: {exc}")
        return None
    try:
        message = domain.parse(value)
    except ValidationError as exc:
        problems = format_validation_error(exc)
        more = f" and {len(problems) - 1} more" if len(problems) > 1 else ""
        tally.invalid_line(number, "schema", f"schema: {problems[0]}{more}")
        return None
    try:
        return domain.trace_id(message).encode()
    except Exception as exc:  # the worker parks such a message as a schema failure, too
        tally.invalid_line(number, "schema", f"no trace id: {type(exc).__name__}: {exc}")
        return None


async def _send(
    config: PipelineConfig, topic: str, records: Iterable[tuple[bytes | None, bytes]], *, create: bool
) -> None:
    # Heavy imports (aiokafka) only for this command.
    from aiokafka.errors import KafkaError

    from kafka_pipeline._broker.clients import close_quietly, make_producer

    servers = config.kafka.bootstrap_servers
    await _require_topic(config, topic, create=create)
    producer = make_producer(config.kafka, delivery_timeout_seconds=config.worker.delivery_timeout_seconds)
    try:
        await producer.start()
        pending: list[asyncio.Future[Any]] = []
        for key, value in records:
            pending.append(await producer.send(topic, value, key=key))
            if len(pending) >= _ACK_EVERY:
                await _acknowledged(pending, config)
                pending.clear()
        await _acknowledged(pending, config)
    except (KafkaError, TimeoutError) as exc:
        raise CommandError(
            f"could not produce to {topic!r} on {servers}: {type(exc).__name__}: {exc}. "
            "Check that the broker is up and the kafka settings of the configuration "
            "(a broker without idempotent producers, such as the embedded one, "
            "needs kafka.enable_idempotence: false)"
        ) from exc
    finally:
        await close_quietly(producer.stop)


async def _acknowledged(pending: list[asyncio.Future[Any]], config: PipelineConfig) -> None:
    # An idempotent producer never gives up on a batch by itself: bound the wait, as the worker does.
    async with asyncio.timeout(2 * config.worker.delivery_timeout_seconds):
        await asyncio.gather(*pending)


async def _require_topic(config: PipelineConfig, topic: str, *, create: bool) -> None:
    """Fail fast on a missing topic: some brokers would create it, others make the producer wait."""
    from aiokafka.errors import KafkaConnectionError

    from kafka_pipeline._broker.clients import close_quietly, make_admin
    from kafka_pipeline._broker.topics import TopicAdmin

    servers = config.kafka.bootstrap_servers
    admin = make_admin(config.kafka)
    try:
        try:
            await admin.start()
        except KafkaConnectionError as exc:
            raise CommandError(
                f"no Kafka broker answered at {servers} ({exc}); check kafka.bootstrap_servers "
                "(or --bootstrap-servers) and that the cluster is reachable from here"
            ) from exc
        topics = TopicAdmin(admin, bootstrap_servers=servers, create=create)
        if not await topics.exists(topic):
            if not create:
                raise CommandError(
                    f"topic {topic!r} does not exist on {servers}. Create it (e.g. kafka-topics.sh "
                    f"--bootstrap-server {servers} --create --topic {topic}), produce to another "
                    "with --topic, or pass --create-topic (development only)"
                )
            await topics.require_source(topic)  # creates it, and logs that it did
    finally:
        await close_quietly(admin.close)
