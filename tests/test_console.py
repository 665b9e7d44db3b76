"""The terminal's tables and lines show what the data holds: its invisible and reordering characters as escapes, a
cell on its line and in its column; the database keeps what Kiwoom sent."""

from __future__ import annotations

import unicodedata
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select

from etl.console import table
from etl.store.models import PositionSnapshot
from tests.support import kiwoom_etl
from tests.support.books import Book, History, Line

REVERSED = "\u202e우선주"
ACCOUNT = "O'Neil ISA\u2066"


def test_a_table_cell_holding_controls_stays_on_its_line_and_in_its_column() -> None:
    rows = [("207940", REVERSED, "2"), ("123450", "two\nlines\tand a tab", "10")]
    lines = table(("code", "name", "quantity"), rows).split("\n")
    assert lines == [
        "code    name" + " " * 19 + "quantity",
        "------  " + "-" * 21 + "  --------",
        "207940  \\u202e우선주" + " " * 11 + "2",  # 우선주 is six columns wide
        "123450  two\\nlines\\tand a tab  10",
    ]


def test_returns_and_its_error_line_show_a_hostile_account_name_and_the_database_keeps_it(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    monday = datetime(2026, 11, 16, 15, 45, tzinfo=ZoneInfo("Asia/Seoul"))
    lines = (Line("207940", REVERSED, 2, 800_000, 750_000),)
    History([Book(ACCOUNT, "KRX", monday + timedelta(days=n), lines) for n in range(2)]).load(engine, tmp_path / "p")
    with engine.connect() as connection:  # stored as Kiwoom sent it
        assert set(connection.execute(select(PositionSnapshot.stock_name)).scalars()) == {REVERSED}

    shown = kiwoom_etl("returns", "--database-url", db_url)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("O'Neil ISA\\u2066 · KRX · 2026-11-16 – 2026-11-17")
    refused = kiwoom_etl("returns", "--database-url", db_url, "--account", "nobody\u202e")
    assert refused.returncode == 2
    assert refused.stderr.count("\n") == 1 and "nobody\\u202e" in refused.stderr
    assert "O'Neil ISA\\u2066" in refused.stderr
    for text in (shown.stdout, refused.stderr):
        assert not any(unicodedata.category(ch) in ("Cf", "Cc") for ch in text.rstrip("\n").replace("\n", ""))
