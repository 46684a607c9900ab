"""``esx-processor``: completed ESX downloads go on to ESX processing, unchanged."""

from __future__ import annotations

import pytest
from xact_support import TRACE_ID, Route, download_result

from kafka_pipeline import PluginConfigError
from kafka_pipeline_xact import EsxProcessorPlugin


async def test_a_completed_esx_download_is_sent_to_esx_processing(route: Route) -> None:
    sent = await route(EsxProcessorPlugin, download_result(status="completed", file_type="esx"))

    assert [r.topic for r in sent] == ["xact.esx.processing"]


@pytest.mark.parametrize("file_type", ["ESX", "Esx"])
async def test_the_file_type_matches_in_any_case(file_type: str, route: Route) -> None:
    sent = await route(EsxProcessorPlugin, download_result(file_type=file_type))

    assert [r.topic for r in sent] == ["xact.esx.processing"]


@pytest.mark.parametrize("file_type", ["pdf", "jpg", "esx.pdf", None])
async def test_other_file_types_are_not_sent(file_type: str | None, route: Route) -> None:
    assert await route(EsxProcessorPlugin, download_result(file_type=file_type)) == []


@pytest.mark.parametrize("status", ["failed", "failed_permanent"])
async def test_an_esx_download_that_failed_is_not_sent(status: str, route: Route) -> None:
    assert await route(EsxProcessorPlugin, download_result(status=status, file_type="esx")) == []


async def test_the_result_is_forwarded_byte_for_byte(route: Route) -> None:
    # Odd spacing and a field the schema does not know: a re-serialization would lose both.
    raw = (
        '{"trace_id":"t-9",  "assignment_id":"A-9","status":"completed","file_type":"esx",'
        '"vendor": {"batch": 12}}'
    )

    [record] = await route(EsxProcessorPlugin, raw)

    assert record.value == raw.encode()


async def test_the_routed_record_names_its_origin_in_headers(route: Route) -> None:
    [record] = await route(EsxProcessorPlugin, download_result())

    assert dict(record.headers) == {
        "x-routed-by": b"esx-processor",
        "x-source-topic": b"xact.downloads.results",
        "x-source-partition": b"0",
        "x-source-offset": b"0",
        "x-trace-id": TRACE_ID.encode(),
    }


async def test_the_routed_record_is_keyed_by_trace_id(route: Route) -> None:
    [record] = await route(EsxProcessorPlugin, download_result())

    assert record.key == TRACE_ID.encode()


async def test_the_topic_is_configurable(route: Route) -> None:
    sent = await route(EsxProcessorPlugin, download_result(), config={"topic": "esx.v2"})

    assert [r.topic for r in sent] == ["esx.v2"]


async def test_an_invalid_topic_name_is_rejected_at_load(route: Route) -> None:
    with pytest.raises(PluginConfigError, match=r"plugins\.esx-processor\.config\.topic"):
        await route(EsxProcessorPlugin, download_result(), config={"topic": "esx processing"})
