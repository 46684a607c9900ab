"""``kafka-pipeline demo``: embedded broker, sample results, every installed plugin, a summary."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path

import click

from kafka_pipeline._cli.output import echo_json
from kafka_pipeline._cli.progress import ProgressBar

# Repeated here rather than imported: the demo package pulls in aiokafka and deltalake,
# and this module is imported for every command.
DEFAULT_MESSAGES = 2000
DEFAULT_SEED = 1
DEFAULT_DELTA_ROOT = "demo-output/delta"
EXIT_INTERRUPTED = 130


class _ProgressLine:
    """Phases as lines on stderr; producing and routing as progress bars (drawn on a terminal only)."""

    def __init__(self) -> None:
        self._bar: ProgressBar | None = None

    def step(self, text: str) -> None:
        self.close()
        click.echo(f"- {text}", err=True)

    def producing(self, acknowledged: int, total: int) -> None:
        self._draw("produced", acknowledged, total)

    def progress(self, consumed: Mapping[str, int], produced: Mapping[str, int]) -> None:
        detail = "  ".join(f"{name} {consumed[name]:,}/{produced[name]:,}" for name in sorted(produced))
        total = sum(produced.values())
        self._draw("consumed", min(sum(consumed.values()), total), total, detail)

    def _draw(self, label: str, done: int, total: int, detail: str = "") -> None:
        if self._bar is None:
            self._bar = ProgressBar(label)
        self._bar.update(done, total, detail)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


@click.command()
@click.option(
    "--messages",
    type=click.IntRange(min=1),
    default=DEFAULT_MESSAGES,
    show_default=True,
    metavar="N",
    help="Results produced per domain; about 1% of them are invalid on purpose.",
)
@click.option(
    "--seed", type=int, default=DEFAULT_SEED, show_default=True, metavar="S", help="Seeds the sample results."
)
@click.option(
    "--delta-root",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_DELTA_ROOT,
    show_default=True,
    metavar="DIR",
    help="Where the Delta tables go. An earlier demo's tables there are replaced; a directory "
    "with anything else in it is refused.",
)
@click.option(
    "--partitions",
    type=click.IntRange(min=1, max=64),
    default=3,
    show_default=True,
    metavar="P",
    help="Partitions of every topic the demo creates.",
)
@click.option(
    "--domain",
    "domains",
    multiple=True,
    metavar="D",
    help="Only this domain (repeat for more). Default: every installed domain with sample results.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON on stdout.")
@click.pass_context
def demo(
    ctx: click.Context,
    *,
    messages: int,
    seed: int,
    delta_root: Path,
    partitions: int,
    domains: tuple[str, ...],
    as_json: bool,
) -> None:
    """See the whole pipeline work on this machine, with no Kafka of your own.

    Starts the embedded Kafka-compatible broker (Tansu, from core's 'dev'
    extra), produces sample results for every installed domain (a few of them
    invalid), runs one worker per domain with every installed plugin until it
    has consumed them all, then prints what was routed, stored in Delta and
    dead-lettered, and stops the broker. Ctrl-C finishes the batch in hand and
    still prints the summary. Exits 0 when every domain was drained, 1 when a
    worker failed, 130 when interrupted.
    """
    # Heavy imports (aiokafka, deltalake, pyarrow) only for this command.
    from kafka_pipeline._demo.plan import DemoSettings
    from kafka_pipeline._demo.report import render_summary
    from kafka_pipeline._demo.runner import demo as run

    settings = DemoSettings(
        messages=messages, seed=seed, delta_root=delta_root, partitions=partitions, domains=domains
    )
    progress = _ProgressLine()
    try:
        summary = run(settings, reporter=progress)
    except (KeyboardInterrupt, asyncio.CancelledError):
        progress.close()
        click.echo("interrupted: stopped without a summary; the broker is stopped", err=True)
        ctx.exit(EXIT_INTERRUPTED)
    finally:
        progress.close()
    if as_json:
        echo_json(summary.as_dict())
    else:
        click.echo()
        click.echo(render_summary(summary))
    if summary.interrupted:
        ctx.exit(EXIT_INTERRUPTED)
    if not summary.ok:
        ctx.exit(1)
