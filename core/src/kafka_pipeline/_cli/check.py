"""``kafka-pipeline check``: everything that would stop or weaken a worker, listed at once."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import click

from kafka_pipeline._cli.check_storage import storage_report
from kafka_pipeline._cli.common import (
    CommandError,
    config_option,
    domain_option,
    quiet_loading,
    require_domain,
)
from kafka_pipeline._config import PipelineConfig, environment_problems, parse_config, read_config_file
from kafka_pipeline._errors import ConfigError
from kafka_pipeline._loading import Installation, discover


@click.command()
@config_option(required=True)
@click.option(
    "--storage",
    is_flag=True,
    help="Also probe delta.root (write, read and delete a small table; race a few commits) and "
    "report each table: version, files, layout, the schema evolution due.",
)
@domain_option(required=False, help="With --storage: only this domain's tables (default: every domain's).")
def check(config_path: Path, storage: bool, domain_name: str | None) -> None:
    """Validate a configuration against the installed domains and plugins.

    Checks the file itself, each plugin's own 'config' section against the
    plugin's Config model, every plugin's hook signatures and the core
    version range it requires, and that every name under 'plugins:' and
    'load:' is an installed plugin (with a "did you mean" for a misspelt
    one). Prints every problem with its path and exits 1, or prints a
    one-line summary and exits 0. A plugin that shadows a same-named one of
    another distribution is a warning on stderr, not a problem. Secrets are
    never printed.

    With --storage it also probes the Delta root and the tables the worker
    would write, and lists what is due or wrong there.
    """
    try:
        raw = read_config_file(config_path)
    except ConfigError as exc:
        raise CommandError(f"cannot check {config_path}: {'; '.join(exc.problems)}") from None
    problems: list[str] = []
    try:
        config = parse_config(raw, source=str(config_path))
    except ConfigError as exc:
        problems += exc.problems
        config = _salvage(raw)
    problems += environment_problems()
    with quiet_loading():
        installation = discover(config, strict=False)
        installation.vet()
    problems += installation.problems()
    problems += installation.unknown_names()
    for warning in installation.shadowing():
        click.echo(f"warning: {warning}", err=True)
    if storage and not problems:
        if domain_name is not None:
            require_domain(installation, domain_name)
        lines, storage_problems = storage_report(
            config, installation, [domain_name] if domain_name else installation.domains
        )
        click.echo("\n".join(lines))
        problems += storage_problems
    if problems:
        click.echo(f"{config_path}: {len(problems)} problem{'s' if len(problems) > 1 else ''}")
        for problem in problems:
            click.echo("  " + problem.replace("\n", "\n    "))
        click.get_current_context().exit(1)
    click.echo(f"OK: {config_path} is valid. {_summary(installation)}")


def _salvage(raw: dict[str, Any]) -> PipelineConfig:
    """The parts of an invalid file that still steer discovery (``load``, per-plugin settings).

    With them the plugin checks can run and report too, instead of waiting
    for the next run after the file is fixed.
    """
    kept: dict[str, Any] = {}
    for key in ("load", "strict"):
        if key in raw and _valid({key: raw[key]}):
            kept[key] = raw[key]
    plugins = raw.get("plugins")
    if isinstance(plugins, dict):
        # Field by field, so that a bad 'priority' does not hide the plugin's 'config' problems.
        kept["plugins"] = {
            name: {k: v for k, v in settings.items() if _valid({"plugins": {name: {k: v}}})}
            for name, settings in plugins.items()
            if isinstance(settings, dict)
        }
    return parse_config(kept)


def _valid(data: dict[str, Any]) -> bool:
    try:
        parse_config(data)
    except ConfigError:
        return False
    return True


def _summary(installation: Installation) -> str:
    domains = sorted(installation.domains)
    statuses = Counter(str(r.status) for r in installation.plugin_records)
    plugins = ", ".join(f"{n} {s}" for s, n in sorted(statuses.items())) or "no plugins installed"
    names = ", ".join(domains) or "none"
    return f"{len(domains)} domain{'s' if len(domains) != 1 else ''} ({names}); plugins: {plugins}."
