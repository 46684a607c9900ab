"""``kafka-pipeline route``: a dry run of the routing rules over a file of messages, no broker."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import click
from pydantic import ValidationError

from kafka_pipeline._cli.common import (
    config_option,
    discover_quietly,
    domain_option,
    load_pipeline_config,
    quiet_loading,
    require_domain,
)
from kafka_pipeline._cli.output import echo_json
from kafka_pipeline._config import PipelineConfig
from kafka_pipeline._domain import Domain
from kafka_pipeline._errors import format_validation_error
from kafka_pipeline._logs import quiet
from kafka_pipeline._registry import PluginRegistry
from kafka_pipeline.testing import DeadLetter, DispatchResult, PluginOutcome, RoutingHarness


@dataclass
class LineReport:
    """What the worker would do with one input line."""

    line: int
    valid: bool
    reason: str | None = None
    problems: list[str] = field(default_factory=list)
    trace_id: str | None = None
    status: str | None = None
    table: str | None = None
    matched: list[str] = field(default_factory=list)
    sent: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, str | None]] = field(default_factory=list)
    dlq: list[dict[str, str | None]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        if not self.valid:
            return {
                "line": self.line,
                "valid": False,
                "reason": self.reason,
                "problems": self.problems,
                "dlq": self.dlq,
            }
        return {
            "line": self.line,
            "valid": True,
            "trace_id": self.trace_id,
            "status": self.status,
            "table": self.table,
            "matched": self.matched,
            "sent": self.sent,
            "errors": self.errors,
            "dlq": self.dlq,
        }


@click.command()
@domain_option(required=True)
@config_option()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per input line (JSON Lines).")
@click.option(
    "--allow-skipped",
    is_flag=True,
    help="Exit 0 although plugins the worker would run are skipped or plugin names are unknown.",
)
@click.argument("file", type=click.File("rb"), metavar="FILE.jsonl")
def route(
    domain_name: str, config_path: Path | None, as_json: bool, allow_skipped: bool, file: IO[bytes]
) -> None:
    """Dry-run the routing plugins of a domain over FILE.jsonl, one message per line.

    Nothing is sent and no broker is needed. Every plugin of the domain that
    the worker would run (as the configuration enables, orders and sets
    them up) sees each message through the worker's own engine: its timeout,
    retries and circuit breaker apply, and a failed attempt sends nothing.
    For each line: the plugins that matched, in order, what each sent
    (topic and key), each plugin failure and the DLQ record the worker would
    write for it, the Delta table the message would be appended to, or why
    the line is invalid (not JSON, or the schema errors by field path).
    FILE '-' reads stdin; blank lines are skipped.

    Exits 1 if any line was invalid, any plugin failed, or a plugin the
    worker would run was skipped (it fails to import, needs another core,
    or its config or hooks are invalid) or a name under 'plugins:' or
    'load:' is no installed plugin; --allow-skipped accepts the skips. So
    it can guard a change in CI.
    """
    config = load_pipeline_config(config_path)
    installation = discover_quietly(config, strict=None)
    require_domain(installation, domain_name)
    with quiet_loading():
        registry = installation.registry(domain_name)
    skipped = installation.problems(domain_name) + installation.unknown_names()
    for problem in skipped:
        click.echo(f"warning: the worker would run without it: {_indent(problem)}", err=True)
    for warning in installation.shadowing(domain_name):
        click.echo(f"warning: {warning}", err=True)
    domain = installation.domain(domain_name)
    emit: Callable[[LineReport], None] = (lambda r: echo_json(r.as_dict(), indent=None)) if as_json else _echo
    # The report says what the engine would log: plugin failures, the DLQ records.
    with quiet("kafka_pipeline.worker.routing"):
        tally = asyncio.run(_dry_run(domain, registry, config, file, emit))
    if not as_json:
        click.echo(f"\n{tally}")
    if skipped and not allow_skipped:
        click.echo(
            f"{len(skipped)} plugin problem{'s' if len(skipped) != 1 else ''} above: exit 1 "
            "(--allow-skipped accepts them)",
            err=True,
        )
    if tally.invalid or tally.failing or (skipped and not allow_skipped):
        click.get_current_context().exit(1)


@dataclass
class Tally:
    """Counts over the whole file, kept instead of the reports so any file size fits in memory."""

    messages: int = 0
    invalid: int = 0
    sent: int = 0
    failing: int = 0

    def add(self, report: LineReport) -> None:
        self.messages += 1
        self.invalid += not report.valid
        self.sent += len(report.sent)
        # A plugin's DLQ record: it failed, or its breaker was open.
        self.failing += any(d["plugin"] is not None for d in report.dlq)

    def __str__(self) -> str:
        def plural(n: int, word: str) -> str:
            return f"{n} {word}{'s' if n != 1 else ''}"

        valid = self.messages - self.invalid
        return (
            f"{plural(self.messages, 'message')}: {valid} valid, {self.invalid} invalid; "
            f"{plural(self.sent, 'record')} would be sent; {self.failing} with plugin failures"
        )


async def _dry_run(
    domain: Domain[Any],
    registry: PluginRegistry[Any],
    config: PipelineConfig,
    lines: Iterable[bytes],
    emit: Callable[[LineReport], None],
) -> Tally:
    tally = Tally()
    # The harness re-registers the registry's configured instances behind a recording sender.
    plugins = [p.plugin for p in registry.plugins]
    async with RoutingHarness(domain, plugins=plugins, config=config) as harness:
        for number, raw in enumerate(lines, start=1):
            text = raw.strip()
            if not text:
                continue
            report = await _route_line(harness, domain, number, text)
            emit(report)
            tally.add(report)
    return tally


async def _route_line(
    harness: RoutingHarness[Any], domain: Domain[Any], number: int, text: bytes
) -> LineReport:
    try:
        json.loads(text)
    except ValueError as exc:
        return _invalid(harness, number, "not_json", [f"not JSON: {exc}"])
    try:
        result = await harness.dispatch(text)
    except ValidationError as exc:
        return _invalid(harness, number, "schema", format_validation_error(exc))
    return _report(number, domain, result)


def _invalid(harness: RoutingHarness[Any], number: int, reason: str, problems: list[str]) -> LineReport:
    dlq_reason = "invalid_json" if reason == "not_json" else "schema"
    parked = {"reason": dlq_reason, "plugin": None, "topic": harness.topics.dlq}
    return LineReport(number, valid=False, reason=reason, problems=problems, dlq=[parked])


def _report(number: int, domain: Domain[Any], result: DispatchResult) -> LineReport:
    return LineReport(
        number,
        valid=True,
        trace_id=domain.trace_id(result.message),
        status=domain.status(result.message),
        table=domain.table_for(result.message),
        matched=result.matched,
        sent=[{"plugin": r.plugin, "topic": r.topic, "key": _text(r.key)} for r in result.records],
        errors=[
            {"plugin": o.plugin, "stage": o.stage, "error": _failure(o, result.dead_letters)}
            for o in result.errors
        ],
        dlq=[{"reason": d.reason, "plugin": d.plugin, "error": d.error} for d in result.dead_letters],
    )


def _failure(outcome: PluginOutcome, dead_letters: list[DeadLetter]) -> str:
    """How the plugin failed, as its DLQ record says it (a timeout says how long was allowed)."""
    for dead in dead_letters:
        if dead.plugin == outcome.plugin and dead.error.startswith(f"{outcome.stage}: "):
            return dead.error.removeprefix(f"{outcome.stage}: ")
    return f"{type(outcome.error).__name__}: {outcome.error}"


def _text(key: bytes | None) -> str | None:
    return None if key is None else key.decode("utf-8", errors="backslashreplace")


def _indent(text: str) -> str:
    return text.replace("\n", "\n  ")


def _echo(r: LineReport) -> None:
    if not r.valid:
        label = "not JSON" if r.reason == "not_json" else "schema"
        click.echo(f"line {r.line}: invalid ({label}) -> DLQ")
        for problem in r.problems:
            click.echo(f"  {problem}")
        return
    table = f"Delta table {r.table}" if r.table else "no Delta table"
    click.echo(f"line {r.line}: {r.status}, trace {r.trace_id} -> {table}")
    if not r.matched and not r.errors:
        click.echo("  no plugin matched")
    failed = {e["plugin"] for e in r.errors}
    for plugin in r.matched:
        sends = [s for s in r.sent if s["plugin"] == plugin]
        for s in sends:
            click.echo(f"  {plugin} -> {s['topic']}  key={s['key'] if s['key'] is not None else '-'}")
        if not sends and plugin not in failed:
            click.echo(f"  {plugin} matched, sent nothing")
    for e in r.errors:
        click.echo(f"  {e['plugin']} failed in {e['stage']}: {e['error']}")
    for d in r.dlq:
        click.echo(f"  {d['plugin']} -> DLQ ({d['reason']})")
