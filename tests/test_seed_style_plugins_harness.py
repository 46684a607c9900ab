"""The design document's XACT example plugins, as written there, through the public test kit.

The classes are ``tests/seed_style_plugins/`` (verbatim but for their imports),
imported from source: this is the fast check, no broker and no install. The
same package pip-installed and run by the worker on the real broker is
``test_seed_style_plugins_worker.py``. Only ``RoutingHarness(...)``,
``.route(...)`` and a record's ``topic``/``key``/``value`` are used, so the
test kit's internals may change freely.

Run alone (no broker needed)::

    pytest tests/test_seed_style_plugins_harness.py -v
"""

from __future__ import annotations

import inspect
import json
import random
from datetime import datetime
from typing import Any

from seed_style_plugins import EsxProcessorPlugin, FailureAlerterPlugin, StatusSubtypeRouterPlugin

from kafka_pipeline import RoutingPlugin
from kafka_pipeline.testing import RoutingHarness
from kafka_pipeline_xact import XACT_DOMAIN, DownloadResultMessage, XactRoutingPlugin
from kafka_pipeline_xact import EsxProcessorPlugin as ShippedEsxProcessorPlugin

SEED_PLUGINS: list[type[RoutingPlugin[Any]]] = [
    EsxProcessorPlugin,
    FailureAlerterPlugin,
    StatusSubtypeRouterPlugin,
]


def xact_result(**fields: Any) -> dict[str, Any]:
    """A realistic raw XACT download result from the domain's sample factory, ``fields`` changed."""
    assert XACT_DOMAIN.sample is not None
    return {**XACT_DOMAIN.sample(random.Random(8)), **fields}


def xact_harness(
    plugins: list[type[RoutingPlugin[Any]]], config: dict[str, Any] | None = None
) -> RoutingHarness[DownloadResultMessage]:
    """The public test kit over the installed ``xact`` domain, with only ``plugins``."""
    return RoutingHarness("xact", plugins=plugins, config=config)


COMPLETED_ESX_ESTIMATE = xact_result(
    status="completed",
    file_type="esx",
    status_subtype="estimateCreated",
    created_at="2026-03-04T05:06:07.089Z",
)


async def test_hooks_whose_message_parameter_is_named_result_load_and_route() -> None:
    assert {tuple(inspect.signature(cls.route).parameters) for cls in SEED_PLUGINS} == {("self", "result")}
    async with xact_harness(plugins=SEED_PLUGINS) as harness:
        records = await harness.route(COMPLETED_ESX_ESTIMATE)

    assert sorted(r.topic for r in records) == ["xact.estimates.received", "xact.esx.processing"]


async def test_awaiting_send_to_topic_sends_the_record_once() -> None:
    async with xact_harness(plugins=[EsxProcessorPlugin]) as harness:
        records = await harness.route(COMPLETED_ESX_ESTIMATE)

    assert [(r.topic, r.key) for r in records] == [
        ("xact.esx.processing", COMPLETED_ESX_ESTIMATE["trace_id"].encode())
    ]


async def test_a_dict_config_is_read_with_get() -> None:
    config = {
        "plugins": {
            "esx-processor": {"config": {"topic": "custom.esx"}},
            "status-subtype-router": {"config": {"routes": {"estimateCreated": "custom.estimates"}}},
        }
    }
    async with xact_harness(plugins=SEED_PLUGINS, config=config) as harness:
        records = await harness.route(COMPLETED_ESX_ESTIMATE)

    assert sorted(r.topic for r in records) == ["custom.estimates", "custom.esx"]


async def test_min_retries_from_a_dict_config_decides_the_alert() -> None:
    config = {"plugins": {"failure-alerter": {"config": {"min_retries": 6}}}}
    failed = xact_result(status="failed_permanent", retry_count=5, http_status=404, error_message="gone")
    async with xact_harness(plugins=[FailureAlerterPlugin], config=config) as harness:
        records = await harness.route(failed)

    assert records == []


async def test_the_alert_dict_is_sent_as_json_with_its_severity() -> None:
    failed = xact_result(status="failed_permanent", retry_count=5, http_status=404, error_message="gone")
    async with xact_harness(plugins=[FailureAlerterPlugin]) as harness:
        [record] = await harness.route(failed)

    assert json.loads(record.value) == {
        "alert_type": "download_failure",
        "severity": "high",
        "trace_id": failed["trace_id"],
        "assignment_id": failed["assignment_id"],
        "error_message": "gone",
        "retry_count": 5,
        "http_status": 404,
    }


async def test_a_model_dump_payload_carries_created_at_as_iso_8601() -> None:
    async with xact_harness(plugins=[EsxProcessorPlugin]) as harness:
        [record] = await harness.route(COMPLETED_ESX_ESTIMATE)

    created_at = json.loads(record.value)["created_at"]
    # Re-serialized, not forwarded: same instant, pydantic's spelling (microseconds, Z).
    assert created_at == "2026-03-04T05:06:07.089000Z"
    assert datetime.fromisoformat(created_at) == datetime.fromisoformat(COMPLETED_ESX_ESTIMATE["created_at"])


async def test_a_model_dump_payload_is_every_field_of_the_model() -> None:
    async with xact_harness(plugins=[EsxProcessorPlugin]) as harness:
        [record] = await harness.route(COMPLETED_ESX_ESTIMATE)

    assert DownloadResultMessage.model_validate_json(record.value) == DownloadResultMessage.model_validate(
        COMPLETED_ESX_ESTIMATE
    )
    assert set(json.loads(record.value)) == set(DownloadResultMessage.model_fields)


async def test_a_key_passed_as_the_third_positional_argument_is_the_record_key() -> None:
    # The seed's key is the trace id, which is also the default key: this one is not.
    class AssignmentKeyed(XactRoutingPlugin):
        name = "assignment-keyed"

        def should_route(self, result: DownloadResultMessage) -> bool:
            return True

        async def route(self, result: DownloadResultMessage) -> None:
            await self.send_to_topic("xact.by-assignment", result.model_dump(), result.assignment_id)

    async with xact_harness(plugins=[AssignmentKeyed]) as harness:
        [record] = await harness.route(COMPLETED_ESX_ESTIMATE)

    assert record.key == COMPLETED_ESX_ESTIMATE["assignment_id"].encode()


async def test_upper_case_esx_is_routed_by_the_shipped_esx_processor_only() -> None:
    upper = {**COMPLETED_ESX_ESTIMATE, "file_type": "ESX"}
    async with xact_harness(plugins=[EsxProcessorPlugin]) as harness:
        seed_records = await harness.route(upper)
    async with xact_harness(plugins=[ShippedEsxProcessorPlugin]) as harness:
        shipped_records = await harness.route(upper)

    # The seed compares file_type == "esx"; the shipped plugin ignores case on purpose.
    assert ([r.topic for r in seed_records], [r.topic for r in shipped_records]) == (
        [],
        ["xact.esx.processing"],
    )
