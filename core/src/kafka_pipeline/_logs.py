"""Logging set-up: human-readable lines, or one JSON object per line.

Records about a message carry ``trace_id`` and records about a plugin carry
``plugin`` (pass them with ``extra=``); both formats show them. A redacting
filter masks every secret value the configuration holds, wherever it would
appear.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from collections.abc import Iterable
from typing import Final, Literal

#: ``extra=`` keys that are shown on every record that has them.
CONTEXT_FIELDS: Final = ("domain", "plugin", "trace_id", "topic", "partition", "offset")
MASK: Final = "**********"

LogFormat = Literal["text", "json"]


class RedactingFilter(logging.Filter):
    """Replaces known secret values in the rendered message and arguments."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets: set[str] = {s for s in secrets if s}

    def add(self, *secrets: str) -> None:
        self.secrets.update(s for s in secrets if s)

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            message = record.getMessage()
            for secret in self.secrets:
                message = message.replace(secret, MASK)
            record.msg, record.args = message, None
        return True


def _context(record: logging.LogRecord) -> dict[str, object]:
    return {k: getattr(record, k) for k in CONTEXT_FIELDS if getattr(record, k, None) is not None}


class TextFormatter(logging.Formatter):
    """``2026-11-29 10:00:00,123 WARNING kafka_pipeline._worker: message [plugin=x trace_id=y]``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        context = _context(record)
        if context:
            line += " [" + " ".join(f"{k}={v}" for k, v in context.items()) + "]"
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``ts``, ``level``, ``logger``, ``message``, context, ``exc``."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **_context(record),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


_redactor = RedactingFilter()


def redact(*secrets: str) -> None:
    """Mask these values in every log record from now on."""
    _redactor.add(*secrets)


def configure_logging(level: str | int = "INFO", fmt: LogFormat = "text") -> None:
    """Send records to stderr in ``fmt``; safe to call more than once."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(_redactor)
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_kafka_pipeline", False)]:
        root.removeHandler(old)
    handler._kafka_pipeline = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level if isinstance(level, int) else level.upper())
    # aiokafka is chatty at INFO about every group join; keep it to warnings.
    logging.getLogger("aiokafka").setLevel(max(logging.WARNING, root.level))
