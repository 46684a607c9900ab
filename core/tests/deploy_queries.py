"""The queries of ``deploy/``: the Grafana dashboard's and the alert rules', parsed loosely.

Enough PromQL to keep the files honest without a Prometheus: every query
tokenizes, its brackets pair up, its functions exist, each range function is
given a range, and it yields the metric names and label names it uses, which
the tests compare with what a real worker exports. ``promtool`` does the real
parse where it is installed (CI installs it).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml

REPO: Final = Path(__file__).resolve().parents[2]
DASHBOARD: Final = REPO / "deploy" / "grafana" / "kafka-pipeline.json"
ALERTS: Final = REPO / "deploy" / "prometheus" / "alerts.yaml"
ALERT_TESTS: Final = REPO / "deploy" / "prometheus" / "alerts.test.yaml"

#: Grafana's interval variables, given a value of their kind so that the query parses as PromQL.
GRAFANA_INTERVALS: Final = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h"}

AGGREGATIONS: Final = frozenset(
    {
        "sum",
        "min",
        "max",
        "avg",
        "group",
        "stddev",
        "stdvar",
        "count",
        "count_values",
        "bottomk",
        "topk",
        "quantile",
        "limitk",
        "limit_ratio",
    }
)
#: Functions whose argument must be a range vector (``rate(x[5m])``).
RANGE_FUNCTIONS: Final = frozenset(
    {
        "rate",
        "irate",
        "increase",
        "delta",
        "idelta",
        "deriv",
        "changes",
        "resets",
        "predict_linear",
        "holt_winters",
        "double_exponential_smoothing",
        "absent_over_time",
        "avg_over_time",
        "min_over_time",
        "max_over_time",
        "sum_over_time",
        "count_over_time",
        "quantile_over_time",
        "stddev_over_time",
        "stdvar_over_time",
        "last_over_time",
        "present_over_time",
        "mad_over_time",
    }
)
FUNCTIONS: Final = RANGE_FUNCTIONS | frozenset(
    {
        "abs",
        "absent",
        "ceil",
        "clamp",
        "clamp_max",
        "clamp_min",
        "day_of_month",
        "day_of_week",
        "day_of_year",
        "days_in_month",
        "exp",
        "floor",
        "histogram_avg",
        "histogram_count",
        "histogram_fraction",
        "histogram_quantile",
        "histogram_stddev",
        "histogram_stdvar",
        "histogram_sum",
        "hour",
        "label_join",
        "label_replace",
        "ln",
        "log2",
        "log10",
        "minute",
        "month",
        "round",
        "scalar",
        "sgn",
        "sort",
        "sort_desc",
        "sort_by_label",
        "sort_by_label_desc",
        "sqrt",
        "time",
        "timestamp",
        "vector",
        "year",
        "acos",
        "acosh",
        "asin",
        "asinh",
        "atan",
        "atanh",
        "cos",
        "cosh",
        "sin",
        "sinh",
        "tan",
        "tanh",
        "deg",
        "rad",
        "pi",
    }
)
#: Keywords followed by a list of label names.
LABEL_LISTS: Final = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right"})
KEYWORDS: Final = frozenset({"and", "or", "unless", "bool", "offset", "atan2", "inf", "nan"})

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
    | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
    | (?P<duration>(?:\d+(?:ms|[smhdwy]))+)(?![\w:])
    | (?P<number>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)
    | (?P<ident>[a-zA-Z_:][\w:]*)
    | (?P<op>==|!=|<=|>=|=~|!~|[-+*/%^<>=,:@])
    | (?P<open>[({\[])
    | (?P<close>[)}\]])
    """,
    re.VERBOSE,
)
_PAIRS: Final = {")": "(", "}": "{", "]": "["}
_LEGEND_LABEL = re.compile(r"\{\{\s*(\w+)\s*\}\}")
_LABEL_VALUES = re.compile(r"^\s*label_values\((?P<selector>.*),\s*(?P<label>\w+)\s*\)\s*$", re.DOTALL)


class PromQLError(ValueError):
    """A query the loose parser cannot accept."""


@dataclass(frozen=True)
class Query:
    """One query of a deploy file, and the label names its presentation relies on (legends, variables)."""

    where: str
    expr: str
    shown_labels: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Parsed:
    """The metric names a query selects, and every label name it matches, groups or joins on."""

    metrics: frozenset[str]
    labels: frozenset[str]


def _tokens(expr: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(expr):
        match = _TOKEN.match(expr, position)
        if match is None:
            raise PromQLError(f"unexpected {expr[position : position + 10]!r} at {position} in {expr!r}")
        kind = match.lastgroup
        assert kind is not None
        if kind != "space":
            tokens.append((kind, match.group()))
        position = match.end()
    return tokens


def parse(expr: str) -> Parsed:
    """Check ``expr`` loosely and name its metrics and labels; :class:`PromQLError` when it is wrong."""
    tokens = _tokens(expr)
    metrics: set[str] = set()
    labels: set[str] = set()
    # Open brackets; for "(": whether it is a range function's and has met its range.
    stack: list[tuple[str, bool, bool]] = []
    i = 0

    def at(n: int) -> tuple[str, str]:
        return tokens[n] if n < len(tokens) else ("end", "")

    def label_list(start: int) -> int:
        """``(a, b)`` from ``start`` (the "("); returns the index after ")"."""
        n = start + 1
        while at(n)[1] != ")":
            kind, text = at(n)
            if kind == "ident":
                labels.add(text)
            elif text != ",":
                raise PromQLError(f"expected label names in ( ) in {expr!r}, found {text!r}")
            n += 1
        return n + 1

    def matchers(start: int) -> int:
        """``{a="x", b=~"y"}`` from ``start`` (the "{"); returns the index after "}"."""
        n = start + 1
        while at(n)[1] != "}":
            (k1, name), (_, op), (k3, value) = at(n), at(n + 1), at(n + 2)
            if k1 != "ident" or op not in {"=", "!=", "=~", "!~"} or k3 != "string":
                raise PromQLError(f"bad label matcher {name}{op}{value} in {expr!r}")
            if name == "__name__":
                metrics.add(value[1:-1])
            else:
                labels.add(name)
            n += 3
            if at(n)[1] == ",":
                n += 1
            elif at(n)[1] != "}":
                raise PromQLError(f"expected , or }} after a label matcher in {expr!r}")
        return n + 1

    while i < len(tokens):
        kind, text = tokens[i]
        following = at(i + 1)[1]
        if kind == "ident" and text in LABEL_LISTS:
            if following == "(":
                i = label_list(i + 1)
                continue
            if text in {"by", "without", "on", "ignoring"}:
                raise PromQLError(f"{text} needs a list of labels in ( ) in {expr!r}")
        elif kind == "ident" and text in AGGREGATIONS and following in {"by", "without"}:
            # sum by (a) (x): the modifier before the argument.
            if at(i + 2)[1] != "(":
                raise PromQLError(f"{following} needs a list of labels in ( ) in {expr!r}")
            argument = label_list(i + 2)
            if at(argument)[1] != "(":
                raise PromQLError(f"{text} {following} (...) needs its argument in ( ) in {expr!r}")
            stack.append(("(", False, False))
            i = argument + 1
            continue
        elif kind == "ident" and following == "(":
            if text not in FUNCTIONS and text not in AGGREGATIONS:
                raise PromQLError(f"unknown function {text}() in {expr!r}")
            stack.append(("(", text in RANGE_FUNCTIONS, False))
            i += 2
            continue
        elif kind == "ident" and text not in KEYWORDS:
            metrics.add(text)
            if following == "{":
                i = matchers(i + 1)
                continue
        elif text == "{":
            i = matchers(i)
            continue
        elif text == "[":
            close = next((n for n in range(i, len(tokens)) if tokens[n][1] == "]"), None)
            inside = "".join(t for _, t in tokens[i + 1 : close]) if close is not None else ""
            if close is None or not re.fullmatch(
                r"(?:\d+(?:ms|[smhdwy]))+(?::(?:\d+(?:ms|[smhdwy]))*)?", inside
            ):
                raise PromQLError(f"bad range [{inside}] in {expr!r}")
            if stack and stack[-1][0] == "(":
                stack[-1] = ("(", stack[-1][1], True)
            i = close + 1
            continue
        elif kind == "open":
            stack.append((text, False, False))
        elif kind == "close":
            if not stack or stack[-1][0] != _PAIRS[text]:
                raise PromQLError(f"unbalanced {text!r} in {expr!r}")
            _, needs_range, has_range = stack.pop()
            if needs_range and not has_range:
                raise PromQLError(f"a range function is given no [range] in {expr!r}")
        i += 1
    if stack:
        raise PromQLError(f"unclosed {stack[-1][0]!r} in {expr!r}")
    if not metrics:
        raise PromQLError(f"selects no metric: {expr!r}")
    return Parsed(frozenset(metrics), frozenset(labels))


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))


def load_dashboard() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return data


def load_alerts() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))
    return data


def panels() -> list[dict[str, Any]]:
    """Every panel of the dashboard, rows and the panels inside collapsed rows included."""
    return list(_panels(load_dashboard()["panels"]))


def dashboard_queries() -> list[Query]:
    """Each panel target's query (Grafana's interval variables given values) and each variable's."""
    queries = []
    for panel in panels():
        for target in panel.get("targets", []):
            expr = target["expr"]
            for variable, value in GRAFANA_INTERVALS.items():
                expr = expr.replace(variable, value)
            legend = frozenset(_LEGEND_LABEL.findall(target.get("legendFormat", "")))
            queries.append(Query(f"panel {panel['title']!r} ({target['refId']})", expr, legend))
    for variable in load_dashboard()["templating"]["list"]:
        if variable["type"] != "query":
            continue
        query = variable["query"]
        text = query["query"] if isinstance(query, dict) else query
        match = _LABEL_VALUES.match(text)
        if match is None:
            raise PromQLError(
                f"variable {variable['name']!r}: expected label_values(selector, label): {text!r}"
            )
        queries.append(
            Query(f"variable {variable['name']!r}", match["selector"], frozenset({match["label"]}))
        )
    return queries


def alert_rules() -> list[dict[str, Any]]:
    return [rule for group in load_alerts()["groups"] for rule in group["rules"]]


def alert_queries() -> list[Query]:
    return [Query(f"alert {rule['alert']}", rule["expr"]) for rule in alert_rules()]


def all_queries() -> list[Query]:
    return dashboard_queries() + alert_queries()
