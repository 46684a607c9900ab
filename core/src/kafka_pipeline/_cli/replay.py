"""``kafka-pipeline replay``: dead-lettered plugin failures, run again through the plugin that failed."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import click

from kafka_pipeline._cli.common import config_option, domain_option, load_pipeline_config, require_domain
from kafka_pipeline._loading import discover

REASONS = ("plugin_error", "circuit_open")


@click.command()
@domain_option(required=True)
@config_option(required=True)
@click.option(
    "--reason",
    "reasons",
    type=click.Choice(REASONS),
    multiple=True,
    help="Replay only records parked for this x-dlq-reason (repeatable). Default: both.",
)
@click.option(
    "--plugin", "plugin_name", metavar="NAME", help="Replay only the records parked for this plugin."
)
@click.option(
    "--exit-when-idle",
    type=click.FloatRange(min=0, min_open=True),
    default=5.0,
    show_default=True,
    metavar="SECONDS",
    help="Stop once no DLQ record arrived for this long: the DLQ is drained.",
)
@click.option(
    "--replay-group",
    metavar="GROUP",
    help="The replay's consumer group, which remembers how far replays got. "
    "Default: <kafka.group_id>.replay.",
)
@click.option("--bootstrap-servers", metavar="HOST:PORT[,...]", help="Overrides kafka.bootstrap_servers.")
@click.option("--group-id", metavar="GROUP", help="Overrides kafka.group_id.")
def replay(
    *,
    domain_name: str,
    config_path: Path,
    reasons: tuple[str, ...],
    plugin_name: str | None,
    exit_when_idle: float,
    replay_group: str | None,
    bootstrap_servers: str | None,
    group_id: str | None,
) -> None:
    """Re-run dead-lettered plugin failures through the plugin that failed, only.

    Reads the domain's DLQ topic with a consumer group of its own, from where
    the last replay stopped (the start, the first time). Each plugin_error or
    circuit_open record is parsed again and offered to the plugin named in
    its x-dlq-plugin header alone, with that plugin's timeout, retries and
    breaker, as configured in --config: the other plugins already routed it
    and Delta already holds it, so neither happens again. Routed records
    carry the original x-source-* headers. Offsets are committed after each
    batch's records are acknowledged.

    Invalid input (invalid_json, schema) is left alone. A record that fails
    again goes back to the end of the DLQ, as does a failure that --reason or
    --plugin did not select. Prints a summary; exits 0 even when some records
    failed again (they are counted), 1 when the replay itself cannot run.
    """
    from kafka_pipeline._dlq import DlqReason
    from kafka_pipeline._replay import Replayer

    config = load_pipeline_config(config_path).with_overrides(
        bootstrap_servers=bootstrap_servers, group_id=group_id
    )
    installation = discover(config)
    require_domain(installation, domain_name)
    registry = installation.registry(domain_name)
    if plugin_name is not None:
        if plugin_name not in registry:
            running = ", ".join(p.name for p in registry.plugins) or "none"
            raise click.BadParameter(
                f"no enabled plugin {plugin_name!r} for domain {domain_name!r} (enabled: {running}); "
                "a replay runs the plugin as --config configures it, so it must be installed and enabled",
                param_hint="'--plugin'",
            )
        for other in [p.name for p in registry.plugins if p.name != plugin_name]:
            registry.unregister(other)
    replayer = Replayer(
        config,
        installation.domain(domain_name),
        registry,
        reasons=[DlqReason(r) for r in reasons or REASONS],
        plugin=plugin_name,
        group_id=replay_group,
        exit_when_idle=exit_when_idle,
    )
    stats = asyncio.run(replayer.run())
    click.echo("replay finished: " + json.dumps(stats.as_dict()))
