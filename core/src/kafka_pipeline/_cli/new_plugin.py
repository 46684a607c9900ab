"""``kafka-pipeline new-plugin``: start a routing-plugin package that installs, loads and tests green."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("new-plugin")
@click.argument("name")
@click.option(
    "--domain",
    "domain_name",
    metavar="D",
    required=True,
    help="The installed domain the plugin routes ('kafka-pipeline plugins' lists them).",
)
@click.option(
    "--dir",
    "directory",
    type=click.Path(path_type=Path),
    default=None,
    help="Where to create the package; must not exist or be empty. Default: ./<package name>.",
)
@click.option(
    "--package-name",
    default=None,
    metavar="DIST",
    help="The distribution name. Default: kafka-pipeline-NAME; the import package is derived from it.",
)
def new_plugin(name: str, domain_name: str, directory: Path | None, package_name: str | None) -> None:
    """Create a routing plugin package named NAME for domain D.

    NAME is the plugin's name and entry-point name, e.g. 'esx-processor'.
    The package has a pyproject.toml with the entry point and a core version
    range, a RoutingPlugin subclass for the domain's message model with a
    Config and a working rule, and tests that route the domain's sample
    messages through it. Install it with pip and it is discovered.
    """
    # Imported here: the scaffold runs discovery, and other commands should not pay for it.
    from kafka_pipeline._scaffold.generate import ScaffoldError, create_plugin_package

    try:
        created = create_plugin_package(name, domain_name, directory=directory, package_name=package_name)
    except ScaffoldError as exc:
        if exc.param is None:
            raise click.ClickException(str(exc)) from None
        raise click.BadParameter(str(exc), param_hint=f"'{exc.param}'") from None

    click.echo(f"Created {created.distribution} (plugin {created.name!r}, domain {created.domain!r}):")
    for relative in created.files:
        click.echo(f"  {created.root / relative}")
    click.echo(
        "\nNext:\n"
        f"  cd {created.root}\n"
        "  pip install -e '.[test]'\n"
        "  pytest\n"
        f"  kafka-pipeline plugins --domain {created.domain}"
    )
