"""deploy/: the Grafana dashboard and the alert rules are well-formed and cover what operators watch.

That every metric they name is one a worker exports is checked against a
real worker's ``/metrics`` (``integration/test_deploy_metrics.py``). Here,
without a broker: the files parse, every query parses (loosely, and with
``promtool`` where it is installed: CI installs it), and the alert rules'
own unit tests pass.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from typing import Any

import pytest
from deploy_queries import (
    ALERT_TESTS,
    ALERTS,
    Parsed,
    PromQLError,
    Query,
    alert_queries,
    alert_rules,
    all_queries,
    load_dashboard,
    panels,
    parse,
)

DURATION = re.compile(r"(?:\d+[smhdwy])+")
#: What the dashboard must show (issue 12): a metric for each, by the label it is broken down by.
SHOWN = {
    "throughput by domain and outcome": "kafka_pipeline_messages_total",
    "matched per plugin": "kafka_pipeline_plugin_matched_total",
    "sent per plugin": "kafka_pipeline_plugin_routed_total",
    "errors per plugin": "kafka_pipeline_plugin_errors_total",
    "route latency per plugin": "kafka_pipeline_plugin_route_seconds_bucket",
    "breaker state": "kafka_pipeline_circuit_open",
    "the DLQ by reason": "kafka_pipeline_dlq_total",
    "Delta rows": "kafka_pipeline_delta_rows_total",
    "flush latency": "kafka_pipeline_flush_seconds_bucket",
    "consumer lag by partition": "kafka_pipeline_consumer_lag",
    "loop stalls": "kafka_pipeline_loop_stalls_total",
}
#: What the alert rules must cover (issue 12), by alert name.
ALERTED = {
    "KafkaPipelineConsumerLagGrowing",
    "KafkaPipelineCircuitOpen",
    "KafkaPipelineDeadLetterRateHigh",
    "KafkaPipelineNoFlush",
    "KafkaPipelineWorkerNotReady",
}


def promtool() -> str:
    """The promtool binary; in CI a missing one fails the test instead of skipping it."""
    found = shutil.which("promtool")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("promtool is not installed; .ci/run installs it (Debian's prometheus package)")
        pytest.skip("promtool is not installed (Debian: the prometheus package; CI installs it)")
    return found


@pytest.mark.parametrize("query", all_queries(), ids=lambda q: q.where)
def test_every_query_parses(query: Query) -> None:
    assert parse(query.expr).metrics


@pytest.mark.parametrize(
    ("expr", "metrics", "labels"),
    [
        ('sum by (reason) (rate(a_total{job=~"$job"}[5m]))', {"a_total"}, {"reason", "job"}),
        ("sum(rate(a_total[5m])) without (instance)", {"a_total"}, {"instance"}),
        ("histogram_quantile(0.99, sum by (le) (rate(b_bucket[5m:1m])))", {"b_bucket"}, {"le"}),
        ("(time() - c > 600) and on (job) (sum by (job) (d) > 0 or e offset 5m)", {"c", "d", "e"}, {"job"}),
        ('{__name__="f", g!~"x"} * on (h) group_left (i) j', {"f", "j"}, {"g", "h", "i"}),
    ],
)
def test_the_loose_parser_names_the_metrics_and_labels_of_a_query(
    expr: str, metrics: set[str], labels: set[str]
) -> None:
    assert parse(expr) == Parsed(frozenset(metrics), frozenset(labels))


@pytest.mark.parametrize(
    "expr",
    [
        "sum(rate(kafka_pipeline_dlq_total[5m])",  # unclosed
        "rate(kafka_pipeline_dlq_total)",  # a range function without a range
        "sum by (reason (rate(kafka_pipeline_dlq_total[5m]))",  # by list never closed
        "histogram_quantil(0.5, kafka_pipeline_flush_seconds_bucket)",  # no such function
        'kafka_pipeline_ready{job~"x"}',  # bad matcher
        "rate(kafka_pipeline_dlq_total[5 minutes])",  # bad range
    ],
)
def test_the_loose_parser_rejects_broken_queries(expr: str) -> None:
    with pytest.raises(PromQLError):
        parse(expr)


def test_the_dashboard_shows_what_operators_watch() -> None:
    referenced = set().union(*(parse(q.expr).metrics for q in all_queries() if q.where.startswith("panel")))

    assert {what: metric for what, metric in SHOWN.items() if metric not in referenced} == {}


def test_every_panel_queries_the_chosen_data_source_and_fits_the_grid() -> None:
    problems = []
    seen_ids: set[int] = set()
    for panel in panels():
        where = f"panel {panel['id']} {panel['title']!r}"
        if panel["id"] in seen_ids:
            problems.append(f"{where}: duplicate id")
        seen_ids.add(panel["id"])
        grid = panel["gridPos"]
        if grid["x"] + grid["w"] > 24:
            problems.append(f"{where}: wider than the 24-column grid")
        if panel["type"] == "row":
            continue
        sources = [panel["datasource"], *(t["datasource"] for t in panel["targets"])]
        if any(source != {"type": "prometheus", "uid": "${datasource}"} for source in sources):
            problems.append(f"{where}: not on the ${{datasource}} variable")
        ref_ids = [t["refId"] for t in panel["targets"]]
        if len(set(ref_ids)) != len(ref_ids) or not ref_ids:
            problems.append(f"{where}: refIds {ref_ids}")

    assert problems == []


def test_panels_do_not_overlap() -> None:
    cells: dict[tuple[int, int], str] = {}
    overlaps = []
    for panel in panels():
        grid = panel["gridPos"]
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                if (x, y) in cells:
                    overlaps.append((panel["title"], cells[(x, y)]))
                cells[(x, y)] = panel["title"]

    assert sorted(set(overlaps)) == []


def test_the_dashboard_is_importable_as_is() -> None:
    dashboard = load_dashboard()
    variables = {v["name"]: v["type"] for v in dashboard["templating"]["list"]}

    # No id: Grafana assigns one on import; a fixed uid keeps links stable across imports.
    assert (dashboard.get("id"), dashboard["uid"], variables["datasource"]) == (
        None,
        "kafka-pipeline",
        "datasource",
    )


def test_the_alert_rules_cover_what_operators_must_hear_about() -> None:
    assert {rule["alert"] for rule in alert_rules()} >= ALERTED


@pytest.mark.parametrize("rule", alert_rules(), ids=lambda r: r["alert"])
def test_every_alert_has_a_severity_a_duration_and_says_what_to_do(rule: dict[str, Any]) -> None:
    labels, annotations = rule.get("labels", {}), rule.get("annotations", {})
    missing = [
        *([] if labels.get("severity") in {"warning", "critical"} else ["severity warning or critical"]),
        *([] if DURATION.fullmatch(str(rule.get("for", ""))) else ["a for: duration"]),
        *sorted({"summary", "description"} - set(annotations)),
    ]

    assert missing == []


def test_alert_names_are_unique() -> None:
    names = [q.where for q in alert_queries()]

    assert len(names) == len(set(names))


def test_promtool_accepts_the_alert_rules() -> None:
    result = subprocess.run(
        [promtool(), "check", "rules", str(ALERTS)], capture_output=True, text=True, check=False
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_the_alert_rules_pass_their_promtool_unit_tests() -> None:
    result = subprocess.run(
        [promtool(), "test", "rules", ALERT_TESTS.name],
        cwd=ALERT_TESTS.parent,
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
