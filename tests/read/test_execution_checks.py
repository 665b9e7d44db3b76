"""execution_checks against hand-computed books, on both backends: each day's fills from the feed beside the ledger's
buy and sell lines of that trade date, per account, stock and side; a fill the ledger lacks, a ledger line no fill
matches (pushed while the listener was away) and a differing amount disagree; a day without fills is not checked."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from etl.normalize.executions import Execution, execution_of
from etl.read.views import EXECUTION_CHECKS
from etl.store.engine import transaction
from etl.store.executions import store_executions
from tests.support.answers import fill_push
from tests.support.story import ACCOUNT, ledger_line, load

MONDAY, TUESDAY = date(2026, 12, 7), date(2026, 12, 8)
OTHER = "5000002222"


def fill(day: date, number: int, code: str, side: str, quantity: int, price: int, **fids: str) -> Execution:
    received = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=1, seconds=number)
    found = execution_of(
        fill_push(
            **{
                "9201": ACCOUNT,
                "909": str(number),
                "9001": f"A{code}",
                "907": {"sell": "1", "buy": "2"}[side],
                "911": str(quantity),
                "910": f"+{price}",
                **fids,
            }
        ),
        trade_date=day,
        received_at=received,
    )
    assert found is not None
    return found


def trade(number: int, traded: date, remark: str, code: str, quantity: int, amount: int) -> dict[str, str]:
    """A ledger line of a trade done on `traded`, booked two days later."""
    return ledger_line(
        traded + timedelta(days=2),
        number,
        remark,
        amount,
        cntr_dt=f"{traded:%Y%m%d}",
        stk_cd=f"A{code}",
        trde_qty_jwa_cnt=str(quantity),
    )


FILLS = [
    fill(MONDAY, 1, "005930", "buy", 3, 60_700),
    fill(MONDAY, 2, "005930", "buy", 7, 60_800, **{"2134": "2"}),  # on NXT: the ledger holds both markets
    fill(MONDAY, 3, "000660", "sell", 2, 150_000),
    fill(MONDAY, 4, "035720", "buy", 5, 40_000),
    fill(MONDAY, 5, "005930", "buy", 3, 60_700, **{"9201": OTHER}),  # another account's: no ledger of its own
    fill(TUESDAY, 1, "005930", "sell", 1, 61_000),  # the ledger does not cover Tuesday yet
]
LEDGER = [
    trade(1, MONDAY, "장내매수", "005930", 10, 607_700),  # 3 × 60,700 + 7 × 60,800
    trade(2, MONDAY, "장내매도", "000660", 1, 150_000),  # one sale, booked as two lines
    trade(3, MONDAY, "장내매도", "000660", 1, 150_000),
    trade(4, MONDAY, "장내매수", "035720", 5, 200_500),  # 500 more than the fill
    trade(5, MONDAY, "장내매수", "051910", 4, 1_600_000),  # filled while the listener was away
    trade(6, date(2026, 12, 4), "장내매수", "051910", 1, 400_000),  # a day without fills: not checked
    ledger_line(MONDAY + timedelta(days=2), 7, "이체입금", 1_000_000),  # no trade
]


def test_each_day_s_fills_are_held_to_the_ledger_s_trades(engine: Engine, tmp_path: Path) -> None:
    load(engine, tmp_path, [], LEDGER)
    with transaction(engine, "test") as connection:
        store_executions(connection, FILLS)
    view = EXECUTION_CHECKS.table()
    order = (view.c.account_no, view.c.trade_date, view.c.stock_code, view.c.side)
    with engine.connect() as connection:
        rows: list[tuple[Any, ...]] = [tuple(r) for r in connection.execute(select(view).order_by(*order))]
    assert rows == [
        (ACCOUNT, MONDAY, "000660", "sell", 1, 2, 300_000, 2, Decimal(2), 300_000, None, "agrees"),
        (ACCOUNT, MONDAY, "005930", "buy", 2, 10, 607_700, 1, Decimal(10), 607_700, None, "agrees"),
        (ACCOUNT, MONDAY, "035720", "buy", 1, 5, 200_000, 1, Decimal(5), 200_500, "amount", "disagrees"),
        (ACCOUNT, MONDAY, "051910", "buy", 0, 0, 0, 1, Decimal(4), 1_600_000, "quantity, amount", "disagrees"),
        (ACCOUNT, TUESDAY, "005930", "sell", 1, 1, 61_000, 0, Decimal(0), 0, "quantity, amount", "disagrees"),
        (OTHER, MONDAY, "005930", "buy", 1, 3, 182_100, 0, Decimal(0), 0, "quantity, amount", "disagrees"),
    ]
    assert all(isinstance(value, int) for row in rows for value in (row[4], row[5], row[6], row[7], row[9]))
    assert all(isinstance(row[8], Decimal) for row in rows)


def test_a_day_agrees_once_the_ledger_covers_it(engine: Engine, tmp_path: Path) -> None:
    load(engine, tmp_path, [], [trade(1, TUESDAY, "장내매도", "005930", 1, 61_000)])
    with transaction(engine, "test") as connection:
        store_executions(connection, FILLS[-1:])
    view = EXECUTION_CHECKS.table()
    with engine.connect() as connection:
        (row,) = connection.execute(select(view.c.fills, view.c.ledger_lines, view.c.mismatches, view.c.result))
    assert tuple(row) == (1, 1, None, "agrees")


def test_no_fills_no_rows(engine: Engine, tmp_path: Path) -> None:
    load(engine, tmp_path, [], LEDGER)
    with engine.connect() as connection:
        assert connection.execute(select(EXECUTION_CHECKS.table())).all() == []
