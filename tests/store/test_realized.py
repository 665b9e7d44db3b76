"""realized_sales is kept exact by every load that changes an account's walk: a ledger line arriving late, a
reclassified line, a first snapshot loaded late (the anchor moves), a snapshot whose close values a transfer and a
stock_daily close that values one each leave the table as `rebuild` computes it, and a snapshot of a later day walks
nothing. Migration 0018 fills the table from the history there is. On both backends, through the real load paths."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, inspect, select

from etl.apis.charts import STOCK_DAILY
from etl.normalize.ledger import Classifier
from etl.read.views import REALIZED_PNL
from etl.store.engine import transaction
from etl.store.ledger import reclassify
from etl.store.models import RealizedSale
from etl.store.realized import rebuild
from etl.store.runs import start_run
from etl.store.schema import downgrade, migrate
from tests.support.books import Book, Line, import_books
from tests.support.story import ACCOUNT, at, ledger_line, load, load_ledger

D1, D2, D3, D4, D5 = (date(2026, 11, d) for d in (2, 3, 4, 5, 6))  # Monday 2 … Friday 6
SALES = select(RealizedSale.__table__).order_by(
    RealizedSale.account_no, RealizedSale.trade_date, RealizedSale.transaction_id
)
SAMSUNG, HYNIX = ("005930", "삼성전자"), ("000660", "SK하이닉스")
LATER = datetime(2026, 11, 9, 13, tzinfo=UTC)  # when a late ledger line arrives


def books(*days: date, hynix: bool = False) -> list[Book]:
    """A KRX close on each of `days`: 10 삼성전자 bought at 70,000 (and with `hynix`, 10 SK하이닉스 at 150,000)."""
    lines = (Line(*SAMSUNG, 10, 80000, 70000), *((Line(*HYNIX, 10, 150000, 150000),) if hynix else ()))
    return [Book(ACCOUNT, "KRX", at(day), lines) for day in days]


def trade(stock: tuple[str, str], day: date, number: int, remark: str, quantity: int, amount: int) -> dict[str, str]:
    """A buy or sale done and booked on `day`."""
    return ledger_line(
        day,
        number,
        remark,
        amount,
        stk_cd="A" + stock[0],
        stk_nm=stock[1],
        trde_qty_jwa_cnt=str(quantity),
        cntr_dt=f"{day:%Y%m%d}",
    )


def transfer_in(day: date, number: int, remark: str = "대체입고", amount: int = 0) -> dict[str, str]:
    """10 SK하이닉스 transferred in on `day` (without an amount unless one is given)."""
    return ledger_line(day, number, remark, amount, stk_cd="A" + HYNIX[0], stk_nm=HYNIX[1], trde_qty_jwa_cnt="10")


def kept(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(SALES)]


def assert_sales_are_the_rebuilt_ones(engine: Engine) -> dict[tuple[str, date], dict[str, Any]]:
    """What the loads left in realized_sales is what rebuild computes (rolled back after); the rows by stock × day."""
    rows = kept(engine)
    with engine.connect() as connection, connection.begin() as transaction:
        rebuild(connection)
        rebuilt = [dict(row._mapping) for row in connection.execute(SALES)]
        transaction.rollback()
    assert rows == rebuilt
    return {(row["stock_code"], row["trade_date"]): row for row in rows}


def test_a_ledger_line_arriving_late_walks_the_account_again(engine: Engine, tmp_path: Path) -> None:
    ledger = [trade(SAMSUNG, D2, 1, "장내매수", 5, 400_000), trade(SAMSUNG, D3, 1, "장내매도", 6, 500_000)]
    load(engine, tmp_path, books(D1, D2, D3), ledger)
    before = assert_sales_are_the_rebuilt_ones(engine)
    assert before[(SAMSUNG[0], D3)]["cost_basis"] == 440_000  # 1,100,000 × 6 / 15
    load_ledger(engine, [trade(SAMSUNG, D2, 2, "장내매수", 5, 450_000)], now=LATER)
    after = assert_sales_are_the_rebuilt_ones(engine)
    sale = after[(SAMSUNG[0], D3)]
    assert (sale["cost_basis"], sale["realized_pnl"]) == (465_000, 35_000)  # 1,550,000 × 6 / 20
    assert sale["average_cost"] is not None and str(sale["average_cost"]).startswith("77500")


def test_a_reclassified_line_walks_the_account_again(engine: Engine, tmp_path: Path) -> None:
    ledger = [transfer_in(D2, 1, "주식이관", 1_600_000), trade(HYNIX, D3, 1, "장내매도", 5, 900_000)]
    load(engine, tmp_path, books(D1), ledger)
    assert assert_sales_are_the_rebuilt_ones(engine)[(HYNIX[0], D3)]["cost_basis"] is None  # not a transfer yet
    with transaction(engine, "test") as connection:
        moved = reclassify(connection, Classifier.with_rules([("주식이관", "securities_in")]))
    assert sum(moved.values()) == 1
    assert assert_sales_are_the_rebuilt_ones(engine)[(HYNIX[0], D3)]["cost_basis"] == 800_000


def test_a_first_snapshot_loaded_late_moves_the_anchor(engine: Engine, tmp_path: Path) -> None:
    ledger = [trade(SAMSUNG, D2, 1, "장내매도", 4, 340_000), trade(SAMSUNG, D3, 1, "장내매도", 2, 170_000)]
    load(engine, tmp_path, books(D2, D3), ledger)
    before = assert_sales_are_the_rebuilt_ones(engine)
    assert set(before) == {(SAMSUNG[0], D3)}  # the D2 sale is in D2's snapshot, the anchor
    assert before[(SAMSUNG[0], D3)]["cost_basis"] == 140_000  # 2 of the 10 held at D2's close
    import_books(engine, books(D1), tmp_path / "late")
    after = assert_sales_are_the_rebuilt_ones(engine)
    assert set(after) == {(SAMSUNG[0], D2), (SAMSUNG[0], D3)}  # walked from D1's close now
    assert (after[(SAMSUNG[0], D2)]["cost_basis"], after[(SAMSUNG[0], D3)]["cost_basis"]) == (280_000, 140_000)


def test_a_snapshot_that_values_a_transfer_walks_the_account_again(engine: Engine, tmp_path: Path) -> None:
    load(engine, tmp_path, books(D1, D2), [transfer_in(D3, 1), trade(HYNIX, D4, 1, "장내매도", 5, 800_000)])
    assert assert_sales_are_the_rebuilt_ones(engine)[(HYNIX[0], D4)]["cost_basis"] is None  # unvalued
    import_books(engine, books(D3, hynix=True), tmp_path / "late")  # its close lists SK하이닉스 at 150,000
    sale = assert_sales_are_the_rebuilt_ones(engine)[(HYNIX[0], D4)]
    assert (sale["cost_basis"], sale["realized_pnl"]) == (750_000, 50_000)


def test_a_stock_daily_close_that_values_a_transfer_walks_the_account_again(engine: Engine, tmp_path: Path) -> None:
    load(engine, tmp_path, books(D1, D2), [transfer_in(D3, 1), trade(HYNIX, D4, 1, "장내매도", 5, 800_000)])
    assert assert_sales_are_the_rebuilt_ones(engine)[(HYNIX[0], D4)]["cost_basis"] is None
    run = start_run(engine, trigger="manual", started_at=LATER, account_no=None, exchange=None, api_id="ka10081")
    bars = [
        {"stock_code": HYNIX[0], "trade_date": day, "captured_at": LATER, "close": close}
        for day, close in ((D2, 149_000), (D3, 151_000))
    ]
    with transaction(engine, "test") as connection:
        assert STOCK_DAILY.load(connection, bars, run.id) == 2  # the path the market job and a replay take
    sale = assert_sales_are_the_rebuilt_ones(engine)[(HYNIX[0], D4)]
    assert (sale["cost_basis"], sale["realized_pnl"]) == (755_000, 45_000)  # 10 × 151,000, half of it


def test_a_snapshot_of_a_later_day_walks_nothing(engine: Engine, tmp_path: Path) -> None:
    """The common snapshot (a day after the first close, no transfer without an amount that day): the load asks one
    question and writes nothing to realized_sales."""
    load(engine, tmp_path, books(D1, D2), [transfer_in(D2, 1), trade(SAMSUNG, D3, 1, "장내매도", 5, 450_000)])
    before = assert_sales_are_the_rebuilt_ones(engine)
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        import_books(engine, books(D4), tmp_path / "later")
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert statements and not [s for s in statements if "realized_sales" in s]
    assert assert_sales_are_the_rebuilt_ones(engine) == before


def test_the_first_day_of_an_account_without_a_sale_walks_nothing(engine: Engine, tmp_path: Path) -> None:
    """Every snapshot of an account's first day moves its anchor, but an account that never sold has no row to
    walk: each load asks its one question and writes nothing to realized_sales, until the ledger holds a sale."""
    load(engine, tmp_path, books(D1), [trade(SAMSUNG, D1, 1, "장내매수", 10, 700_000)])
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        later = Book(ACCOUNT, "KRX", at(D1) + timedelta(minutes=5), books(D1)[0].lines)
        import_books(engine, [later], tmp_path / "again")
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert [s for s in statements if "daily_closes c" in s] and not [s for s in statements if "realized_sales" in s]
    assert kept(engine) == []


def test_migration_0018_fills_the_table_from_the_history_there_is(engine: Engine, tmp_path: Path) -> None:
    ledger = [trade(SAMSUNG, D2, 1, "장내매수", 5, 400_000), trade(SAMSUNG, D3, 1, "장내매도", 6, 500_000)]
    load(engine, tmp_path, books(D1, D2, D3), [*ledger, transfer_in(D3, 2), trade(HYNIX, D4, 1, "장내매도", 5, 1)])
    before = kept(engine)
    with engine.connect() as connection:
        shown = [dict(row._mapping) for row in connection.execute(select(REALIZED_PNL.table()))]
    assert len(before) == 2 and len(shown) == 2
    downgrade(engine, "0017")
    assert "realized_sales" not in inspect(engine).get_table_names()
    assert not {"realized_pnl", "position_pnl", "realized_checks"} & set(inspect(engine).get_view_names())
    migrate(engine)
    assert kept(engine) == before
    with engine.connect() as connection:
        assert [dict(row._mapping) for row in connection.execute(select(REALIZED_PNL.table()))] == shown


def test_migration_0021_walks_every_account_again_with_the_anchor_the_code_takes_now(
    engine: Engine, tmp_path: Path
) -> None:
    """A database at 0020 kept the sales its older walk computed: 0021 fills the table again from the history."""
    ledger = [trade(SAMSUNG, D2, 1, "장내매수", 5, 400_000), trade(SAMSUNG, D3, 1, "장내매도", 6, 500_000)]
    load(engine, tmp_path, books(D1, D2, D3), ledger)
    before = kept(engine)
    assert len(before) == 1
    downgrade(engine, "0020")
    with engine.begin() as connection:  # what an older walk left: a cost of its own
        connection.execute(RealizedSale.__table__.update().values(cost_basis=1, realized_pnl=1))
    assert kept(engine) != before
    migrate(engine)
    assert kept(engine) == before


def test_migration_0021_upgrades_a_database_whose_analyst_built_a_view_on_the_project_s_views(
    engine: Engine, tmp_path: Path
) -> None:
    """An analyst's own view over account_daily (a Grafana panel's, say): 0021 changes no column of any view, yet it
    dropped every view, which PostgreSQL refuses while another view depends on one; the upgrade must go through and
    the analyst's view still read."""
    from sqlalchemy import text

    load(engine, tmp_path, books(D1, D2, D3), [])
    downgrade(engine, "0020")
    with engine.begin() as connection:
        connection.execute(text("CREATE VIEW analyst_panel AS SELECT account_no, trade_date FROM account_daily"))
    try:
        migrate(engine)
        with engine.connect() as connection:
            assert connection.execute(text("SELECT COUNT(*) FROM analyst_panel")).scalar_one() > 0
    finally:
        with engine.begin() as connection:
            connection.execute(text("DROP VIEW IF EXISTS analyst_panel"))
