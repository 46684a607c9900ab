"""What the commands share: error reporting, the ``--config``/``--domain`` options, discovery."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from kafka_pipeline._config import PipelineConfig, load_config
from kafka_pipeline._errors import ConfigError, KafkaPipelineError
from kafka_pipeline._loading import Installation, discover
from kafka_pipeline._logs import mask_secrets, quiet, redact

F = TypeVar("F", bound=Callable[..., Any])

log = logging.getLogger("kafka_pipeline.cli")


class CommandError(click.ClickException):
    """A failure the user can act on: printed as one message to stderr, exit status 1."""

    exit_code = 1


class KafkaPipelineGroup(click.Group):
    """Turns any :class:`KafkaPipelineError` a command lets escape into a message, not a traceback.

    An expected failure (a broker that refuses the client, a missing topic,
    a bad configuration) is one message with what to do; its traceback is
    for developers and goes to the log at ``--log-level debug`` only. Known
    secrets are masked in both.
    """

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KafkaPipelineError as exc:
            log.debug("the traceback of the error below", exc_info=True)
            raise CommandError(mask_secrets(str(exc))) from exc


def config_option(*, required: bool = False) -> Callable[[F], F]:
    """``--config F``: the pipeline's YAML configuration file, passed as ``config_path``."""
    return click.option(
        "--config",
        "config_path",
        type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path),
        required=required,
        help="The pipeline's YAML configuration file." + ("" if required else " Default: built-in defaults."),
    )


def domain_option(
    *, required: bool = True, help: str = "The message domain ('kafka-pipeline plugins' lists them)."
) -> Callable[[F], F]:
    """``--domain D``: a domain name from the ``kafka_pipeline.domains`` entry points."""
    return click.option("--domain", "domain_name", metavar="D", required=required, help=help)


def load_pipeline_config(path: Path | None) -> PipelineConfig:
    """The validated configuration, or a :class:`CommandError` listing every problem.

    Its secrets are masked in every log record from then on.
    """
    try:
        config = load_config(path)
    except ConfigError as exc:
        lines = "\n".join(f"  {p}" for p in exc.problems)
        where, check = (f" in {path}", f" --config {path}") if path is not None else ("", "")
        raise CommandError(
            f"invalid configuration{where}:\n{lines}\n"
            f"Fix these entries and run again ('kafka-pipeline check{check}' lists "
            "every problem, plugin configs included)."
        ) from None
    redact(*config.secrets())
    return config


def quiet_loading() -> contextlib.AbstractContextManager[None]:
    """Silence the load-failure log lines of discovery while a command reports them itself."""
    return quiet("kafka_pipeline.loading")


def discover_quietly(config: PipelineConfig, *, strict: bool | None = False) -> Installation:
    """Discover without logging the load failures that the calling command reports itself."""
    with quiet_loading():
        return discover(config, strict=strict)


def require_domain(installation: Installation, name: str) -> None:
    """A usage error (exit status 2) when ``name`` is not an installed domain."""
    if name not in installation.domains:
        known = ", ".join(sorted(installation.domains)) or "none installed"
        raise click.BadParameter(
            f"unknown domain {name!r} (installed: {known}). "
            "Install the package that provides it; 'kafka-pipeline plugins' lists what is installed.",
            param_hint="'--domain'",
        )
