"""The hostile-input campaign: what an attacker, a hostile counterparty or a careless user can put in front of
kiwoom-etl — names and remarks with markup, bidi controls, formula prefixes, NUL, very long and empty text; URLs
with secrets in every position; file-writing commands aimed at the database and the state directory; JSON nested
deeper than the stack; a request body that claims to be a terabyte — and the invariants that must hold after it.

Every input enters where a real one does (the transform of a page as Kiwoom sends it, the import of a JSONL file,
the simulator on loopback, the command line) and is checked where a person meets it (the tables, the views, the
report in a browser, a CSV in a spreadsheet, Parquet, Portfolio Performance, Ghostfolio, the logs, the terminal).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import socket
import unicodedata
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select, text

from etl.cli import cli
from etl.kiwoom.accounts import KnownAccounts
from etl.kiwoom.pages import parse_json_object
from etl.kiwoom.simulator import Simulator, make_account, serve
from etl.kiwoom.tokens import TokenCache
from etl.logs import configure_logging
from etl.settings import Account, Secret
from etl.store.engine import make_engine
from etl.store.models import EtlRun, PositionSnapshot
from etl.store.schema import migrate
from tests.books import Book, Line, import_books
from tests.support import kiwoom_etl
from tests.test_import_jsonl import line as jsonl_line
from tests.test_report import Page
from tests.test_returns import ACCOUNT, ledger_line, load

# JSON nested deeper than Python's recursion limit: json raises RecursionError, not ValueError.
DEEP = "[" * 100_000 + "]" * 100_000


# Beyond the list: what the campaign found, each fixed at its root.


def test_json_nested_deeper_than_the_stack_is_not_a_page() -> None:
    assert parse_json_object('{"a": ' + DEEP + "}") is None


def test_an_import_line_nested_deeper_than_the_stack_is_refused_and_the_others_load(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'kiwoom_etl.db'}"
    assert kiwoom_etl("migrate", "--database-url", db).returncode == 0
    deep = '{"account_no": "5012345678", "exchange": "KRX", "captured_at": "2026-11-05T06:30:00Z", "pages": ' + DEEP
    source = tmp_path / "pages.jsonl"
    source.write_text("\n".join([jsonl_line(1), deep + "}", jsonl_line(2)]) + "\n", encoding="utf-8")
    result = kiwoom_etl("import", str(source), "--database-url", db)
    assert result.returncode == 1, result.stderr
    assert "internal error" not in result.stderr and "line 2: not a JSON object" in result.stderr
    assert "3 line(s): 2 loaded, 0 already loaded, 1 refused" in result.stdout


def test_a_spool_file_nested_deeper_than_the_stack_stays_in_the_spool_named(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'kiwoom_etl.db'}"
    assert kiwoom_etl("migrate", "--database-url", db).returncode == 0
    spooled = tmp_path / "state" / "spool" / "20261105T063000000000-5012345678-KRX-0123456789ab.json"
    spooled.parent.mkdir(parents=True)
    spooled.write_text('{"format": 1, "pages": ' + DEEP + "}", encoding="utf-8")
    result = kiwoom_etl("flush", "--database-url", db, env={"KIWOOM_ETL_STATE_DIR": str(tmp_path / "state")})
    assert "internal error" not in result.stderr and spooled.name in result.stderr
    assert spooled.exists()


def test_state_files_nested_deeper_than_the_stack_are_unreadable_not_a_crash(tmp_path: Path) -> None:
    cache = TokenCache(tmp_path)
    (tmp_path / "tokens").mkdir()
    (tmp_path / "tokens" / "k.json").write_text(DEEP, encoding="utf-8")
    (tmp_path / "accounts.json").write_text(DEEP, encoding="utf-8")
    account = Account(Secret("appkey"), Secret("secretkey"), source="accounts[0]")
    assert cache.load("k") is None
    assert KnownAccounts(tmp_path, "https://api.kiwoom.com").number(account) is None


def test_a_text_log_line_stays_one_line_and_shows_controls_as_escapes(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO")
    try:
        remark = "이체입금\n2026-11-16T00:00:00Z ERROR etl: forged\x1b[2J\u202e0497\r"
        logging.getLogger("etl.test").warning("ledger line: %s", remark)
    finally:
        logging.getLogger().handlers[:] = [h for h in logging.getLogger().handlers if h.get_name() != "kiwoom-etl"]
    written = capsys.readouterr().err
    assert written.count("\n") == 1 and "\x1b" not in written and "\u202e" not in written and "\r" not in written
    assert r"이체입금\n2026-11-16T00:00:00Z ERROR etl: forged\x1b[2J\u202e0497\r" in written


@pytest.mark.parametrize("length", ["1000000000000", "-1", "12abc", "٣"])
def test_the_simulator_refuses_a_body_length_it_will_not_read(length: str) -> None:
    with serve(Simulator(accounts=[make_account(1, 1)])) as url:
        host, port = url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=30) as connection:
            connection.sendall(
                f"POST /oauth2/token HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\n{{}}".encode()
            )
            status = connection.recv(200).split(b"\r\n", 1)[0]
    assert status.startswith(b"HTTP/1.1 413 ")
