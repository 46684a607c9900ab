"""``top``'s live view: rich tables redrawn after every round of scrapes, until Ctrl-C.

The only module of ``kafka_pipeline`` that imports rich; the command imports
it only when it draws the live view, so that other commands start without it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from rich import box
from rich.columns import Columns
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from kafka_pipeline._top.scrape import Scrape, ScrapeError, scrape_all
from kafka_pipeline._top.snapshot import Count, Snapshot, snapshot
from kafka_pipeline._top.text import breaker, number, per_second
from kafka_pipeline._top.trend import Trends


def _table(title: str, *columns: str) -> Table:
    """Columns named ``"<name"`` hold text (left-aligned); the others numbers (right-aligned)."""
    table = Table(title=title, title_justify="left", title_style="bold", box=box.SIMPLE_HEAD, padding=(0, 1))
    for column in columns:
        text = column.startswith("<")
        table.add_column(column.removeprefix("<"), justify="left" if text else "right", no_wrap=not text)
    return table


def _rate(rate: float | None, trend: str, alarm: bool = False) -> Text:
    style = "bold red" if alarm and rate else ""
    return Text.assemble((per_second(rate), style), " ", (trend, "cyan"))


def _counts(title: str, what: str, unit: str, counts: Sequence[Count], *, trends: Trends, kind: str) -> Table:
    table = _table(title, f"<{what}", unit, f"{unit}/s, trend")
    for count in counts:
        alarm = kind == "dlq"
        table.add_row(count.key, number(count.total), _rate(count.rate, trends.line(kind, count.key), alarm))
    return table


def render_live(view: Snapshot, trends: Trends, interval: float) -> RenderableType:
    """One screen of the live view."""
    reachable = len(view.workers) - len(view.unreachable)
    window = "rates after the next scrape" if view.window is None else f"rates over {view.window:.1f}s"
    header = Text.assemble(
        ("kafka-pipeline top", "bold"),
        f"  {reachable} of {len(view.workers)} workers  {window}  refresh every {interval:g}s  Ctrl-C quits",
    )
    workers = _table("workers", "<worker", "<status", "consumed")
    for w in view.workers:
        if w.error:
            status = Text(f"unreachable: {w.error}", "bold red")
        else:
            status = Text("ready", "green") if w.ready else Text("not ready", "yellow")
        workers.add_row(w.worker, status, "-" if w.error else number(w.consumed))
    plugins = _table("plugins", "<plugin", "matched/s, trend", "sent/s, trend", "errors/s, trend", "<breaker")
    for p in view.plugins:
        plugins.add_row(
            p.plugin,
            _rate(p.matched.rate, trends.line("matched", p.plugin)),
            _rate(p.sent.rate, trends.line("sent", p.plugin)),
            _rate(p.errors.rate, trends.line("errors", p.plugin), alarm=True),
            Text(breaker(p.open_on, reachable), "bold red" if p.open_on else "green"),
        )
    lag = _table("consumer lag", "<topic", "partition", "<worker", "lag, trend")
    for row in view.lag:
        trend = trends.line("lag", row.topic, str(row.partition), row.worker)
        lag.add_row(
            row.topic, str(row.partition), row.worker, Text.assemble(number(row.lag), " ", (trend, "cyan"))
        )
    return Group(
        header,
        workers,
        Columns(
            [
                _counts("consumed", "domain", "records", view.consumed, trends=trends, kind="consumed"),
                _counts("messages", "outcome", "messages", view.outcomes, trends=trends, kind="outcome"),
            ]
        ),
        plugins,
        Columns(
            [
                _counts("dead-letter queue", "reason", "records", view.dlq, trends=trends, kind="dlq"),
                _counts("Delta", "table", "rows", view.delta, trends=trends, kind="delta"),
            ]
        ),
        lag,
    )


def run_live(
    urls: Sequence[str],
    interval: float,
    timeout: float,
    *,
    console: Console | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Scrape every ``interval`` seconds and redraw, until interrupted (KeyboardInterrupt propagates)."""
    trends = Trends()
    previous: dict[str, Scrape] = {}
    with Live(
        Text(f"kafka-pipeline top: scraping {len(urls)} worker(s)..."),
        console=console,
        screen=True,
        auto_refresh=False,
        redirect_stderr=False,
    ) as live:
        while True:
            started = time.monotonic()
            current: dict[str, Scrape | ScrapeError] = scrape_all(urls, timeout)
            view = snapshot(current, previous)
            trends.record(view)
            live.update(render_live(view, trends, interval), refresh=True)
            # A worker that is unreachable now keeps its last scrape: its rates resume when it is back.
            previous |= {url: s for url, s in current.items() if isinstance(s, Scrape)}
            sleep(max(0.0, interval - (time.monotonic() - started)))
