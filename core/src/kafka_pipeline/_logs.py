"""Logging set-up: human-readable lines, or one JSON object per line.

Records about a message carry ``trace_id`` and records about a plugin carry
``plugin`` (pass them with ``extra=``); both formats show them. A redacting
filter masks every secret value the configuration holds, wherever it would
appear: the message, its arguments, an exception's traceback, a stack.
:func:`mask_secrets` applies the same masking to text that leaves the
process another way (a DLQ header, a command's error message).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import sys
from collections.abc import Iterable, Iterator
from typing import Final, Literal

#: ``extra=`` keys that are shown on every record that has them.
CONTEXT_FIELDS: Final = ("domain", "plugin", "trace_id", "topic", "partition", "offset")
MASK: Final = "**********"
#: Values shorter than this are never masked. Masking every ``1`` or ``eu`` would
#: mangle every log line and, by the pattern of the masks, show the value anyway;
#: a credential that short protects nothing.
MIN_SECRET_LENGTH: Final = 4

LogFormat = Literal["text", "json"]


class RedactingFilter(logging.Filter):
    """Replaces known secret values in the rendered message, its traceback and its stack."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets: set[str] = set()
        self._longest_first: tuple[str, ...] = ()
        self.add(*secrets)

    def add(self, *secrets: str) -> None:
        self.secrets.update(s for s in secrets if len(s) >= MIN_SECRET_LENGTH)
        # Longest first: a secret that contains another is masked whole, not in pieces.
        self._longest_first = tuple(sorted(self.secrets, key=len, reverse=True))

    def mask(self, text: str) -> str:
        """``text`` with every known secret replaced by the mask."""
        for secret in self._longest_first:
            text = text.replace(secret, MASK)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._longest_first:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: the handler reports it, with nothing rendered
            return True
        record.msg, record.args = self.mask(message), None
        if record.exc_info and not record.exc_text:
            # Rendered here, as every formatter would render it, so that the mask applies.
            record.exc_text = _PLAIN.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.mask(record.exc_text)
        if record.stack_info:
            record.stack_info = self.mask(record.stack_info)
        return True


_PLAIN = logging.Formatter()


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
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str)


_redactor = RedactingFilter()


def redact(*secrets: str) -> None:
    """Mask these values in every log record, and in :func:`mask_secrets`, from now on."""
    _redactor.add(*secrets)


def mask_secrets(text: str) -> str:
    """``text`` with every value passed to :func:`redact` masked, as the logs mask it."""
    return _redactor.mask(text)


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


@contextlib.contextmanager
def quiet(*names: str, level: int = logging.CRITICAL) -> Iterator[None]:
    """Raise the loggers ``names`` to ``level`` while a command reports what they would log itself.

    Nothing changes when the user asked for INFO or DEBUG: then they want the detail.
    """
    if logging.getLogger().getEffectiveLevel() < logging.WARNING:
        yield
        return
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(level)
    try:
        yield
    finally:
        for logger, previous in zip(loggers, levels, strict=True):
            logger.setLevel(previous)
