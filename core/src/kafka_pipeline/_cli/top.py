"""``kafka-pipeline top``: a live view of running workers' metrics, or one plain snapshot."""

from __future__ import annotations

import contextlib
import sys
import time

import click

from kafka_pipeline._cli.common import CommandError

#: The longest wait for one worker's answer: a scrape that takes longer shows it as unreachable.
MAX_TIMEOUT = 5.0


@click.command()
@click.option(
    "--url",
    "urls",
    multiple=True,
    required=True,
    metavar="URL",
    help="A worker's metrics address: host:port, http://host:port or the full /metrics URL. Repeat it "
    "for several workers: their counts and rates are summed, lag and open breakers name the worker.",
)
@click.option(
    "--once",
    is_flag=True,
    help="Print one plain-text snapshot and exit: two scrapes --interval apart, so that rates exist "
    "(--interval 0: one scrape, rates n/a). Exits 1 if a worker cannot be scraped.",
)
@click.option(
    "--interval",
    type=click.FloatRange(min=0),
    default=2.0,
    show_default=True,
    metavar="SECONDS",
    help="Seconds between scrapes: the refresh of the live view and the window of the rates.",
)
def top(urls: tuple[str, ...], once: bool, interval: float) -> None:
    """Watch running workers through their /metrics (see 'worker --metrics-port').

    Per plugin: matched, sent and errors per second, with its circuit
    breaker; consumer lag per partition; the dead-letter queue by reason;
    Delta rows per second; a sparkline of the recent values of each. A
    worker that cannot be scraped is shown as unreachable, with the reason.
    Ctrl-C quits.
    """
    # Imported here: prometheus_client's parser, and rich for the live view, only for this command.
    from kafka_pipeline._top.scrape import metrics_url

    try:
        targets = list(dict.fromkeys(metrics_url(url) for url in urls))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'--url'") from None
    if not once and not sys.stdout.isatty():
        raise click.UsageError("the live view needs a terminal; use --once for a plain-text snapshot")
    if not once and interval <= 0:
        raise click.BadParameter("the live view needs an interval above 0", param_hint="'--interval'")
    timeout = min(MAX_TIMEOUT, max(1.0, interval))
    if once:
        _once(targets, interval, timeout)
        return
    from kafka_pipeline._top.live import run_live

    with contextlib.suppress(KeyboardInterrupt):
        run_live(targets, interval, timeout)


def _once(targets: list[str], interval: float, timeout: float) -> None:
    from kafka_pipeline._top.scrape import Scrape, ScrapeError, scrape_all
    from kafka_pipeline._top.snapshot import snapshot
    from kafka_pipeline._top.text import render_text

    def round_of_scrapes() -> dict[str, Scrape]:
        results = scrape_all(targets, timeout)
        failed = [r for r in results.values() if isinstance(r, ScrapeError)]
        if len(failed) == 1:
            raise CommandError(str(failed[0]))
        if failed:
            reasons = "; ".join(f"{e.url}: {e.reason}" for e in failed)
            raise CommandError(f"cannot scrape {len(failed)} of {len(targets)} workers: {reasons}")
        return {url: r for url, r in results.items() if isinstance(r, Scrape)}

    first = round_of_scrapes()
    if interval > 0:
        time.sleep(interval)
        click.echo(render_text(snapshot(round_of_scrapes(), first)), nl=False)
    else:
        click.echo(render_text(snapshot(first, {})), nl=False)
