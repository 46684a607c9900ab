"""``kafka-pipeline demo``: embedded broker, sample results, every installed plugin, a summary."""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import click

from kafka_pipeline._cli.output import echo_json
from kafka_pipeline._cli.progress import ProgressBar

if TYPE_CHECKING:
    from kafka_pipeline._broker.embedded import EmbeddedBroker
    from kafka_pipeline._demo.summary import DemoSummary

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
@click.option(
    "--input",
    "input_file",
    type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path),
    metavar="FILE.jsonl",
    help="Produce the lines of this file (one JSON result each) instead of sample results; needs "
    "one --domain. Invalid lines go to the DLQ, as any would.",
)
@click.option(
    "--keep-broker",
    is_flag=True,
    help="After the summary, keep the broker running and write a dev.yaml for it, so that worker, "
    "produce, replay and top can be tried against it; Ctrl-C stops it.",
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
    input_file: Path | None,
    keep_broker: bool,
    as_json: bool,
) -> None:
    """See the whole pipeline work on this machine, with no Kafka of your own.

    Starts the embedded Kafka-compatible broker (Tansu, from core's 'dev'
    extra), produces sample results for every installed domain (a few of them
    invalid), or with --input FILE.jsonl --domain D the lines of your own
    file, runs one worker per domain with every installed plugin until it
    has consumed them all, then prints what was routed, stored in Delta and
    dead-lettered, and stops the broker. Ctrl-C finishes the batch in hand and
    still prints the summary. Exits 0 when every domain was drained, 1 when a
    worker failed, 130 when interrupted.

    With --keep-broker the broker outlives the summary: its address and a
    ready configuration (written to dev.yaml beside the Delta root) are
    printed, and it runs until Ctrl-C or SIGTERM, which stop it.
    """
    if input_file is not None:
        _check_input_options(ctx, domains)
    # Heavy imports (aiokafka, deltalake, pyarrow) only for this command.
    from kafka_pipeline._demo.plan import DemoSettings
    from kafka_pipeline._demo.runner import demo as run

    settings = DemoSettings(
        messages=messages,
        seed=seed,
        delta_root=delta_root,
        partitions=partitions,
        domains=domains,
        input=input_file,
    )
    progress = _ProgressLine()
    shown = False

    def hold(summary: DemoSummary, broker: EmbeddedBroker) -> None:
        nonlocal shown
        progress.close()
        _show(summary, as_json)
        shown = True
        _hold(summary, broker, as_json)

    try:
        summary = run(settings, reporter=progress, keep_broker=hold if keep_broker else None)
    except (KeyboardInterrupt, asyncio.CancelledError):
        progress.close()
        click.echo("interrupted: stopped without a summary; the broker is stopped", err=True)
        ctx.exit(EXIT_INTERRUPTED)
    finally:
        progress.close()
    if shown:
        click.echo("The embedded broker is stopped; its topics were in memory and are gone.", err=as_json)
    else:
        _show(summary, as_json)
    if summary.interrupted:
        ctx.exit(EXIT_INTERRUPTED)
    if not summary.ok:
        ctx.exit(1)


def _check_input_options(ctx: click.Context, domains: tuple[str, ...]) -> None:
    if len(domains) != 1:
        raise click.UsageError("--input needs exactly one --domain: the domain whose results the file holds")
    for name in ("messages", "seed"):
        if ctx.get_parameter_source(name) is not click.core.ParameterSource.DEFAULT:
            raise click.UsageError(
                f"--{name} shapes the sample results; with --input, the file's lines are produced instead"
            )


def _show(summary: DemoSummary, as_json: bool) -> None:
    from kafka_pipeline._demo.report import render_summary

    if as_json:
        echo_json(summary.as_dict())
    else:
        click.echo()
        click.echo(render_summary(summary))


def _hold(summary: DemoSummary, broker: EmbeddedBroker, as_json: bool) -> None:
    """Print how to use the running broker, then wait for Ctrl-C or SIGTERM (or the broker's end)."""
    from kafka_pipeline._demo import dev_config
    from kafka_pipeline._demo.runner import group_id

    domains = [run.name for run in summary.domains]
    text = dev_config.render(dev_config.dev_config(broker.bootstrap_servers, summary.delta_root, domains))
    path = summary.delta_root.absolute().parent / dev_config.FILE_NAME
    written = dev_config.write(path, text)
    shown = _relative(path)
    domain = domains[0] if len(domains) == 1 else "D"
    lines = [
        "",
        f"The embedded broker is still running at {broker.bootstrap_servers}; Ctrl-C stops it.",
        f"Its configuration, written to {shown}:"
        if written
        else f"Its configuration ({shown} is not the demo's, so it was left alone; save this as a file):",
        "",
        *(f"  {line}" for line in text.splitlines()),
        "",
        "Try, in another terminal:",
        f"  kafka-pipeline produce --config {shown} --domain {domain} FILE.jsonl",
        f"  kafka-pipeline worker --config {shown} --domain {domain} --exit-when-idle 10 --metrics-port 9108",
        "  kafka-pipeline top --url 127.0.0.1:9108",
        f"  kafka-pipeline replay --config {shown} --domain {domain} --dry-run",
    ]
    if len(domains) > 1:
        groups = " or ".join(f"--group-id {group_id(name)}" for name in domains)
        lines += [
            f"A worker in group {dev_config.DEV_GROUP} starts with the demo's sample results; to start "
            f"after them, pass the demo's own group of the domain: {groups}.",
        ]
    for line in lines:
        click.echo(line, err=as_json)
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stop.wait(0.2):
            if not broker.running:
                click.echo("The embedded broker stopped by itself:\n" + broker.output()[-2000:], err=True)
                break
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _relative(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
