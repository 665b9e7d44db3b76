"""daily_returns is kept exact by every load: after snapshots, a ledger line arriving late for an earlier day, a
snapshot of a day between two others, an estimate, a reclassification, a replay and a flush, the table is what
`rebuild` computes from each account's first day, and the rows before the day changed are left as they were. On
both backends, through the real load paths."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select, text

from etl.apis.charts import STOCK_DAILY
from etl.apis.estimates import ESTIMATES
from etl.jobs.flush import flush
from etl.jobs.replay import replay, runs_to_replay
from etl.jobs.spool import Spool
from etl.kiwoom.pages import Page
from etl.normalize.ledger import Classifier
from etl.read.views import ACCOUNT_FLOWS_DAILY, ACCOUNT_RETURNS_DAILY
from etl.store.capture import Capture
from etl.store.engine import transaction
from etl.store.identity import learn_identity
from etl.store.ledger import reclassify
from etl.store.models import DailyReturn
from etl.store.returns import rebuild
from etl.store.runs import start_run
from tests.support import Clock
from tests.support.books import Book, Line, import_books
from tests.support.story import ACCOUNT, at, ledger_line, load, load_ledger

D1, D2, D3, D4, D5 = (date(2026, 11, d) for d in (2, 3, 4, 5, 6))  # Monday 2 … Friday 6
RETURNS = select(DailyReturn.__table__).order_by(DailyReturn.account_no, DailyReturn.exchange, DailyReturn.trade_date)


def samsung(price: int) -> Line:
    return Line("005930", "삼성전자", 100, price, 70000)


def books(*days: date) -> list[Book]:
    """A close on each day of `days` on KRX and (four hours later) NXT: 2,000,000 cash and 100 shares, 1,000 KRW
    dearer each day (NXT 1 % cheaper)."""
    out = []
    for day in days:
        price = 80000 + 1000 * (day - D1).days
        out.append(Book(ACCOUNT, "KRX", at(day), (samsung(price),), deposit_d2=2_000_000))
        nxt = (samsung(price * 99 // 100),)
        out.append(Book(ACCOUNT, "NXT", at(day) + timedelta(hours=4), nxt, deposit_d2=2_000_000))
    return out


LEDGER = [ledger_line(D2, 1, "이체입금", 1_000_000), ledger_line(D4, 1, "이체출금", 500_000)]


def kept(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(RETURNS)]


def assert_returns_are_the_rebuilt_ones(engine: Engine) -> list[dict[str, Any]]:
    """What the loads left in daily_returns is what rebuild computes from the first day (rolled back after)."""
    rows = kept(engine)
    with engine.connect() as connection, connection.begin() as transaction:
        rebuild(connection)
        rebuilt = [dict(row._mapping) for row in connection.execute(RETURNS)]
        transaction.rollback()
    assert rows and rows == rebuilt
    return rows


def on(rows: list[dict[str, Any]], exchange: str, day: date) -> dict[str, Any]:
    (row,) = [r for r in rows if (r["exchange"], r["trade_date"]) == (exchange, day)]
    return row


def test_snapshots_then_a_ledger_line_arriving_late_for_an_earlier_day(engine: Engine, tmp_path: Path) -> None:
    load(engine, tmp_path, books(D1, D2, D3, D5), LEDGER)
    before = assert_returns_are_the_rebuilt_ones(engine)
    assert [r["trade_date"] for r in before if r["exchange"] == "KRX"] == [D1, D2, D3, D5]
    assert on(before, "KRX", D5)["external_flow"] == -500_000  # D4's withdrawal joins the next day with a value

    load_ledger(engine, [ledger_line(D2, 2, "이체입금", 300_000)], now=datetime(2026, 11, 9, 13, tzinfo=UTC))
    after = assert_returns_are_the_rebuilt_ones(engine)
    for exchange in ("KRX", "NXT"):
        assert on(after, exchange, D1) == on(before, exchange, D1)  # before the line's day: untouched
        assert on(after, exchange, D2)["external_flow"] == 1_300_000
        assert on(after, exchange, D2)["daily_return"] < on(before, exchange, D2)["daily_return"]
        assert on(after, exchange, D5)["twr_index"] != on(before, exchange, D5)["twr_index"]  # the chain goes on


def test_a_snapshot_of_a_day_between_two_others_takes_the_flows_booked_up_to_it(engine: Engine, tmp_path: Path) -> None:
    load(engine, tmp_path, books(D1, D2, D3, D5), LEDGER)
    before = assert_returns_are_the_rebuilt_ones(engine)
    import_books(engine, books(D4), tmp_path / "late")
    after = assert_returns_are_the_rebuilt_ones(engine)
    assert on(after, "KRX", D4)["external_flow"] == -500_000 and on(after, "KRX", D5)["external_flow"] == 0
    assert [r for r in after if r["trade_date"] < D4] == [r for r in before if r["trade_date"] < D4]


def test_an_estimate_of_a_day_before_the_first_snapshot_starts_the_krx_chain(engine: Engine, tmp_path: Path) -> None:
    load(engine, tmp_path, books(D2, D3), LEDGER)
    now = datetime(2026, 11, 9, 14, tzinfo=UTC)
    run = start_run(engine, trigger="manual", started_at=now, account_no=ACCOUNT, exchange=None, api_id="kt00002")
    estimate = {"account_no": ACCOUNT, "trade_date": D1, "captured_at": now, "estimated_assets": 9_000_000}
    with transaction(engine, "test") as connection:
        ESTIMATES.load(connection, [estimate], run.id)
    rows = assert_returns_are_the_rebuilt_ones(engine)
    first = on(rows, "KRX", D1)
    assert (first["source"], first["equity"], first["daily_return"]) == ("estimate", 9_000_000, None)
    assert first["captured_at"] == datetime(2026, 11, 2, 6, 30, tzinfo=UTC)  # 15:30 KST, the KRX close
    assert on(rows, "KRX", D2)["daily_return"] is not None and [r["trade_date"] for r in rows][:1] == [D1]
    assert min(r["trade_date"] for r in rows if r["exchange"] == "NXT") == D2  # estimates fill KRX only


def test_a_reclassified_line_changes_the_flows_from_its_day_on(engine: Engine, tmp_path: Path) -> None:
    load(engine, tmp_path, books(D1, D2, D3), [ledger_line(D2, 1, "특별지급", 1_000_000)])
    before = assert_returns_are_the_rebuilt_ones(engine)
    assert on(before, "KRX", D2)["external_flow"] == 0  # `other` until the user says what it is
    with transaction(engine, "test") as connection:
        moved = reclassify(connection, Classifier.with_rules([("특별지급", "deposit")]))
    assert sum(moved.values()) == 1
    after = assert_returns_are_the_rebuilt_ones(engine)
    assert on(after, "KRX", D2)["external_flow"] == 1_000_000 and on(after, "KRX", D1) == on(before, "KRX", D1)


def test_a_replay_that_rebuilds_the_snapshots_computes_the_returns_again(engine: Engine, tmp_path: Path) -> None:
    load(engine, tmp_path, books(D1, D2, D3), LEDGER)
    assert_returns_are_the_rebuilt_ones(engine)
    with engine.begin() as connection:  # stored rows that no longer read as their pages say, and returns to match
        connection.execute(text("UPDATE account_snapshots SET deposit_d2 = deposit_d2 + 1000"))
        rebuild(connection)
    stale = kept(engine)
    report = replay(engine, runs_to_replay(engine))
    assert report.rebuilt == 6
    rows = assert_returns_are_the_rebuilt_ones(engine)
    assert rows != stale and on(rows, "KRX", D1)["net_assets"] == 2_000_000 + 100 * 80000


def test_a_flushed_snapshot_extends_the_chain(engine: Engine, tmp_path: Path) -> None:
    load(engine, tmp_path, books(D1, D2, D3), LEDGER)
    before = assert_returns_are_the_rebuilt_ones(engine)
    (book,) = [b for b in books(D4) if b.exchange == "KRX"]
    pages = tuple(
        Page("kt00005", n, book.at, 200, body, json.loads(body), "N", None) for n, body in enumerate(book.page_texts())
    )
    spool = Spool(tmp_path / "state")
    spool.write(Capture(ACCOUNT, "KRX", "schedule", book.at, pages), learn_identity(engine))
    report = flush(engine, spool, clock=Clock(book.at + timedelta(minutes=1)))
    assert report.loaded == 1
    rows = assert_returns_are_the_rebuilt_ones(engine)
    assert rows[: len(before) // 2] == before[: len(before) // 2]  # KRX's earlier days stay as they were
    assert on(rows, "KRX", D4)["external_flow"] == -500_000 and on(rows, "KRX", D4)["source"] == "snapshot"


def _read(engine: Engine, view: Any) -> dict[tuple[str, date], Any]:
    table = view.table()
    exchange = table.c.exchange if "exchange" in table.c else text("'-'")
    with engine.connect() as connection:
        return {(row[0], row.trade_date): row for row in connection.execute(select(exchange, table))}


def test_a_transfer_on_a_day_without_a_snapshot_is_valued_when_the_stock_s_close_loads(
    engine: Engine, tmp_path: Path
) -> None:
    transfer = ledger_line(D4, 2, "대체입고", 0, stk_cd="A000660", stk_nm="SK하이닉스", trde_qty_jwa_cnt="10")
    load(engine, tmp_path, books(D1, D2, D3, D5), [*LEDGER, transfer])
    flows = _read(engine, ACCOUNT_FLOWS_DAILY)[("-", D4)]
    assert (flows.securities_in, flows.unvalued_transfers, flows.external_flow) == (0, 1, -500_000)  # unvalued
    before = assert_returns_are_the_rebuilt_ones(engine)
    now = datetime(2026, 11, 9, 8, tzinfo=UTC)
    run = start_run(engine, trigger="manual", started_at=now, account_no=None, exchange=None, api_id="ka10081")
    bars = [
        {"stock_code": "000660", "trade_date": day, "captured_at": now, "close": close}
        for day, close in ((D3, 149_000), (D4, 150_000))
    ]
    with transaction(engine, "test") as connection:
        assert STOCK_DAILY.load(connection, bars, run.id) == 2  # the path the market job and a replay take
    flows = _read(engine, ACCOUNT_FLOWS_DAILY)[("-", D4)]
    assert (flows.securities_in, flows.unvalued_transfers, flows.external_flow) == (1_500_000, 0, 1_000_000)
    after = assert_returns_are_the_rebuilt_ones(engine)
    account_returns = _read(engine, ACCOUNT_RETURNS_DAILY)
    for exchange in ("KRX", "NXT"):
        assert on(before, exchange, D5)["external_flow"] == -500_000  # D4's flows join the next day with a value
        assert on(after, exchange, D5)["external_flow"] == 1_000_000 == account_returns[(exchange, D5)].external_flow
        assert on(after, exchange, D5)["daily_return"] < on(before, exchange, D5)["daily_return"]
        assert on(after, exchange, D3) == on(before, exchange, D3)  # before the transfer's day: untouched
