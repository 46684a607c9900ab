"""``project-notifier``: project events, enriched or not, go to project notifications."""

from __future__ import annotations

import pytest
from claimx_support import PROJECT_ID, Route, enrichment_result, failed

from kafka_pipeline import PluginConfigError
from kafka_pipeline_claimx import ProjectNotifierPlugin


@pytest.mark.parametrize("event_type", ["project.created", "project.updated", "project.closed"])
async def test_a_project_event_is_sent_to_project_notifications(event_type: str, route: Route) -> None:
    sent = await route(ProjectNotifierPlugin, enrichment_result(event_type))

    assert [r.topic for r in sent] == ["claimx.projects.notifications"]


@pytest.mark.parametrize("event_type", ["media.created", "task.assigned", "projects.created", "project"])
async def test_events_outside_project_dot_are_not_sent(event_type: str, route: Route) -> None:
    assert await route(ProjectNotifierPlugin, enrichment_result(event_type)) == []


@pytest.mark.parametrize("retryable", [True, False], ids=["retryable", "permanent"])
async def test_a_project_event_is_sent_even_when_its_enrichment_failed(retryable: bool, route: Route) -> None:
    raw = enrichment_result("project.updated", **failed(retryable))

    assert len(await route(ProjectNotifierPlugin, raw)) == 1


async def test_the_result_is_forwarded_byte_for_byte(route: Route) -> None:
    raw = enrichment_result("project.closed")

    [record] = await route(ProjectNotifierPlugin, raw)

    assert record.value == raw.encode()


@pytest.mark.parametrize(("project_id", "notified"), [(PROJECT_ID, 1), ("999999", 0)])
async def test_with_an_allow_list_only_listed_projects_are_notified(
    project_id: str, notified: int, route: Route
) -> None:
    raw = enrichment_result("project.updated", project_id=project_id)

    sent = await route(ProjectNotifierPlugin, raw, config={"project_ids": [PROJECT_ID, "552302"]})

    assert len(sent) == notified


async def test_an_allow_list_of_numbers_matches_project_ids_sent_as_text(route: Route) -> None:
    raw = enrichment_result("project.updated", project_id=PROJECT_ID)

    sent = await route(ProjectNotifierPlugin, raw, config={"project_ids": [int(PROJECT_ID)]})

    assert len(sent) == 1


async def test_an_empty_allow_list_is_rejected_with_what_to_do_instead(route: Route) -> None:
    with pytest.raises(PluginConfigError, match="leave project_ids out"):
        await route(ProjectNotifierPlugin, enrichment_result("project.updated"), config={"project_ids": []})


async def test_the_topic_is_configurable(route: Route) -> None:
    sent = await route(ProjectNotifierPlugin, enrichment_result("project.created"), config={"topic": "pm"})

    assert [r.topic for r in sent] == ["pm"]


async def test_an_unknown_config_key_is_rejected_naming_plugin_and_key(route: Route) -> None:
    with pytest.raises(PluginConfigError) as caught:
        await route(ProjectNotifierPlugin, enrichment_result(), config={"projects": [PROJECT_ID]})

    assert "plugins.project-notifier.config.projects: unknown key" in str(caught.value)
