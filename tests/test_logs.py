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
        ('http://127.0.0.1:8080 "POST /oauth2/token?access_token=%s HTTP/1.1" 200 None', ("tok-789",)),  # urllib3
        ("connecting to %s", ("postgresql+psycopg://kiwoom:SECRET-456@db/history?sslpassword=tok-789",)),
        ("invalid connection option: host=db password=%s", ("other-key",)),  # libpq's key=value form
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


def test_a_url_in_an_exceptions_text_is_masked_in_the_traceback(logged: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = logged
    try:
        raise ConnectionError("Max retries exceeded with url: /api/dostk/acnt?token=tok-789 (Caused by refused)")
    except ConnectionError:
        logger.debug("request failed", exc_info=True)
    output = stream.getvalue()
    assert "ConnectionError" in output and "token=***" in output and "tok-789" not in output


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_log_lines_are_stamped_in_utc_with_a_z_on_a_machine_in_seoul(fmt: str) -> None:
    """Times a person reads are local; log lines stay UTC, whatever TZ the machine (or systemd) sets."""
    import json
    import re
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(
        f"""
        import logging
        from datetime import datetime, timezone
        from etl.logs import configure_logging
        configure_logging("INFO", fmt="{fmt}")
        print(datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"))
        logging.getLogger("etl.test").info("slot", extra={{"slot": datetime(2026, 11, 24, 15, 45,
            tzinfo=__import__("zoneinfo").ZoneInfo("Asia/Seoul"))}})
        print(datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], env={"TZ": "Asia/Seoul", "PATH": ""}, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    before, after = done.stdout.split()
    if fmt == "json":
        entry = json.loads(done.stderr)
        stamp = entry["time"]
        assert entry["slot"] == "2026-11-24T06:45:00Z"
    else:
        stamp = done.stderr.split()[0]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z", stamp), stamp
    assert before <= stamp[:19] <= after  # UTC, not the machine's Seoul time nine hours ahead
