"""Secrets are masked in every log record: the message, an exception's traceback, text or JSON."""

from __future__ import annotations

import io
import json
import logging

import pytest

from kafka_pipeline._logs import MASK, JsonFormatter, RedactingFilter, TextFormatter, mask_secrets, redact

SECRET = "s3cr3t-storage-key"


@pytest.fixture
def stream() -> io.StringIO:
    return io.StringIO()


def logger_to(stream: io.StringIO, formatter: logging.Formatter, *secrets: str) -> logging.Logger:
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(RedactingFilter(secrets))
    logger = logging.getLogger(f"test.redaction.{id(stream)}")
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    return logger


def fail_with_the_secret() -> None:
    raise RuntimeError(f"storage refused key {SECRET}")


@pytest.mark.parametrize("formatter", [TextFormatter(), JsonFormatter()], ids=["text", "json"])
def test_a_traceback_is_masked_like_the_message(stream: io.StringIO, formatter: logging.Formatter) -> None:
    log = logger_to(stream, formatter, SECRET)

    try:
        fail_with_the_secret()
    except RuntimeError:
        log.exception("append failed")

    assert "storage refused key" in stream.getvalue()
    assert SECRET not in stream.getvalue()


def test_the_json_traceback_is_still_one_json_object_per_line(stream: io.StringIO) -> None:
    log = logger_to(stream, JsonFormatter(), SECRET)

    try:
        fail_with_the_secret()
    except RuntimeError:
        log.exception("append failed")

    (entry,) = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert f"RuntimeError: storage refused key {MASK}" in entry["exc"]


def test_a_value_shorter_than_four_characters_is_never_masked(stream: io.StringIO) -> None:
    log = logger_to(stream, TextFormatter(), "1", "eu")

    log.warning("topic[2]@1 in eu-west-1")

    assert stream.getvalue().split(": ", 1)[1] == "topic[2]@1 in eu-west-1\n"


def test_a_secret_that_contains_another_is_masked_whole(stream: io.StringIO) -> None:
    log = logger_to(stream, TextFormatter(), "abcd", "abcdefgh")

    log.warning("key abcdefgh")

    assert stream.getvalue().rstrip().endswith(f"key {MASK}")


def test_mask_secrets_masks_what_the_logs_mask() -> None:
    redact("pw-for-the-dlq-0815")

    assert mask_secrets("login failed for pw-for-the-dlq-0815") == f"login failed for {MASK}"
