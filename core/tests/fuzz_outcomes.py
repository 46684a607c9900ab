"""Outcomes of the fuzz tests by domain and kind, printed at the end of the run (``nox -s fuzz``)."""

from __future__ import annotations

from collections import Counter
from typing import Any

#: domain -> outcome kind -> inputs (``+plugin dlq:...`` counts plugin failures on top of an outcome).
OUTCOMES: dict[str, Counter[str]] = {}


def report(terminal: Any) -> None:
    """Write the table of outcomes to pytest's terminal reporter, when any fuzz test ran."""
    if not OUTCOMES:
        return
    terminal.write_sep("-", "fuzz: inputs by outcome")
    for domain, outcomes in sorted(OUTCOMES.items()):
        inputs = sum(n for kind, n in outcomes.items() if not kind.startswith("+"))
        shown = ", ".join(f"{kind} {n}" for kind, n in sorted(outcomes.items()))
        terminal.write_line(f"{domain}: {inputs} inputs: {shown}")
