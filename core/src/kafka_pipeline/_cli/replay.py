"""``kafka-pipeline replay``: dead-lettered plugin failures, run again through the plugin that failed."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path

import click

from kafka_pipeline._cli.common import config_option, domain_option, load_pipeline_config, require_domain
from kafka_pipeline._cli.progress import ProgressBar
from kafka_pipeline._loading import discover

REASONS = ("plugin_error", "circuit_open")
# Repeated here rather than imported: the replay package pulls in aiokafka.
DEFAULT_MAX_ATTEMPTS = 3


def iso_time(ctx: click.Context, param: click.Parameter, value: str | None) -> dt.datetime | None:
    """An ISO 8601 time: ``2026-11-29T10:00:00Z``, ``2026-11-29T11:00+01:00``, ``2026-11-29`` (local)."""
    if value is None:
        return None
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an ISO 8601 time (e.g. 2026-11-29T10:00:00Z or 2026-11-29T11:00+01:00)"
        ) from None


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
@click.option(
    "--dry-run",
    is_flag=True,
    help="Read the DLQ and print what would be replayed (counts by plugin and reason, the first "
    "trace ids); send nothing, commit nothing, call no plugin.",
)
@click.option(
    "--since",
    callback=iso_time,
    metavar="TIME",
    help="Only records dead-lettered at or after this ISO 8601 time (without a zone: local time).",
)
@click.option(
    "--until", callback=iso_time, metavar="TIME", help="Only records dead-lettered before this ISO 8601 time."
)
@click.option(
    "--max-attempts",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_ATTEMPTS,
    show_default=True,
    metavar="N",
    help="Replays a record gets; one that fails its last stays in the DLQ as replay_exhausted, "
    "and no replay takes it again.",
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
    dry_run: bool,
    since: dt.datetime | None,
    until: dt.datetime | None,
    max_attempts: int,
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
    again goes back to the end of the DLQ with x-replay-count one higher;
    when that reaches --max-attempts it stays there as replay_exhausted, and
    no replay takes it again. A failure that --reason, --plugin, --since or
    --until did not select is copied to the end of the DLQ for a later
    replay. Prints a summary; exits 0 even when some records failed again
    (they are counted), 1 when the replay itself cannot run.
    """
    from kafka_pipeline._dlq import DlqReason
    from kafka_pipeline._replay.reading import replay_group as default_group
    from kafka_pipeline._replay.replayer import Replayer
    from kafka_pipeline._replay.selection import Selection

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
    selection = Selection(
        reasons=frozenset(DlqReason(r) for r in reasons or REASONS),
        plugin=plugin_name,
        since=since,
        until=until,
        max_attempts=max_attempts,
    )
    domain = installation.domain(domain_name)
    if dry_run:
        from kafka_pipeline._loading import topics_of
        from kafka_pipeline._replay.dry_run import dry_run as scan

        with ProgressBar("DLQ records read") as bar:
            report = asyncio.run(
                scan(
                    config,
                    topics_of(config, domain).dlq,
                    default_group(config, replay_group),
                    selection,
                    [p.name for p in registry.plugins],
                    idle_seconds=exit_when_idle,
                    progress=bar.update,
                )
            )
        click.echo(report.render())
        return
    with ProgressBar("DLQ records replayed") as bar:
        replayer = Replayer(
            config,
            domain,
            registry,
            selection=selection,
            group_id=replay_group,
            exit_when_idle=exit_when_idle,
            progress=bar.update,
        )
        stats = asyncio.run(replayer.run())
    click.echo("replay finished: " + json.dumps(stats.as_dict()))
