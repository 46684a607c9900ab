"""``kafka-pipeline worker``: the long-running worker of one domain."""

from __future__ import annotations

import asyncio
import json
import os
import sys
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
@click.option(
    "--processes",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    metavar="N",
    help="Run N worker processes in one consumer group under one supervisor, which forwards "
    "SIGTERM/SIGINT/SIGHUP, restarts crashed ones and serves their metrics as one.",
)
@click.pass_context
def worker(
    ctx: click.Context,
    *,
    domain_name: str,
    config_path: Path,
    exit_when_idle: float | None,
    create_topics: bool,
    bootstrap_servers: str | None,
    group_id: str | None,
    delta_root: str | None,
    metrics_port: int | None,
    processes: int,
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

    With --processes N, a supervisor runs N such workers in one consumer
    group: it forwards SIGTERM, SIGINT and SIGHUP to them and exits 0 once
    each exited 0; it restarts a crashed one with backoff, and exits 1 when
    they keep failing (more than 5 crashes within 60s); with metrics on, it
    serves /metrics (counters summed, gauges per process), /healthz and
    /readyz for all of them.
    """
    # Heavy imports (aiokafka, deltalake, pyarrow) only for this command.
    from kafka_pipeline._worker.config_watch import ConfigFile
    from kafka_pipeline._worker.runner import Worker, WorkerOptions
    from kafka_pipeline._worker.supervisor import supervised_index

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
    if processes > 1:
        ctx.exit(_supervise(ctx, processes, config.metrics.host, config.metrics.port))
    supervised_index()  # in a supervisor's child: SIGTERM should the supervisor die
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


def _supervise(ctx: click.Context, processes: int, host: str, port: int | None) -> int:
    """Run ``processes`` children of this very command under a supervisor; its exit status."""
    from kafka_pipeline._worker.supervisor import MetricsAddress, Supervisor

    params = ctx.params
    args = ["worker", "--domain", params["domain_name"], "--config", str(params["config_path"])]
    for option in ("exit_when_idle", "bootstrap_servers", "group_id", "delta_root"):
        if params[option] is not None:
            args += [f"--{option.replace('_', '-')}", str(params[option])]
    if params["create_topics"]:
        args.append("--create-topics")
    root = ctx.find_root().params  # the global options reach the children through their variables
    env = {"KAFKA_PIPELINE_LOG_LEVEL": root["log_level"], "KAFKA_PIPELINE_LOG_FORMAT": root["log_format"]}

    def command(index: int, metrics_port: int | None) -> list[str]:
        metrics = ["--metrics-port", str(metrics_port)] if metrics_port is not None else []
        return [sys.executable, "-m", "kafka_pipeline._cli", *args, *metrics]

    supervisor = Supervisor(
        processes,
        command,
        metrics=MetricsAddress(host, port) if port is not None else None,
        env={**os.environ, **env},
    )
    status = asyncio.run(supervisor.run())
    summary = {"processes": processes, "restarts": supervisor.restarts, "exit_codes": supervisor.exit_codes}
    click.echo("supervisor stopped: " + json.dumps(summary), err=True)
    return status
