"""The analyst views answer what the books say: a week written through the import path, on both backends, each
view compared with answers computed in Python from the books (tests/support/books.py), never with the views' own SQL."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select, text, update

from etl.apis.charts import IndexDaily
from etl.apis.realized import AccountRealizedDaily
from etl.apis.totals import AccountDayTotals
from etl.read.dictionary import VIEWS as DESCRIBED
from etl.read.views import VIEW_NAMES, VIEWS
from etl.store.models import AccountSnapshot, DailyClose, EtlRun
from tests.support import kiwoom_etl
from tests.support.books import EDGE, EVERY_VIEW, History, as_read, assert_rows, assert_view, edges, read, week


@pytest.fixture
def history(engine: Engine, tmp_path: Path) -> History:
    books = week()
    books.load(engine, tmp_path / "pages")
    return books


def test_account_daily_has_each_close_and_its_change_from_the_previous_day(engine: Engine, history: History) -> None:
    expected = history.account_daily()
    got = read(engine, "account_daily", list(expected[0]), ["account_no", "exchange", "trade_date"])
    assert_rows(got, as_read(expected))
    # The scenario holds what the contract's rules are about, so that this test can fail on them: several
    # snapshots a day, a NULL loan, a day with KRX rows only (NXT's previous day skips it), a skipped day.
    nxt = [r["trade_date"].day for r in expected if r["account_no"] == "5000001111" and r["exchange"] == "NXT"]
    krx = [r["trade_date"].day for r in expected if r["account_no"] == "5000001111" and r["exchange"] == "KRX"]
    assert nxt == [16, 19, 23] and krx == [16, 17, 19, 20, 23]
    assert any(r["snapshots"] == 3 for r in expected) and any(r["credit_loan_total"] is None for r in expected)


def test_position_daily_sums_cash_and_credit_lines_per_stock(engine: Engine, history: History) -> None:
    expected = history.position_daily()
    assert_view(engine, "position_daily", expected, ["account_no", "exchange", "trade_date", "stock_code"])
    assert any(r["lines"] == 2 for r in expected) and any(r["stock_code"] is None for r in expected)


def test_position_changes_are_the_differences_between_closes(engine: Engine, history: History) -> None:
    expected = history.position_changes()
    assert_view(engine, "position_changes", expected, ["account_no", "exchange", "trade_date", "stock_code"])
    assert {r["change"] for r in expected} == {"opened", "closed", "increased", "reduced"}


def test_latest_views_hold_each_pairs_newest_snapshot(engine: Engine, history: History) -> None:
    expected = history.latest_positions()
    got = read(engine, "latest_positions", list(expected[0]), ["account_no", "exchange", "line_no"])
    assert_rows(got, as_read(expected))
    expected = history.latest_accounts()
    assert_rows(read(engine, "latest_accounts", list(expected[0]), ["account_no", "exchange"]), as_read(expected))


def test_account_history_has_every_snapshot_with_its_assets_and_time(engine: Engine, history: History) -> None:
    expected = history.account_history()
    assert_rows(read(engine, "account_history", list(expected[0]), ["id"]), as_read(expected))
    with engine.connect() as connection:
        times = connection.execute(text("SELECT time FROM account_history ORDER BY id")).scalars().all()
    if engine.dialect.name == "sqlite":  # RFC 3339 text, six fractional digits and Z: what Grafana's plugin parses
        assert times == [row["time"] for row in expected]
    else:
        assert times == [datetime.fromisoformat(row["time"]) for row in expected]


def test_etl_freshness_counts_failures_since_the_newest_success(engine: Engine, history: History) -> None:
    late = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
    with engine.begin() as connection:  # missed and skipped slots are neither successes nor failures
        connection.execute(
            insert(EtlRun),
            [
                {
                    "trigger": "scheduled",
                    "status": status,
                    "account_no": account,
                    "exchange": "KRX",
                    "scheduled_for": late,
                    "started_at": late,
                }
                for status, account in (("missed", "isa"), ("skipped", "5000001111"))
            ],
        )
    expected = history.freshness()
    keys = list(expected[0])
    got = read(engine, "etl_freshness", [*keys, "last_error"], ["account_no", "exchange"])
    assert_rows([{k: r[k] for k in keys} for r in got], expected)
    errors = {(r["account_no"], r["exchange"]): r["last_error"] for r in got}
    assert "entr" in errors[("5000001111", "KRX")] and "00000001753X" in errors[("5000001111", "KRX")]
    assert errors[("5000001111", "NXT")] is None
    assert any(r["failures_since_success"] == 1 and r["last_captured_at"] is None for r in expected)


@pytest.fixture
def edge_history(engine: Engine, tmp_path: Path) -> History:
    books = edges()
    books.load(engine, tmp_path / "edges")
    return books


@pytest.mark.parametrize(("name", "answer", "keys"), [row for row in EVERY_VIEW if row[0] != "etl_freshness"])
def test_the_edge_cases_are_answered_as_the_books_say(
    engine: Engine, edge_history: History, name: str, answer: Any, keys: list[str]
) -> None:
    assert_view(engine, name, answer(edge_history), keys)


def test_the_edge_books_hold_the_cases_they_are_about(edge_history: History) -> None:
    daily = edge_history.position_daily()
    codes: dict[tuple[str, str, Any], set[str | None]] = {}
    for r in daily:
        codes.setdefault((r["account_no"], r["exchange"], r["trade_date"]), set()).add(r["stock_code"])
    assert sum(1 for c in codes.values() if {None, ""} <= c) >= 2  # on consecutive closes of EDGE KRX
    assert any(r["weight_pct"] is None for r in daily) and any(r["current_price"] is None for r in daily)
    assert any(r["weight_pct"] is None for r in edge_history.latest_positions())
    changes = edge_history.position_changes()
    assert any(r["stock_code"] is None and r["change"] == "closed" and r["account_no"] != EDGE for r in changes)


def test_etl_freshness_of_the_edge_books(engine: Engine, edge_history: History) -> None:
    late = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
    with engine.begin() as connection:  # runs with no account or exchange describe no account × exchange
        connection.execute(
            insert(EtlRun),
            [
                {
                    "trigger": "replay",
                    "status": "failed",
                    "account_no": account,
                    "exchange": exchange,
                    "started_at": late,
                    "error": "boom",
                }
                for account, exchange in ((None, None), (EDGE, None), (None, "KRX"))
            ],
        )
    expected = edge_history.freshness()
    got = read(engine, "etl_freshness", [*expected[0], "last_error"], ["account_no", "exchange"])
    assert_rows([{k: r[k] for k in expected[0]} for r in got], expected)
    errors = {(r["account_no"], r["exchange"]): r["last_error"] for r in got}
    assert "entr" in errors[(EDGE, "KRX")] and "boom" not in errors[(EDGE, "KRX")]
    assert any(r["failures_since_success"] == 2 for r in expected)


RFC_3339_UTC = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")


def test_every_time_column_of_every_view_is_rfc_3339_utc_on_sqlite_and_timestamptz_on_postgresql(
    engine: Engine, history: History
) -> None:
    with engine.begin() as connection:  # slots, a failure and a day's totals, so that no time column is empty
        connection.execute(
            update(AccountSnapshot)
            .where(AccountSnapshot.id.in_(text("SELECT id FROM latest_accounts")))
            .values(scheduled_for=AccountSnapshot.captured_at)
        )
        failed = connection.execute(
            insert(EtlRun).returning(EtlRun.id),
            {
                "trigger": "import",
                "status": "failed",
                "account_no": "5000001111",
                "exchange": "KRX",
                "started_at": datetime(2026, 11, 30, 6, 0, 0, 123400, tzinfo=UTC),
                "error": "boom",
            },
        ).scalar_one()
        connection.execute(
            insert(AccountDayTotals),
            {
                "account_no": "5000001111",
                "trade_date": datetime(2026, 11, 20).date(),
                "run_id": failed,
                "captured_at": datetime(2026, 11, 20, 11, 15, tzinfo=UTC),
            },
        )
        days = connection.execute(select(DailyClose.trade_date).distinct()).scalars().all()
        connection.execute(  # an index bar on each day, so that account_benchmark_daily has rows
            insert(IndexDaily),
            [
                {
                    "index_code": "001",
                    "trade_date": day,
                    "close": Decimal("2500.00"),
                    "run_id": failed,
                    "captured_at": datetime(2026, 11, 30, 9, 30, tzinfo=UTC),
                }
                for day in days
            ],
        )
        connection.execute(
            insert(AccountRealizedDaily),
            {
                "account_no": "5000001111",
                "trade_date": datetime(2026, 11, 20).date(),
                "run_id": failed,
                "captured_at": datetime(2026, 11, 20, 11, 16, tzinfo=UTC),
            },
        )
    times = {
        (view.name, column.name)
        for view in DESCRIBED.values()
        for column in view.columns
        if column.type.startswith("timestamp with time zone")
    }
    assert {
        ("etl_freshness", "last_failure_at"),
        ("account_history", "captured_at"),
        ("ledger_checks", "captured_at"),
    } < times
    for view, column in sorted(times):
        with engine.connect() as connection:
            values = connection.execute(text(f"SELECT {column} FROM {view}")).scalars().all()
        present = [value for value in values if value is not None]
        assert present, (view, column)  # the history holds a value for each
        for value in present:
            if engine.dialect.name == "sqlite":
                assert isinstance(value, str) and RFC_3339_UTC.fullmatch(value), (view, column, value)
            else:
                assert isinstance(value, datetime) and value.utcoffset() is not None, (view, column, value)


def test_every_view_has_the_columns_it_declares(engine: Engine) -> None:
    from sqlalchemy import inspect

    inspector = inspect(engine)
    assert set(VIEW_NAMES) <= set(inspector.get_view_names())
    for view in VIEWS:
        assert tuple(c["name"] for c in inspector.get_columns(view.name)) == view.columns, view.name


def test_a_week_imported_with_the_command_line_is_answered_exactly(db_url: str, tmp_path: Path) -> None:
    """As a user would: `kiwoom-etl migrate`, then `kiwoom-etl import --captured-at` per snapshot."""
    env = {"KIWOOM_ETL_DATABASE_URL": db_url, "KIWOOM_ETL_STATE_DIR": str(tmp_path / "state")}
    assert kiwoom_etl("migrate", env=env).returncode == 0
    books = week()
    for index, book in enumerate(books.books):
        files = []
        for n, page in enumerate(book.page_texts()):
            path = tmp_path / f"b{index}p{n}.json"
            path.write_text(page, encoding="utf-8")
            files.append(str(path))
        args = ["import", *files, "--account", book.account_no, "--exchange", book.exchange]
        done = kiwoom_etl(*args, "--captured-at", book.at.isoformat(), env=env)
        assert done.returncode == (1 if book.refused else 0), done.stderr
    from etl.store.engine import make_engine

    engine = make_engine(db_url)
    try:
        books.read_ids(engine)
        for name, answer, order in EVERY_VIEW:
            assert_view(engine, name, answer(books), order)
        assert {name for name, _, _ in EVERY_VIEW} == set(VIEW_NAMES)
    finally:
        engine.dispose()


def test_the_readmes_queries_run_and_answer_from_the_views(engine: Engine, history: History) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Query your history", 1)[1].split("\n## ", 1)[0]
    queries = re.findall(r"```sql\n(.*?)```", section, re.S)
    assert len(queries) == 3
    with engine.connect() as connection:
        for sql in queries:  # the README's example account is the books' first account
            rows = connection.execute(text(sql.replace("5012345678", "5000001111"))).all()
            assert rows, sql
