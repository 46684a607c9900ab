"""The ``kafka-pipeline`` command.

Each command lives in its own module and is registered below with one import
and one ``main.add_command(...)`` line. Command modules must keep heavy
imports (aiokafka, deltalake, pyarrow) inside the command function: this
package is imported for every command, and ``kafka-pipeline plugins`` must
stay fast.
"""

from __future__ import annotations

from typing import Literal

import click

from kafka_pipeline._cli.check import check
from kafka_pipeline._cli.common import KafkaPipelineGroup
from kafka_pipeline._cli.demo import demo
from kafka_pipeline._cli.domains import domains
from kafka_pipeline._cli.maintain import maintain
from kafka_pipeline._cli.new_plugin import new_plugin
from kafka_pipeline._cli.plugins import plugins
from kafka_pipeline._cli.produce import produce
from kafka_pipeline._cli.replay import replay
from kafka_pipeline._cli.route import route
from kafka_pipeline._cli.top import top
from kafka_pipeline._cli.worker import worker
from kafka_pipeline._logs import configure_logging

LOG_LEVELS = ("debug", "info", "warning", "error")


@click.group(cls=KafkaPipelineGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="kafka-pipeline-core", prog_name="kafka-pipeline")
@click.option(
    "--log-level",
    type=click.Choice(LOG_LEVELS, case_sensitive=False),
    default="warning",
    show_default=True,
    envvar="KAFKA_PIPELINE_LOG_LEVEL",
    help="Log records at this level and above go to stderr.",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    envvar="KAFKA_PIPELINE_LOG_FORMAT",
    help="Plain lines, or one JSON object per line for log shippers.",
)
def main(log_level: str, log_format: Literal["text", "json"]) -> None:
    """Route Kafka result messages to further topics by pluggable rules.

    Routing plugins are found through the 'kafka_pipeline.routing' entry
    points of installed packages; domains (message families) through
    'kafka_pipeline.domains'. Start with 'kafka-pipeline plugins' to see what
    is installed, 'kafka-pipeline check --config F' before deploying, and
    'kafka-pipeline route' to try the rules on sample messages.
    """
    configure_logging(log_level, log_format)


main.add_command(plugins)
main.add_command(domains)
main.add_command(check)
main.add_command(route)
main.add_command(new_plugin)
main.add_command(produce)
main.add_command(worker)
main.add_command(replay)
main.add_command(demo)
main.add_command(top)
main.add_command(maintain)
