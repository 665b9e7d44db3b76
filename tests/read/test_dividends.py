"""dividends and dividends_monthly against a hand-written ledger, on both backends: two stocks, a month apart, a
dividend and its correction on one day, withholding in income_tax, lines of other kinds left out."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import Engine, select

from etl.read.views import DIVIDENDS, DIVIDENDS_MONTHLY
from tests.support.story import ACCOUNT, ledger_line, load

SAMSUNG = {"stk_cd": "A005930", "stk_nm": "삼성전자"}
KT = {"stk_cd": "A030200", "stk_nm": "KT"}

LEDGER = [
    ledger_line(date(2026, 4, 20), 1, "배당금입금", 361_000, incm_resi_tax="55594", **SAMSUNG),
    ledger_line(date(2026, 4, 20), 2, "배당금입금", 19_000, incm_resi_tax="2926", **SAMSUNG),  # a correction
    ledger_line(date(2026, 4, 30), 1, "배당금입금", 96_000, incm_resi_tax="14784", **KT),
    ledger_line(date(2026, 4, 30), 2, "이체입금", 1_000_000),  # not a dividend
    ledger_line(date(2026, 5, 4), 1, "배당금입금", 90_000, **KT),  # nothing withheld (NULL)
]


def test_dividends_are_gross_withheld_and_net_per_stock_and_day(engine: Engine, tmp_path: Path) -> None:
    load(engine, tmp_path, [], LEDGER)
    view = DIVIDENDS.table()
    with engine.connect() as connection:
        rows = connection.execute(select(view).order_by(view.c.settlement_date, view.c.stock_code)).all()
    assert [tuple(r) for r in rows] == [
        (ACCOUNT, "005930", "삼성전자", date(2026, 4, 20), 380_000, 58_520, 321_480, 2),
        (ACCOUNT, "030200", "KT", date(2026, 4, 30), 96_000, 14_784, 81_216, 1),
        (ACCOUNT, "030200", "KT", date(2026, 5, 4), 90_000, 0, 90_000, 1),
    ]


def test_dividends_monthly_sums_each_calendar_month_dated_by_its_first_day(engine: Engine, tmp_path: Path) -> None:
    load(engine, tmp_path, [], LEDGER)
    view = DIVIDENDS_MONTHLY.table()
    with engine.connect() as connection:
        rows = connection.execute(select(view).order_by(view.c.month)).all()
    assert [tuple(r) for r in rows] == [
        (ACCOUNT, date(2026, 4, 1), 476_000, 73_304, 402_696),
        (ACCOUNT, date(2026, 5, 1), 90_000, 0, 90_000),
    ]
