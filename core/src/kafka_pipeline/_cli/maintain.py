"""``kafka-pipeline maintain``: compact, checkpoint, clean the log and vacuum a domain's tables."""

from __future__ import annotations

import json
from pathlib import Path

import click

from kafka_pipeline._cli.common import (
    CommandError,
    config_option,
    discover_quietly,
    domain_option,
    load_pipeline_config,
    require_domain,
)

#: deltalake refuses a shorter vacuum retention unless told (``delta.deletedFileRetentionDuration``).
SAFETY_MINIMUM_HOURS = 168


@click.command()
@domain_option(required=True)
@config_option(required=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per table, in a list.")
@click.option(
    "--allow-short-retention",
    is_flag=True,
    help=f"Vacuum with delta.maintenance.vacuum_retention_hours below {SAFETY_MINIMUM_HOURS}: readers "
    "of older versions (time travel, long queries) may miss files.",
)
@click.option("--delta-root", metavar="PATH_OR_URI", help="Overrides delta.root.")
def maintain(
    *, domain_name: str, config_path: Path, as_json: bool, allow_short_retention: bool, delta_root: str | None
) -> None:
    """Compact, checkpoint, clean the log and vacuum every Delta table of a domain.

    Safe while workers append: their appends never conflict with it, and a
    step that loses a commit race is tried again. Prints one line per table
    (files before -> after, version, time taken); --json prints the same as
    JSON. Exits 1 if a table could not be maintained. Run it from cron or a
    Kubernetes CronJob (docs/operations.md, Object stores).
    """
    # Heavy imports (deltalake, pyarrow) only for this command.
    from kafka_pipeline._sinks.delta import table_uri
    from kafka_pipeline._sinks.maintenance import MaintenanceError, maintain_table
    from kafka_pipeline._sinks.storage import commit_safety

    config = load_pipeline_config(config_path).with_overrides(delta_root=delta_root)
    installation = discover_quietly(config, strict=False)
    require_domain(installation, domain_name)
    settings = config.delta.maintenance
    if settings.vacuum_retention_hours < SAFETY_MINIMUM_HOURS and not allow_short_retention:
        raise CommandError(
            f"delta.maintenance.vacuum_retention_hours is {settings.vacuum_retention_hours}, below "
            f"deltalake's safety minimum of {SAFETY_MINIMUM_HOURS} hours: a reader of an older "
            "version could lose files it is reading. Raise it, or pass --allow-short-retention "
            "if no reader needs versions that old."
        )
    options = config.delta.resolved_storage_options()
    safety = commit_safety(config.delta, options)
    if safety.problems:
        raise CommandError("\n".join(safety.problems))
    tables = sorted(set(installation.domain(domain_name).tables.values()))
    results = []
    failures = []
    for table in tables:
        uri = table_uri(config.delta.root, table)
        try:
            result = maintain_table(
                table, uri, options or None, settings, allow_short_retention=allow_short_retention
            )
        except MaintenanceError as exc:
            failures.append(str(exc))
            if not as_json:
                click.echo(f"{table}: FAILED: {exc}")
            continue
        results.append(result)
        if not as_json:
            click.echo(result.line())
    if as_json:
        click.echo(json.dumps({"tables": [r.as_dict() for r in results], "failures": failures}, indent=2))
    if failures:
        click.get_current_context().exit(1)
