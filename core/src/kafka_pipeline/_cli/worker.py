"""``kafka-pipeline worker``: the long-running worker of one domain."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import click

from kafka_pipeline._cli.common import config_option, domain_option, load_pipeline_config, require_domain
from kafka_pipeline._loading import discover


@click.command()
@domain_option(required=True)
@config_option(required=True)
@click.option(
    "--exit-when-idle",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help="Stop cleanly (flush, commit, exit 0) once no message arrived for this long.",
)
@click.option(
    "--create-topics",
    is_flag=True,
    help="Create missing source, DLQ and routed topics. For development; production topics "
    "deserve chosen partition counts and retention.",
)
@click.option("--bootstrap-servers", metavar="HOST:PORT[,...]", help="Overrides kafka.bootstrap_servers.")
@click.option("--group-id", metavar="GROUP", help="Overrides kafka.group_id.")
@click.option("--delta-root", metavar="PATH_OR_URI", help="Overrides delta.root.")
@click.option(
    "--metrics-port",
    type=click.IntRange(0, 65535),
    metavar="PORT",
    help="Serve /metrics, /healthz and /readyz on this port (0: any free port). Overrides metrics.port.",
)
def worker(
    *,
    domain_name: str,
    config_path: Path,
    exit_when_idle: float | None,
    create_topics: bool,
    bootstrap_servers: str | None,
    group_id: str | None,
    delta_root: str | None,
    metrics_port: int | None,
) -> None:
    """Consume a domain's results, route them, append them to Delta, commit offsets.

    Runs until SIGTERM or SIGINT (or --exit-when-idle), then finishes the
    batch in hand: waits for every routed record to be acknowledged, commits
    the Delta appends and the offsets, stops the plugins and exits 0. Exits 1
    with the reason when it cannot go on (a missing topic, the broker or the
    storage down past every retry); nothing uncommitted is lost, a restart
    picks it up.

    The plugin settings (plugins, load, strict, resilience) are reloaded
    without a restart when the config file changes, or on SIGHUP; an invalid
    new file is refused with an error in the log and the worker carries on.
    """
    # Heavy imports (aiokafka, deltalake, pyarrow) only for this command.
    from kafka_pipeline._worker.config_watch import ConfigFile
    from kafka_pipeline._worker.runner import Worker, WorkerOptions

    overrides = {
        "bootstrap_servers": bootstrap_servers,
        "group_id": group_id,
        "delta_root": delta_root,
        "metrics_port": metrics_port,
    }
    config = load_pipeline_config(config_path).with_overrides(**overrides)
    # Every plugin that cannot run and every unknown name is logged at ERROR (strict mode: exit 1).
    installation = discover(config)
    require_domain(installation, domain_name)
    runner = Worker(
        config,
        installation.domain(domain_name),
        installation.registry(domain_name),
        WorkerOptions(
            create_topics=create_topics,
            exit_when_idle=exit_when_idle,
            config_file=ConfigFile(config_path, overrides),
        ),
    )
    asyncio.run(runner.run(handle_signals=True))
    stats = runner.stats
    click.echo(
        "worker stopped: "
        + json.dumps(
            {
                "consumed": stats.consumed,
                "messages": dict(stats.messages),
                "routed_by_topic": dict(stats.routed_by_topic),
                "dlq_by_reason": dict(stats.dlq_by_reason),
                "delta_rows": dict(stats.delta_rows),
            }
        ),
        err=True,
    )
