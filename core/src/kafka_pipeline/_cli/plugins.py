"""``kafka-pipeline plugins``: what is installed, and what became of each domain and plugin."""

from __future__ import annotations

from pathlib import Path
from typing import Final

import click

from kafka_pipeline._cli.common import (
    config_option,
    discover_quietly,
    domain_option,
    load_pipeline_config,
    quiet_loading,
    require_domain,
)
from kafka_pipeline._cli.output import echo_json, render_table
from kafka_pipeline._discovery import DomainRecord, LoadStatus, PluginRecord, core_version

#: An import slower than this is warned about: every worker start and every command pays it.
SLOW_IMPORT_SECONDS: Final = 1.0


@click.command()
@domain_option(required=False, help="Only this domain and the plugins that may route it.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
@click.option(
    "--timings",
    is_flag=True,
    help="Add how long each domain and plugin took to import (always in --json, as import_seconds).",
)
@config_option()
def plugins(domain_name: str | None, as_json: bool, timings: bool, config_path: Path | None) -> None:
    """List every installed domain and routing plugin.

    For each plugin: its distribution and version, domain(s), whether it is
    enabled, its priority and its load status, with the reason when it was
    not loaded: the status a worker would act on (failed, incompatible,
    invalid-config, disabled, not_allowed, loaded). A plugin that failed to
    import is listed, never fatal. A plugin name provided by two installed
    distributions is warned about: the one first on sys.path shadows the
    other, or, when both are in one directory, neither is used (failed). With --config, the file's 'load',
    'enabled', 'priority' and plugin 'config' settings apply, and names under
    'plugins:' or 'load:' that match no installed plugin are listed.
    Plugins that were not imported (disabled, not allowed, failed) have no
    known domain and are listed under any --domain. An import that takes
    more than a second is warned about on stderr: the worker pays it at
    every start.
    """
    config = load_pipeline_config(config_path)
    installation = discover_quietly(config)
    with quiet_loading():
        installation.vet()  # the status a worker would act on: configs, constructors, hooks
    unknown = installation.unknown_names()
    domains = installation.domain_records
    records = installation.plugin_records
    if domain_name is not None:
        require_domain(installation, domain_name)
        domains = [d for d in domains if d.name == domain_name]
        records = [r for r in records if domain_name in r.domains or not r.domains]
    shadowing = installation.shadowing(domain_name)
    _warn_slow_imports(domains, records)
    if as_json:
        echo_json(
            {
                "core_version": core_version(),
                "domains": [d.as_dict() for d in domains],
                "plugins": [r.as_dict() for r in records],
                "unknown_names": unknown,
                "warnings": shadowing,
            }
        )
        return
    click.echo(_human(domains, records, unknown, shadowing, timings=timings))


def _warn_slow_imports(domains: list[DomainRecord], records: list[PluginRecord]) -> None:
    for kind, rs in (("domain", domains), ("plugin", records)):
        for r in rs:
            if r.import_seconds is not None and r.import_seconds > SLOW_IMPORT_SECONDS:
                click.echo(
                    f"warning: {kind} {r.name!r} ({r.distribution or '?'} {r.version or '?'}) took "
                    f"{r.import_seconds:.2f}s to import, paid at every worker start; keep its "
                    "module-level imports light (no network, heavy libraries imported inside "
                    "functions); 'python -X importtime -c \"import MODULE\"' shows where the time goes",
                    err=True,
                )


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.2f} s" if value >= 1 else f"{value * 1000:.1f} ms"


def _tables(record: DomainRecord) -> str:
    tables = record.domain.tables if record.domain is not None else {}
    return ", ".join(f"{status}->{table}" for status, table in tables.items()) or "-"


def _plugin_row(r: PluginRecord, timings: bool) -> list[str]:
    row = [
        r.name,
        r.distribution or "-",
        r.version or "-",
        ", ".join(r.domains) or "-",
        "yes" if r.enabled else "no",
        str(r.priority) if r.status is LoadStatus.LOADED else "-",
    ]
    return [*row, _seconds(r.import_seconds), str(r.status)] if timings else [*row, str(r.status)]


def _human(
    domains: list[DomainRecord],
    records: list[PluginRecord],
    unknown: list[str],
    shadowing: list[str],
    *,
    timings: bool,
) -> str:
    timing = ["IMPORT"] if timings else []
    parts: list[str] = [f"kafka-pipeline-core {core_version()}", ""]
    parts.append(f"Domains ({len(domains)})")
    if domains:
        rows = [
            [
                d.name,
                d.distribution or "-",
                d.version or "-",
                d.domain.source_topic if d.domain else "-",
                d.domain.default_dlq_topic if d.domain else "-",
                _tables(d),
                *([_seconds(d.import_seconds)] if timings else []),
                str(d.status),
            ]
            for d in domains
        ]
        headers = ["NAME", "DISTRIBUTION", "VERSION", "SOURCE TOPIC", "DLQ", "TABLES", *timing, "STATUS"]
        parts.append(render_table(headers, rows))
    else:
        parts.append("  none installed: pip install the package that provides your domain")
    parts += ["", f"Plugins ({len(records)})"]
    if records:
        headers = ["NAME", "DISTRIBUTION", "VERSION", "DOMAINS", "ENABLED", "PRIORITY", *timing, "STATUS"]
        parts.append(render_table(headers, [_plugin_row(r, timings) for r in records]))
    else:
        parts.append("  none installed")
    if timings:
        parts += [
            "",
            "IMPORT: the time its entry point took to import. A module imported by an earlier "
            "entry point (its package's domain, say) is counted there, not again.",
        ]
    errors = [
        (kind, r.name, r.error)
        for kind, rs in (("domain", domains), ("plugin", records))
        for r in rs
        if r.error
    ]
    if errors:
        parts += ["", "Errors"]
        parts += [f"  {kind} {name}: {_indent(error)}" for kind, name, error in errors]
    if unknown:
        parts += ["", "Unknown names in the configuration"]
        parts += [f"  {line}" for line in unknown]
    if shadowing:
        parts += ["", "Warnings"]
        parts += [f"  {line}" for line in shadowing]
    return "\n".join(parts)


def _indent(text: str) -> str:
    return text.replace("\n", "\n    ")
