"""Rendering for humans (aligned tables) and machines (JSON) on stdout."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import click


def render_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell; the last column is not padded."""
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        padded = [c.ljust(w) for c, w in zip(cells[:-1], widths[:-1], strict=True)]
        return "  ".join([*padded, cells[-1]]).rstrip()

    return "\n".join([line(headers), *(line(r) for r in rows)])


def echo_json(data: Any, *, indent: int | None = 2) -> None:
    """Print ``data`` as JSON; ``indent=None`` gives one line (for JSON Lines output)."""
    click.echo(json.dumps(data, indent=indent, default=str))
