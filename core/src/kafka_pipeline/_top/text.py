"""``top --once``: one snapshot as plain text, aligned columns, no colour, for scripts and logs."""

from __future__ import annotations

from collections.abc import Sequence

from kafka_pipeline._top.snapshot import Count, Snapshot


def number(value: float) -> str:
    """A count as people read it: ``12,345``; a gauge's fraction is kept (``0.5``)."""
    return f"{value:,.0f}" if value == int(value) else f"{value:,.2f}"


def per_second(rate: float | None) -> str:
    """A rate with one decimal (``12.5/s``), ``n/a`` before there are two scrapes."""
    return "n/a" if rate is None else f"{rate:,.1f}/s"


def breaker(open_on: Sequence[str], workers: int) -> str:
    """``closed``, ``open``, or with several workers ``open on host:port, ...``."""
    if not open_on:
        return "closed"
    return "open" if workers == 1 else f"open on {', '.join(open_on)}"


def _table(title: str, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    if not rows:
        return [f"{title}: none", ""]
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [headers, *rows]
    ]
    return [title, *(f"  {line}" for line in lines), ""]


def _counts(title: str, what: str, unit: str, counts: Sequence[Count]) -> list[str]:
    rows = [[c.key, number(c.total), per_second(c.rate)] for c in counts]
    return _table(title, [what, unit, f"{unit}/s"], rows)


def render_text(snapshot: Snapshot) -> str:
    """The whole snapshot: workers, throughput, plugins, DLQ, Delta, lag."""
    reachable = len(snapshot.workers) - len(snapshot.unreachable)
    window = "n/a (one scrape)" if snapshot.window is None else f"over the last {snapshot.window:.1f}s"
    lines = [f"kafka-pipeline top: {reachable} of {len(snapshot.workers)} workers, rates {window}", ""]
    lines += _table(
        "workers",
        ["worker", "status", "consumed"],
        [
            [
                w.worker,
                f"unreachable: {w.error}" if w.error else ("ready" if w.ready else "not ready"),
                number(w.consumed),
            ]
            for w in snapshot.workers
        ],
    )
    lines += _counts("consumed by domain", "domain", "records", snapshot.consumed)
    lines += _counts("messages by outcome", "outcome", "messages", snapshot.outcomes)
    lines += _table(
        "plugins",
        ["plugin", "matched", "matched/s", "sent", "sent/s", "errors", "errors/s", "breaker"],
        [
            [
                p.plugin,
                number(p.matched.total),
                per_second(p.matched.rate),
                number(p.sent.total),
                per_second(p.sent.rate),
                number(p.errors.total),
                per_second(p.errors.rate),
                breaker(p.open_on, reachable),
            ]
            for p in snapshot.plugins
        ],
    )
    lines += _counts("dead-letter queue by reason", "reason", "records", snapshot.dlq)
    lines += _counts("Delta rows by table", "table", "rows", snapshot.delta)
    lines += _table(
        "consumer lag by partition",
        ["topic", "partition", "worker", "lag"],
        [[row.topic, str(row.partition), row.worker, number(row.lag)] for row in snapshot.lag],
    )
    return "\n".join(lines).rstrip() + "\n"
