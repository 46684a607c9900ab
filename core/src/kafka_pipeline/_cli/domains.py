"""``kafka-pipeline domains``: each installed domain's topics, tables and message fields.

The field reference a plugin author writes ``should_route`` from, as text,
JSON, or the Markdown of ``docs/message-fields.md``.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import Final

import click

from kafka_pipeline._cli.common import CommandError
from kafka_pipeline._cli.output import echo_json
from kafka_pipeline._discovery import DomainRecord, core_version, discover_domains
from kafka_pipeline._fields import DomainReference, MessageField, describe_domain

_WIDTH: Final = 100


@click.command()
@click.option(
    "--domain",
    "domain_names",
    metavar="D",
    multiple=True,
    help="Only this domain; repeat for several. Default: every installed domain.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.option("--markdown", is_flag=True, help="Print the Markdown of docs/message-fields.md.")
def domains(domain_names: tuple[str, ...], as_json: bool, markdown: bool) -> None:
    """Describe each installed domain and every field of its messages.

    For each domain: its source topic, dead-letter topic, the Delta table of
    each status, how the trace id and the status are derived, and every
    field of its message model (dotted for nested models, e.g.
    event.event_type): type, whether it is required, its default and its
    description, from the model's Field(description=...). Computed fields
    are listed too. These are what should_route(message) can read.
    """
    if as_json and markdown:
        raise click.UsageError("--json and --markdown are exclusive: choose one")
    records = _select(discover_domains(), domain_names)
    if as_json:
        echo_json({"core_version": core_version(), "domains": [_json(r) for r in records]})
        return
    loaded = [(r, describe_domain(r.domain)) for r in records if r.domain is not None]
    failed = [r for r in records if r.domain is None]
    if markdown:
        if failed:
            raise CommandError(_failures(failed) + "\nFix them before generating the reference.")
        click.echo(render_markdown(loaded), nl=False)
        return
    if not records:
        click.echo("No domain is installed: pip install the package that provides your domain.")
        return
    parts = [_human(r, ref) for r, ref in loaded]
    if failed:
        parts.append(_failures(failed))
    click.echo("\n\n".join(parts))


def _select(records: list[DomainRecord], names: Sequence[str]) -> list[DomainRecord]:
    if not names:
        return records
    known = {r.name for r in records}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise click.BadParameter(
            f"unknown domain {unknown[0]!r} (installed: {', '.join(sorted(known)) or 'none installed'}). "
            "Install the package that provides it; 'kafka-pipeline plugins' lists what is installed.",
            param_hint="'--domain'",
        )
    return [r for r in records if r.name in names]


def _failures(records: list[DomainRecord]) -> str:
    lines = [f"  domain {r.name} ({r.entry_point}): {r.error}" for r in records]
    return "\n".join(["Domains that failed to load:", *lines])


def _json(record: DomainRecord) -> dict[str, object]:
    """The record as ``plugins --json`` gives it, and for a loaded domain its reference."""
    data = record.as_dict()
    return data | describe_domain(record.domain).as_dict() if record.domain is not None else data


# -- text ---------------------------------------------------------------------


def _tables_text(tables: dict[str, str]) -> str:
    stored = [f"{status} -> {table}" for status, table in tables.items()]
    return "; ".join([*stored, "any other status: not stored"])


def _human(record: DomainRecord, ref: DomainReference) -> str:
    facts = [
        ("distribution", f"{record.distribution or '-'} {record.version or ''}".rstrip()),
        ("model", ref.model),
        ("source topic", f"{ref.source_topic} (source_topic in the configuration overrides it)"),
        ("DLQ topic", ref.dlq_topic),
        ("Delta tables", _tables_text(ref.tables)),
        ("trace id", ref.trace_id),
        ("status", ref.status),
    ]
    width = max(len(label) for label, _ in facts)
    lines = [f"{ref.name}: {ref.description}" if ref.description else ref.name]
    for label, value in facts:
        lines += _wrap(value, first=f"  {label.ljust(width)}  ", rest=" " * (width + 4))
    if ref.model_description:
        lines += ["", *_wrap(ref.model_description, first="  ", rest="  ")]
    lines += ["", f"  Fields ({len(ref.fields)}), read in should_route as message.<field>:"]
    name_width = max((len(f.name) for f in ref.fields), default=0)
    types = [_type_text(f) for f in ref.fields]
    type_width = max((len(t) for t in types), default=0)
    for f, type_text in zip(ref.fields, types, strict=True):
        lines.append(f"  {f.name.ljust(name_width)}  {type_text.ljust(type_width)}  {f.presence}".rstrip())
        for text in _details(f):
            lines += _wrap(text, first="      ", rest="      ")
    return "\n".join(lines)


def _type_text(f: MessageField) -> str:
    return f"{f.type} ({', '.join(f.constraints)})" if f.constraints else f.type


def _details(f: MessageField) -> list[str]:
    details = [f.description] if f.description else []
    if f.values and f.values[0] not in f.type:
        details.append("values: " + ", ".join(f.values))
    if f.examples:
        details.append("example values: " + ", ".join(f.examples))
    return details


def _wrap(text: str, *, first: str, rest: str) -> list[str]:
    lines = textwrap.wrap(
        text,
        _WIDTH,
        initial_indent=first,
        subsequent_indent=rest,
        break_long_words=False,
        break_on_hyphens=False,
    )
    return lines or [first.rstrip()]


# -- Markdown -----------------------------------------------------------------


def markdown_command(names: Sequence[str]) -> str:
    """The command that writes the page of the domains ``names`` to docs/message-fields.md."""
    selected = "".join(f" --domain {name}" for name in sorted(names))
    return f"kafka-pipeline domains --markdown{selected} > docs/message-fields.md"


_PREAMBLE: Final = """\
# Message fields

<!-- Generated by `{command}`.
     Do not edit: change the models' Field(description=...) and run it again. -->

What a routing plugin can read from each domain's messages: every field of
the domain's pydantic model, as `message.<field>` in `should_route` and
`route` (`message.event.event_type` for a field of a nested model). A
computed field is derived from the others, never read from the input. An
optional field without a default is `None` when a message does not carry
it: guard before comparing (`(message.error_message or "")`).
`kafka-pipeline domains` prints the same for whatever is installed where you
run it (`--domain D` for one domain, `--json` for scripts).
"""


def render_markdown(domains: Sequence[tuple[DomainRecord, DomainReference]]) -> str:
    """The Markdown page of ``domains``, in name order: a table of facts, then one of fields, per domain."""
    ordered = sorted(domains, key=lambda pair: pair[1].name)
    parts = [_PREAMBLE.format(command=markdown_command([ref.name for _, ref in ordered]))]
    parts.append("\n".join(f"- [`{ref.name}`](#{ref.name}): {ref.description}" for _, ref in ordered) + "\n")
    parts += [_markdown_domain(record, ref) for record, ref in ordered]
    return "\n".join(parts)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _code(text: str) -> str:
    return f"`{_cell(text)}`"


def _markdown_domain(record: DomainRecord, ref: DomainReference) -> str:
    tables = [f"`{status}` → `{table}`" for status, table in ref.tables.items()]
    facts = [
        ("model", f"{_code(ref.model)} from {_code(record.distribution or '?')}"),
        ("source topic", f"{_code(ref.source_topic)} (`source_topic` in the configuration overrides it)"),
        ("dead-letter topic", _code(ref.dlq_topic)),
        ("Delta tables", ", ".join([*tables, "any other status: not stored"])),
        ("trace id", _cell(ref.trace_id)),
        ("status", _cell(ref.status)),
    ]
    lines = [f"## {ref.name}", ""]
    if ref.description:
        lines += [f"{ref.description}.", ""] if not ref.description.endswith(".") else [ref.description, ""]
    if ref.model_description:
        lines += [ref.model_description, ""]
    lines += ["| | |", "|---|---|", *(f"| {label} | {value} |" for label, value in facts), ""]
    lines += ["| field | type | required | description |", "|---|---|---|---|"]
    for f in ref.fields:
        type_cell = ", ".join([_code(f.type), *(_cell(c) for c in f.constraints)])
        lines.append(f"| {_code(f.name)} | {type_cell} | {f.presence} | {_field_text(f)} |")
    return "\n".join(lines) + "\n"


def _field_text(f: MessageField) -> str:
    parts = [_cell(f.description)] if f.description else []
    if f.values and f.values[0] not in f.type:
        parts.append("Values: " + ", ".join(_code(v) for v in f.values) + ".")
    if f.examples:
        parts.append("Example values: " + ", ".join(_code(e) for e in f.examples) + ".")
    return " ".join(parts)
