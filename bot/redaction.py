"""Secrets never reach a log line: every log record is redacted as it is created.

    protect_secrets(settings.secrets())   # at start-up, before anything logs

A filter on a handler or logger misses records of other loggers (slack_sdk logs request
bodies and OAuth responses, bot tokens included, at DEBUG) and handlers added later
(pytest's caplog), so the redaction wraps the log record factory instead: it applies to
every record of every logger in the process. Known secret values are replaced, and so is
anything shaped like a Slack token (xoxb-, xoxp-, xapp-, …) even if it was never configured.
"""

from __future__ import annotations

import logging
import re
import threading
import traceback
from typing import Any

REDACTED = "[redacted]"
_SLACK_TOKEN = re.compile(r"\b(?:xox[abeoprs]|xapp|xoxe\.xox[bp])-[A-Za-z0-9-]{6,}")
_lock = threading.Lock()
_secrets: set[str] = set()
_installed = False


def redact(text: str) -> str:
    """``text`` with every registered secret and every Slack-token-shaped string replaced."""
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, REDACTED)
    return _SLACK_TOKEN.sub(REDACTED, text)


def protect_secrets(secrets: tuple[str, ...] | list[str]) -> None:
    """Register secret values (idempotent) and make sure log records are redacted."""
    global _installed
    with _lock:
        # Very short values would redact ordinary words; config secrets are long.
        _secrets.update(s for s in secrets if len(s) >= 8)
        if _installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            _scrub(record)
            return record

        logging.setLogRecordFactory(factory)
        _installed = True


def _scrub(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: leave it to logging's own error handling
        return
    clean = redact(message)
    if clean != message:
        record.msg, record.args = clean, None
    if record.exc_info and record.exc_info[0] is not None:
        text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        record.exc_text = redact(text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
