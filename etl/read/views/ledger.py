"""The ledger's check: ledger_checks (kt00017's totals of a day beside the sums of the ledger lines booked that day,
and whether they agree), with its column docs and the figures it compares.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, Text

from etl.apis.totals import ACCOUNT_DAY_TOTALS
from etl.read.views.view import View, verdict
from etl.store.dictionary import (
    BIGINT,
    CODE,
    COUNT,
    KRW,
    LEDGER_ACCOUNT_NO,
    TEXT,
    TEXT_TYPE,
    Column,
    with_meaning,
)

# kt00017's figures that ledger_checks compares, and what of the ledger lines booked that day each is held to, in
# words and in SQL. The spec says neither how kt00017 dates a trade nor what its tax holds: kiwoom-etl assumes a trade
# on its booking day and both taxes (a sale's transaction tax and the income tax withheld from a dividend); a real
# answer that differs shows as a disagreement, never as a silent correction. Transfers are valued by kt00017 only:
# not compared.
CHECKED_TOTALS: tuple[tuple[str, str, str], ...] = (
    (
        "deposits",
        "Σ trade_amount of the deposit lines",
        "CASE WHEN a.kind = 'deposit' THEN COALESCE(a.trade_amount, 0) ELSE 0 END",
    ),
    (
        "withdrawals",
        "Σ trade_amount of the withdrawal lines",
        "CASE WHEN a.kind = 'withdrawal' THEN COALESCE(a.trade_amount, 0) ELSE 0 END",
    ),
    (
        "buy_amount",
        "Σ trade_amount of the buy lines",
        "CASE WHEN a.kind = 'buy' THEN COALESCE(a.trade_amount, 0) ELSE 0 END",
    ),
    (
        "sell_amount",
        "Σ trade_amount of the sell lines",
        "CASE WHEN a.kind = 'sell' THEN COALESCE(a.trade_amount, 0) ELSE 0 END",
    ),
    (
        "dividends",
        "Σ trade_amount of the dividend lines",
        "CASE WHEN a.kind = 'dividend' THEN COALESCE(a.trade_amount, 0) ELSE 0 END",
    ),
    ("commission", "Σ commission of every line", "COALESCE(a.commission, 0)"),
    (
        "tax",
        "Σ transaction_tax + income_tax of every line",
        "COALESCE(a.transaction_tax, 0) + COALESCE(a.income_tax, 0)",
    ),
)
_DIFFERS = {name: f"COALESCE(t.{name}, 0) <> COALESCE(l.{name}, 0)" for name, _, _ in CHECKED_TOTALS}
_PAIRS = ",\n       ".join(f"t.{name}, COALESCE(l.{name}, 0) AS ledger_{name}" for name, _, _ in CHECKED_TOTALS)
_SUMS = ",\n            ".join(f"CAST(SUM({sql}) AS BIGINT) AS {name}" for name, _, sql in CHECKED_TOTALS)


def _compared(name: str, sums: str) -> tuple[Column, Column]:
    """kt00017's figure `name` and the ledger's `sums` it is held to, side by side."""
    total = ACCOUNT_DAY_TOTALS.column(name)
    ledger = Column(
        f"ledger_{name}", BIGINT, None, f"거래내역 {total.label}", KRW, f"The ledger's {sums}, 0 when it has none."
    )
    return with_meaning(total, f"kt00017: {total.meaning}"), ledger


# SUM of a BIGINT is NUMERIC on PostgreSQL: cast back, so that both backends give integers.
LEDGER_CHECKS = View(
    "ledger_checks",
    "거래내역 검증",
    "One row per account_day_totals row: kt00017's totals of the day beside the sums of the ledger lines"
    " booked that day (settlement_date), and whether they agree.",
    (
        LEDGER_ACCOUNT_NO,
        ACCOUNT_DAY_TOTALS.column("trade_date"),
        with_meaning(ACCOUNT_DAY_TOTALS.column("captured_at"), "When kt00017's answer arrived."),
        Column("ledger_lines", BIGINT, None, "거래건수", COUNT, "Ledger lines whose settlement_date is trade_date."),
        *(column for name, sums, _ in CHECKED_TOTALS for column in _compared(name, sums)),
        Column(
            "mismatches",
            TEXT_TYPE,
            None,
            "불일치항목",
            TEXT,
            "The names of the figures that differ, separated by `, `; NULL when every one agrees.",
        ),
        Column("result", TEXT_TYPE, None, "검증결과", CODE, "agrees, or disagrees (see mismatches)."),
    ),
    f"""SELECT t.account_no, t.trade_date, {{time:t.captured_at}} AS captured_at, COALESCE(l.lines, 0) AS ledger_lines,
       {_PAIRS},
       {verdict(_DIFFERS)}
FROM account_day_totals t
LEFT JOIN (SELECT a.account_no, a.settlement_date, COUNT(*) AS lines,
            {_SUMS}
     FROM account_transactions a
     GROUP BY a.account_no, a.settlement_date) l
  ON l.account_no = t.account_no AND l.settlement_date = t.trade_date""",
    requires=("account_day_totals", "account_transactions"),
    computed={
        "ledger_lines": Integer(),
        "mismatches": Text(),
        "result": Text(),
        **{f"ledger_{name}": BigInteger() for name, _, _ in CHECKED_TOTALS},
    },
)
