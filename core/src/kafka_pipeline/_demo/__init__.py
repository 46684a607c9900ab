"""``kafka-pipeline demo``: the whole product on one machine, with nothing but Python.

An embedded broker, realistic sample results from every installed domain's
``sample`` factory (a few broken ones among them), one in-process
:class:`~kafka_pipeline._worker.Worker` per domain with every installed
plugin, and a summary whose every number is what the topics and Delta
tables hold. ``plan`` settles what to run before a broker starts,
``samples`` makes the results, ``runner`` runs the show, ``summary`` holds
the numbers and ``report`` prints them.
"""

from kafka_pipeline._demo.plan import (
    DEFAULT_DELTA_ROOT,
    DEFAULT_MESSAGES,
    DEFAULT_SEED,
    DemoError,
    DemoPlan,
    DemoSettings,
    plan_demo,
)
from kafka_pipeline._demo.report import render_summary
from kafka_pipeline._demo.runner import Reporter, demo, group_id, run_demo
from kafka_pipeline._demo.samples import SampleError, SampleKind, SampleRecord, sample_records
from kafka_pipeline._demo.summary import DemoSummary, DomainRun

__all__ = [
    "DEFAULT_DELTA_ROOT",
    "DEFAULT_MESSAGES",
    "DEFAULT_SEED",
    "DemoError",
    "DemoPlan",
    "DemoSettings",
    "DemoSummary",
    "DomainRun",
    "Reporter",
    "SampleError",
    "SampleKind",
    "SampleRecord",
    "demo",
    "group_id",
    "plan_demo",
    "render_summary",
    "run_demo",
    "sample_records",
]
