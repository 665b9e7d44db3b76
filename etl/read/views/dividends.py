"""The dividend views: dividends (each stock's dividends booked on a day: gross, withheld, net) and dividends_monthly
(their sums per calendar month), with their column docs.

kt00015 books a dividend as a cash line (its remark says 배당, so the ledger classifies it `dividend` although it also
says 입금): trade_amount is the gross dividend, income_tax (incm_resi_tax) the income and local tax withheld, and
what reaches the cash is gross − withheld. A dividend is dated by its booking day (settlement_date), as every cash
flow is.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Date, Integer, Text

from etl.read.views.view import View
from etl.store.dictionary import (
    BIGINT,
    CODE,
    COUNT,
    DATE,
    DATE_TYPE,
    KRW,
    LEDGER_ACCOUNT_NO,
    TEXT,
    TEXT_TYPE,
    Column,
)

_GROSS = Column("gross", BIGINT, "trde_amt", "배당금", KRW, "Σ trade_amount of the dividend lines: before withholding.")
_TAX = Column(
    "tax",
    BIGINT,
    "incm_resi_tax",
    "원천징수세액",
    KRW,
    "Σ income_tax + transaction_tax of the dividend lines: the tax withheld (a NULL counts as 0).",
)
_NET = Column("net", BIGINT, None, "세후배당금", KRW, "gross − tax: what reached the cash.")
_SUMS = """CAST(SUM(COALESCE(a.trade_amount, 0)) AS BIGINT) AS gross,
       CAST(SUM(COALESCE(a.income_tax, 0) + COALESCE(a.transaction_tax, 0)) AS BIGINT) AS tax,
       CAST(SUM(COALESCE(a.trade_amount, 0) - COALESCE(a.income_tax, 0) - COALESCE(a.transaction_tax, 0)) AS BIGINT)
         AS net"""
_AMOUNTS = dict.fromkeys(("gross", "tax", "net"), BigInteger())

DIVIDENDS = View(
    "dividends",
    "배당금 내역",
    "One row per account × stock × booking date with dividend lines in the ledger: the gross dividend, the tax"
    " withheld and the net.",
    (
        LEDGER_ACCOUNT_NO,
        Column("stock_code", TEXT_TYPE, "stk_cd", "종목코드", CODE, "The stock that paid, without the A prefix."),
        Column("stock_name", TEXT_TYPE, "stk_nm", "종목명", TEXT, "The stock's name on its dividend line."),
        Column(
            "settlement_date", DATE_TYPE, "trde_dt", "입금일자", DATE, "The day the dividend was booked to the cash."
        ),
        _GROSS,
        _TAX,
        _NET,
        Column("lines", BIGINT, None, "거래건수", COUNT, "Dividend lines summed (a correction is a line of its own)."),
    ),
    f"""SELECT a.account_no, a.stock_code, MIN(a.stock_name) AS stock_name, a.settlement_date,
       {_SUMS},
       COUNT(*) AS lines
FROM account_transactions a
WHERE a.kind = 'dividend'
GROUP BY a.account_no, a.stock_code, a.settlement_date""",
    requires=("account_transactions",),
    computed={
        "stock_code": Text(),
        "stock_name": Text(),
        "settlement_date": Date(),
        **_AMOUNTS,
        "lines": Integer(),
    },
)

# The first day of a date's month, as a date.
_MONTH = {
    "postgresql": "CAST(DATE_TRUNC('month', a.settlement_date) AS DATE)",
    "sqlite": "DATE(a.settlement_date, 'start of month')",
}

DIVIDENDS_MONTHLY = View(
    "dividends_monthly",
    "월별 배당금",
    "One row per account × calendar month with dividends booked: the sums of dividends' rows of that month.",
    (
        LEDGER_ACCOUNT_NO,
        Column("month", DATE_TYPE, None, "월", DATE, "The month's first day."),
        _GROSS,
        _TAX,
        _NET,
    ),
    f"""SELECT a.account_no, {{month}} AS month,
       {_SUMS}
FROM account_transactions a
WHERE a.kind = 'dividend'
GROUP BY a.account_no, {{month}}""",
    requires=("account_transactions",),
    computed={"month": Date(), **_AMOUNTS},
    per_dialect={"month": _MONTH},
)
