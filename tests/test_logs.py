"""The last line of defence: log records are scrubbed of secrets, bearer tokens and credential fields."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from etl.logs import RedactSecrets


@pytest.fixture
def logged() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactSecrets(["APPKEY-123", "SECRET-456"]))
    logger = logging.getLogger("tests.redaction")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)


@pytest.mark.parametrize(
    ("message", "args"),
    [
        ("key %s and secret %s", ("APPKEY-123", "SECRET-456")),
        ("headers: authorization: Bearer %s", ("eyJhbGciOi.some-token_value",)),
        ('body {"appkey": "%s", "secretkey": "x", "token": "%s"}', ("other-key", "tok-789")),
    ],
)
def test_messages_are_redacted(logged: tuple[logging.Logger, io.StringIO], message: str, args: tuple[str, ...]) -> None:
    logger, stream = logged
    logger.debug(message, *args)
    output = stream.getvalue()
    assert "***" in output
    for value in ("APPKEY-123", "SECRET-456", "eyJhbGciOi.some-token_value", "other-key", "tok-789"):
        assert value not in output


def test_tracebacks_are_redacted(logged: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = logged
    try:
        raise RuntimeError("failed with SECRET-456")
    except RuntimeError:
        logger.exception("boom")
    output = stream.getvalue()
    assert "Traceback" in output and "RuntimeError" in output and "SECRET-456" not in output
