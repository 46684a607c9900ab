"""The worker's Kafka clients get the configured security settings, or a clear error."""

from __future__ import annotations

import pytest
from aiokafka import errors as kafka_errors

from kafka_pipeline import ConfigError, parse_config
from kafka_pipeline._broker.clients import explain_refusal, security_options
from kafka_pipeline._errors import BrokerRefusedError


def test_plaintext_needs_no_security_arguments() -> None:
    assert security_options(parse_config({}).kafka) == {"security_protocol": "PLAINTEXT"}


def test_sasl_settings_are_passed_to_aiokafka(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_PIPELINE_SASL_PASSWORD", "s3cret")
    config = parse_config(
        {
            "kafka": {
                "security_protocol": "SASL_PLAINTEXT",
                "sasl_mechanism": "SCRAM-SHA-512",
                "sasl_username": "router",
            }
        }
    )

    assert security_options(config.kafka) == {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "router",
        "sasl_plain_password": "s3cret",
    }


def test_sasl_without_a_password_says_where_to_put_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAFKA_PIPELINE_SASL_PASSWORD", raising=False)
    config = parse_config({"kafka": {"security_protocol": "SASL_SSL", "sasl_username": "router"}})

    with pytest.raises(ConfigError, match="KAFKA_PIPELINE_SASL_PASSWORD"):
        security_options(config.kafka)


def test_oauthbearer_from_a_file_says_it_needs_a_token_provider() -> None:
    config = parse_config({"kafka": {"security_protocol": "SASL_SSL", "sasl_mechanism": "OAUTHBEARER"}})

    with pytest.raises(ConfigError, match="sasl_oauth_token_provider"):
        security_options(config.kafka)


def test_ssl_gets_a_tls_context() -> None:
    config = parse_config({"kafka": {"security_protocol": "SSL"}})

    assert set(security_options(config.kafka)) == {"security_protocol", "ssl_context"}


def test_a_broker_without_a_needed_request_is_told_apart_from_other_failures() -> None:
    kafka = parse_config({"kafka": {"bootstrap_servers": "old:9092"}}).kafka

    explained = explain_refusal(kafka_errors.UnsupportedVersionError(), kafka, "consumer")

    assert isinstance(explained, BrokerRefusedError)
    assert "old:9092 does not support a request the consumer needs" in str(explained)


def test_a_failure_that_no_setting_explains_is_left_as_it_is() -> None:
    kafka = parse_config({"kafka": {"enable_idempotence": False}}).kafka

    assert explain_refusal(kafka_errors.UnknownError(), kafka, "producer") is None
