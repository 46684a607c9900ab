"""A plugin's ``config`` section: validated against its nested ``Config`` model, or kept as a dict."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from kafka_pipeline import PluginConfigError, RoutingPlugin


class Thresholds(RoutingPlugin[Any]):
    name = "thresholds"
    domain = "widgets"

    class Config(BaseModel):
        topic: str = "widgets.big"
        min_size: int = 10

    def should_route(self, message: Any) -> bool:
        return True

    async def route(self, message: Any) -> None:
        self.send_to_topic(self.config.topic, message)


class Untyped(RoutingPlugin[Any]):
    name = "untyped"
    domain = "widgets"

    def should_route(self, message: Any) -> bool:
        return True

    async def route(self, message: Any) -> None:
        self.send_to_topic(self.config["topic"], message)


def test_a_config_model_gives_validated_typed_settings() -> None:
    plugin = Thresholds({"min_size": "25"})

    assert plugin.config == Thresholds.Config(topic="widgets.big", min_size=25)


def test_without_a_config_model_the_config_is_the_plain_dict() -> None:
    plugin = Untyped({"topic": "anywhere", "extra": [1, 2]})

    assert plugin.config == {"topic": "anywhere", "extra": [1, 2]}


def test_an_unknown_key_is_an_error_naming_the_plugin_the_key_the_likely_one_and_the_known_keys() -> None:
    with pytest.raises(PluginConfigError) as caught:
        Thresholds({"min_sise": 3})

    assert caught.value.plugin == "thresholds"
    assert caught.value.problems == [
        "plugins.thresholds.config.min_sise: unknown key for plugin 'thresholds'; did you mean 'min_size'? "
        "(known: min_size, topic)"
    ]


def test_an_ill_typed_value_is_an_error_naming_its_config_path() -> None:
    with pytest.raises(PluginConfigError) as caught:
        Thresholds({"min_size": "lots"})

    assert [p.split(":")[0] for p in caught.value.problems] == ["plugins.thresholds.config.min_size"]


def test_every_problem_of_one_plugin_config_is_reported_at_once() -> None:
    with pytest.raises(PluginConfigError) as caught:
        Thresholds({"min_size": "lots", "colour": "red", "topic": 7})

    paths = sorted(p.split(":")[0] for p in caught.value.problems)
    assert paths == [
        "plugins.thresholds.config.colour",
        "plugins.thresholds.config.min_size",
        "plugins.thresholds.config.topic",
    ]


def test_an_already_built_config_model_is_taken_as_is() -> None:
    settings = Thresholds.Config(min_size=1)

    assert Thresholds(settings).config is settings
