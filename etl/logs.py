"""Logging set-up, with a filter that blanks credentials out of every record as a last line of defence."""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from collections.abc import Iterable
from datetime import UTC, datetime

from etl.clock import utc_text
from etl.redact import mask_urls
from etl.text import displayable

# Anything that looks like a bearer token or a credential field in JSON, whatever code logged it.
_PATTERNS = [
    re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=-]+"),
    re.compile(r'("(?:token|appkey|secretkey)"\s*:\s*")[^"]*'),
]


_HANDLER_NAME = "kiwoom-etl"
_CHATTY = ("apscheduler", "alembic")


class RedactSecrets(logging.Filter):
    """Replace known secret values, bearer tokens, credential fields and URL secrets by *** in each record."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        """`text` with every known secret, credential-looking value and URL password or token replaced by ***."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        for pattern in _PATTERNS:
            text = pattern.sub(r"\1***", text)
        return mask_urls(text)  # a library's message or an exception's text can quote a URL with its password

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = self.redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            # Formatters reuse exc_text when it is set, so the traceback is redacted too.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True


# Context that snapshot log lines carry (`extra=`), kept as fields of their own in JSON lines.
_CONTEXT = ("account", "exchange", "slot", "rows", "seconds", "status")


class JsonFormatter(logging.Formatter):
    """One JSON object a line, for log shippers: time, level, logger, message, and the snapshot's context."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": f"{datetime.fromtimestamp(record.created, UTC):%Y-%m-%dT%H:%M:%S}.{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in _CONTEXT:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = utc_text(value) if isinstance(value, datetime) else value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["traceback"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """One line a record: control and format characters in the message are written as visible escapes."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - the name logging calls
        # A name or remark Kiwoom sent (a transfer's memo is typed by whoever sent it) must not forge a log line
        # with a newline, clear a terminal with ESC or reorder what a reader sees with a bidi control.
        record.message = displayable(record.message)
        return super().formatMessage(record)


def _utc_text_formatter() -> logging.Formatter:
    """Plain lines stamped in UTC with a Z, whatever the machine's zone: logs from several hosts sort together."""
    formatter = TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%Y-%m-%dT%H:%M:%SZ")
    formatter.converter = time.gmtime
    return formatter


def configure_logging(level: str, secrets: Iterable[str] = (), fmt: str = "text") -> None:
    """Log to stderr at `level` as text or JSON lines, with credentials redacted."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else _utc_text_formatter())
    handler.addFilter(RedactSecrets(secrets))
    handler.set_name(_HANDLER_NAME)
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)  # configured again (tests, the demo): replace ours, leave others' handlers alone
    root.addHandler(handler)
    root.setLevel(level)
    # Libraries that narrate every job run and migration step speak only of problems, unless DEBUG is asked for.
    for chatty in _CHATTY:
        logging.getLogger(chatty).setLevel(logging.DEBUG if level == "DEBUG" else logging.WARNING)
