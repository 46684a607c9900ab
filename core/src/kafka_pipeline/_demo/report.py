"""The demo summary for people: one section per domain, aligned columns, then the totals."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from kafka_pipeline._demo.samples import SampleKind
from kafka_pipeline._demo.summary import DemoSummary, DomainRun

_INVALID_LABELS = {
    SampleKind.NOT_JSON.value: "not JSON",
    SampleKind.SCHEMA.value: "schema",
    SampleKind.EMPTY.value: "empty",
}
_INDENT = "  "


def render_summary(summary: DemoSummary) -> str:
    """The summary as ``kafka-pipeline demo`` prints it without ``--json``."""
    lines = [_headline(summary)]
    for run in summary.domains:
        lines += ["", *_domain(run, interrupted=summary.interrupted, sampled=summary.input is None)]
    if summary.skipped:
        lines.append("")
        lines += [f"skipped domain {name}: {why}" for name, why in sorted(summary.skipped.items())]
    if summary.problems:
        lines.append("")
        lines += [f"not loaded: {problem}" for problem in summary.problems]
    lines += ["", *_footer(summary)]
    return "\n".join(lines)


def _headline(summary: DemoSummary) -> str:
    domains = len(summary.domains)
    what = (
        f"{domains} domain{'s' * (domains != 1)}, {summary.messages:,} results each (seed {summary.seed})"
        if summary.input is None
        else f"{summary.produced:,} results from {summary.input}"
    )
    return (
        f"kafka-pipeline demo: {what}: {summary.consumed:,} consumed in {_seconds(summary.seconds)}, "
        f"{summary.throughput:,.0f} results/s"
    )


def _domain(run: DomainRun, *, interrupted: bool, sampled: bool) -> list[str]:
    stats = run.stats
    messages = stats.messages
    lines = [
        f"{run.name}: {run.source_topic} ({run.produced_total:,} produced) -> "
        f"{stats.consumed:,} consumed in {_seconds(run.seconds)}, {run.throughput:,.0f} results/s "
        f"(after {_seconds(run.join_seconds)} joining the consumer group)",
        f"{_INDENT}produced  {_produced(run, on_purpose=sampled)}",
        f"{_INDENT}outcome   {messages['stored']:,} stored in Delta, {messages['routed']:,} routed, "
        f"{messages['invalid']:,} invalid, {messages['skipped']:,} neither",
    ]
    if run.error is not None:
        lines.append(f"{_INDENT}STOPPED EARLY: {run.error}")
    elif interrupted and not run.drained:
        lines.append(
            f"{_INDENT}interrupted after {stats.consumed:,} of {run.produced_total:,}: "
            "those are routed, stored and committed"
        )
    elif not run.drained:
        lines.append(f"{_INDENT}NOT DRAINED: the worker stopped before committing all it was given")
    lines += _table(
        ("plugin", "matched", "sent", "errors"),
        [
            (name, f"{p.matched:,}", f"{p.sent:,}", f"{p.errors:,}")
            for name, p in sorted(stats.plugins.items())
        ],
        empty="no plugin attached to this domain",
    )
    lines += _table(
        ("routed topic", "records"),
        [(topic, f"{count:,}") for topic, count in sorted(stats.routed_by_topic.items())],
        empty="nothing routed",
    )
    lines += _table(
        ("Delta table", "rows", "path"),
        [
            (table, f"{stats.delta_rows.get(table, 0):,}", _path(uri))
            for table, uri in sorted(stats.delta_tables.items())
        ],
        empty="no Delta table for this domain",
    )
    dlq = stats.dlq_by_reason
    reasons = ", ".join(f"{reason} {count:,}" for reason, count in sorted(dlq.items()))
    lines.append(
        f"{_INDENT}DLQ {run.dlq_topic}: {sum(dlq.values()):,} records" + (f" ({reasons})" * bool(dlq))
    )
    return lines


def _produced(run: DomainRun, *, on_purpose: bool) -> str:
    valid = run.produced.get(SampleKind.VALID.value, 0)
    broken = ", ".join(
        f"{run.produced[kind]:,} {label}" for kind, label in _INVALID_LABELS.items() if run.produced.get(kind)
    )
    text = f"{valid:,} valid"
    invalid = "invalid on purpose" if on_purpose else "invalid"
    return f"{text}, {run.invalid_produced:,} {invalid} ({broken})" if broken else text


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, empty: str) -> list[str]:
    """Indented columns: text columns left-aligned, count columns (all but the first and 'path') right."""
    if not rows:
        return [f"{_INDENT}{headers[0]}: {empty}"]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        out = []
        for i, (cell, width) in enumerate(zip(cells, widths, strict=True)):
            numeric = i > 0 and headers[i] != "path"
            out.append(cell.rjust(width) if numeric else cell.ljust(width))
        return (_INDENT + "  ".join(out)).rstrip()

    return [line(headers), *(line(row) for row in rows)]


def _footer(summary: DemoSummary) -> list[str]:
    lines = []
    if summary.interrupted:
        lines.append(
            "INTERRUPTED: the workers finished the batch in hand; the counts above are what was done."
        )
    elif not summary.ok:
        lines.append("PROBLEMS: see the domains marked above.")
    lines += [
        f"total: {summary.produced:,} produced, {summary.consumed:,} consumed in {_seconds(summary.seconds)} "
        f"({summary.throughput:,.0f} results/s); {_seconds(summary.elapsed)} in all",
        f"Delta tables: {_path(str(summary.delta_root))} (kept; the next demo run replaces them)",
    ]
    if summary.broker_stopped:
        lines.append("The embedded broker is stopped; its topics were in memory and are gone.")
    return lines


def _seconds(seconds: float) -> str:
    return f"{seconds:.2f}s" if seconds < 10 else f"{seconds:.1f}s"


def _path(uri: str) -> str:
    """Local paths under the working directory as relative ones: shorter, and what the user typed."""
    if "://" in uri:
        return uri
    path = Path(uri).absolute()
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
