"""``media-processor``: successfully enriched media events go on to media processing, unchanged."""

from __future__ import annotations

import pytest
from claimx_support import EVENT_ID, Route, enrichment_result, failed

from kafka_pipeline import PluginConfigError
from kafka_pipeline_claimx import MediaProcessorPlugin


@pytest.mark.parametrize("event_type", ["media.created", "media.updated"])
async def test_a_successful_media_event_is_sent_to_media_processing(event_type: str, route: Route) -> None:
    sent = await route(MediaProcessorPlugin, enrichment_result(event_type))

    assert [r.topic for r in sent] == ["claimx.media.processing"]


@pytest.mark.parametrize("event_type", ["media.deleted", "project.created", "Media.Created"])
async def test_other_event_types_are_not_sent(event_type: str, route: Route) -> None:
    assert await route(MediaProcessorPlugin, enrichment_result(event_type)) == []


@pytest.mark.parametrize("retryable", [True, False], ids=["retryable", "permanent"])
async def test_a_media_event_whose_enrichment_failed_is_not_sent(retryable: bool, route: Route) -> None:
    raw = enrichment_result("media.created", **failed(retryable))

    assert await route(MediaProcessorPlugin, raw) == []


async def test_the_result_is_forwarded_byte_for_byte(route: Route) -> None:
    raw = enrichment_result("media.updated", pipeline_version="2.1")

    [record] = await route(MediaProcessorPlugin, raw)

    assert record.value == raw.encode()


async def test_the_routed_record_names_its_origin_and_is_keyed_by_event_id(route: Route) -> None:
    [record] = await route(MediaProcessorPlugin, enrichment_result())

    assert (record.key, dict(record.headers)) == (
        EVENT_ID.encode(),
        {
            "x-routed-by": b"media-processor",
            "x-source-topic": b"claimx.enrichment.results",
            "x-source-partition": b"0",
            "x-source-offset": b"0",
            "x-trace-id": EVENT_ID.encode(),
        },
    )


async def test_the_event_types_are_configurable(route: Route) -> None:
    config = {"event_types": ["media.deleted"]}
    deleted, created = enrichment_result("media.deleted"), enrichment_result("media.created")

    sent = [await route(MediaProcessorPlugin, raw, config) for raw in (deleted, created)]

    assert [len(records) for records in sent] == [1, 0]


async def test_the_topic_is_configurable(route: Route) -> None:
    sent = await route(MediaProcessorPlugin, enrichment_result(), config={"topic": "media.v2"})

    assert [r.topic for r in sent] == ["media.v2"]


async def test_an_empty_event_types_list_is_rejected(route: Route) -> None:
    with pytest.raises(PluginConfigError, match=r"plugins\.media-processor\.config\.event_types"):
        await route(MediaProcessorPlugin, enrichment_result(), config={"event_types": []})


async def test_an_unknown_config_key_is_rejected_naming_plugin_and_key(route: Route) -> None:
    with pytest.raises(PluginConfigError) as caught:
        await route(MediaProcessorPlugin, enrichment_result(), config={"event_type": ["media.created"]})

    assert "plugins.media-processor.config.event_type: unknown key" in str(caught.value)
