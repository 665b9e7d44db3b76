"""The fills' check: execution_checks (each day's fills from the real-time feed beside the ledger's buy and sell lines
of that day, per stock and side, and whether they agree), with its column docs.

A fill is kept by the day it was pushed (executions.trade_date), a ledger line of a trade by its trade date
(account_transactions.contract_date): the two name the same day. The ledger's trade_amount of a buy or sell is its
quantity at its price, before commission and tax, which is what Σ quantity × price of the fills adds up to. Only the
account × days with at least one fill are checked: before a listener ran, every day would disagree. The exchange
is no dimension here: the ledger's lines cover KRX and NXT together, so a stock's fills on both are added up. A fill
the feed missed (pushed while the listener was away: Kiwoom does not send it again) shows as a disagreement, as does
a day the ledger does not cover yet.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, Text

from etl.read.views.view import View, verdict
from etl.store.dictionary import (
    BIGINT,
    CODE,
    COUNT,
    EXECUTIONS,
    KRW,
    QUANTITY_TYPE,
    SHARES,
    TEXT,
    TEXT_TYPE,
    UNITS,
    Column,
    with_meaning,
)
from etl.store.sqltypes import ExactDecimal

# The figures compared, fills' against the ledger's, as SQL tests that they differ (a missing side counts as 0).
_DIFFERS = {
    "quantity": "COALESCE(f.quantity, 0) <> COALESCE(l.quantity, 0)",
    "amount": "COALESCE(f.amount, 0) <> COALESCE(l.amount, 0)",
}
_KEY = ("account_no", "trade_date", "stock_code", "side")
_ON = " AND ".join(f"{{a}}.{column} = k.{column}" for column in _KEY)

# SUM of a BIGINT is NUMERIC on PostgreSQL: cast back, so that both backends give integers.
EXECUTION_CHECKS = View(
    "execution_checks",
    "체결 검증",
    "One row per account × trade day × stock × side with fills from the real-time feed that day (and the ledger's"
    " buy or sell lines of a stock and side of such a day): the fills' quantity and amount beside the ledger's lines"
    " of that trade date (contract_date), and whether they agree.",
    (
        EXECUTIONS.column("account_no"),
        with_meaning(
            EXECUTIONS.column("trade_date"), "The trade day: the fills' trade_date, the lines' contract_date."
        ),
        EXECUTIONS.column("stock_code"),
        Column(
            "side", "text, buy or sell", "907", "매도수구분", CODE, "buy or sell: the fills' side, the lines' kind."
        ),
        Column("fills", BIGINT, None, "체결건수", COUNT, "Fills of the stock and side that day, 0 when none."),
        Column("quantity", BIGINT, "911", "체결수량", SHARES, "Σ quantity of those fills, 0 when none."),
        Column("amount", BIGINT, None, "체결금액", KRW, "Σ quantity × price of those fills, 0 when none."),
        Column(
            "ledger_lines", BIGINT, None, "거래건수", COUNT, "Ledger lines of the stock and side that day, 0 when none."
        ),
        Column(
            "ledger_quantity",
            QUANTITY_TYPE,
            "trde_qty_jwa_cnt",
            "거래내역 수량",
            UNITS,
            "Σ quantity of those lines, 0 when none.",
        ),
        Column(
            "ledger_amount", BIGINT, "trde_amt", "거래내역 거래금액", KRW, "Σ trade_amount of those lines, 0 when none."
        ),
        Column(
            "mismatches",
            TEXT_TYPE,
            None,
            "불일치항목",
            TEXT,
            "quantity, amount or both (separated by `, `) where the fills and the ledger differ; NULL when both agree.",
        ),
        Column(
            "result",
            TEXT_TYPE,
            None,
            "검증결과",
            CODE,
            "agrees, or disagrees (see mismatches): a fill the feed missed, or a day the ledger does not cover yet.",
        ),
    ),
    f"""WITH fills AS (
    SELECT e.account_no, e.trade_date, e.stock_code, e.side, COUNT(*) AS fills,
           CAST(SUM(e.quantity) AS BIGINT) AS quantity, CAST(SUM(e.quantity * e.price) AS BIGINT) AS amount
    FROM executions e
    GROUP BY e.account_no, e.trade_date, e.stock_code, e.side),
ledger AS (
    SELECT a.account_no, a.contract_date AS trade_date, a.stock_code, a.kind AS side, COUNT(*) AS lines,
           SUM(a.quantity) AS quantity, CAST(SUM(COALESCE(a.trade_amount, 0)) AS BIGINT) AS amount
    FROM account_transactions a
    WHERE a.kind IN ('buy', 'sell')
      AND EXISTS (SELECT 1 FROM executions e WHERE e.account_no = a.account_no AND e.trade_date = a.contract_date)
    GROUP BY a.account_no, a.contract_date, a.stock_code, a.kind)
SELECT k.account_no, k.trade_date, k.stock_code, k.side,
       COALESCE(f.fills, 0) AS fills, COALESCE(f.quantity, 0) AS quantity, COALESCE(f.amount, 0) AS amount,
       COALESCE(l.lines, 0) AS ledger_lines, COALESCE(l.quantity, 0) AS ledger_quantity,
       COALESCE(l.amount, 0) AS ledger_amount,
       {verdict(_DIFFERS)}
FROM (SELECT account_no, trade_date, stock_code, side FROM fills
      UNION SELECT account_no, trade_date, stock_code, side FROM ledger) k
LEFT JOIN fills f ON {_ON.format(a="f")}
LEFT JOIN ledger l ON {_ON.format(a="l")}""",
    requires=("executions", "account_transactions"),
    computed={
        "side": Text(),
        "fills": Integer(),
        "quantity": BigInteger(),
        "amount": BigInteger(),
        "ledger_lines": Integer(),
        "ledger_quantity": ExactDecimal(15, 6),
        "ledger_amount": BigInteger(),
        "mismatches": Text(),
        "result": Text(),
    },
)
