"""The return views: account_flows_daily (each booking day's external flow, dividends, interest, fees and taxes) and
account_returns_daily (each valued day's equity and its time-weighted return and drawdown), with their column docs.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Float, Integer, Text

from etl.read.views.accounts import NET_ASSETS
from etl.read.views.view import CLOSE_TIME, View
from etl.store.dictionary import (
    ACCOUNT_NO,
    BIGINT,
    CODE,
    COUNT,
    DATE,
    DATE_TYPE,
    EXCHANGE,
    FLOAT,
    FRACTION,
    KRW,
    LEDGER_ACCOUNT_NO,
    TEXT_TYPE,
    TRADE_DATE,
    Column,
    with_meaning,
)
from etl.store.valuation import TRANSFER_VALUE, VALUATION_TABLES


def _flow(name: str, label: str, meaning: str) -> Column:
    return Column(name, BIGINT, None, label, KRW, meaning)


def _sum_of(kind: str, value: str = "v.amount") -> str:
    return f"CAST(SUM(CASE WHEN v.kind = '{kind}' THEN {value} ELSE 0 END) AS BIGINT)"


ACCOUNT_FLOWS_DAILY = View(
    "account_flows_daily",
    "일별 외부입출금",
    "One row per account × booking date with ledger lines: the external flow (money and securities in or out)"
    " and, apart, the dividends, interest, fees and taxes, which are part of the return.",
    (
        LEDGER_ACCOUNT_NO,
        Column(
            "trade_date",
            DATE_TYPE,
            "trde_dt",
            "거래일자",
            DATE,
            "The booking date of the lines summed (their settlement_date): a flow is dated by it.",
        ),
        _flow("deposits", "입금", "Σ trade_amount of the deposit lines."),
        _flow("withdrawals", "출금", "Σ trade_amount of the withdrawal lines."),
        _flow(
            "securities_in",
            "입고",
            "Transfers in, valued: a line's trade_amount, else quantity × the stock's close price that day"
            " (current_price at the KRX close, else NXT's; else stock_daily's close, ka10081).",
        ),
        _flow(
            "securities_out", "출고", "Transfers out, valued as securities_in (a snapshot's close, else stock_daily's)."
        ),
        _flow(
            "external_flow",
            "외부유출입",
            "deposits − withdrawals + securities_in − securities_out: money put in > 0, taken out < 0.",
        ),
        _flow("dividends", "배당금", "Σ trade_amount of the dividend lines, before withholding (in taxes)."),
        _flow("interest", "이자", "Σ trade_amount of the interest lines, paid or received (see io_type)."),
        _flow("fees", "수수료", "Σ commission of every line + Σ trade_amount of the fee lines."),
        _flow("taxes", "세금", "Σ transaction_tax + income_tax of every line + Σ trade_amount of the tax lines."),
        Column("lines", BIGINT, None, "거래건수", COUNT, "Ledger lines booked that day."),
        Column(
            "unvalued_transfers",
            BIGINT,
            None,
            "미평가입출고",
            COUNT,
            "Transfer lines with no amount and no close price that day, neither a snapshot's nor stock_daily's:"
            " counted as 0 in the flow.",
        ),
    ),
    f"""SELECT g.account_no, g.trade_date, g.deposits, g.withdrawals, g.securities_in, g.securities_out,
       g.deposits - g.withdrawals + g.securities_in - g.securities_out AS external_flow,
       g.dividends, g.interest, g.fees, g.taxes, g.lines, g.unvalued_transfers
FROM (SELECT v.account_no, v.settlement_date AS trade_date,
             {_sum_of("deposit")} AS deposits,
             {_sum_of("withdrawal")} AS withdrawals,
             {_sum_of("securities_in", "COALESCE(v.value, 0)")} AS securities_in,
             {_sum_of("securities_out", "COALESCE(v.value, 0)")} AS securities_out,
             {_sum_of("dividend")} AS dividends,
             {_sum_of("interest")} AS interest,
             CAST(SUM(v.commission) AS BIGINT) + {_sum_of("fee")} AS fees,
             CAST(SUM(v.line_tax) AS BIGINT) + {_sum_of("tax")} AS taxes,
             COUNT(*) AS lines,
             SUM(CASE WHEN v.value IS NULL THEN 1 ELSE 0 END) AS unvalued_transfers
      FROM (SELECT a.account_no, a.settlement_date, a.kind, COALESCE(a.trade_amount, 0) AS amount,
                   COALESCE(a.commission, 0) AS commission,
                   COALESCE(a.transaction_tax, 0) + COALESCE(a.income_tax, 0) AS line_tax,
                   {TRANSFER_VALUE} AS value
            FROM account_transactions a) v
      GROUP BY v.account_no, v.settlement_date) g""",
    requires=VALUATION_TABLES,
    computed={
        **dict.fromkeys(
            (
                "deposits",
                "withdrawals",
                "securities_in",
                "securities_out",
                "external_flow",
                "dividends",
                "interest",
                "fees",
                "taxes",
            ),
            BigInteger(),
        ),
        "lines": Integer(),
        "unvalued_transfers": Integer(),
    },
)

# The days with a value — each close, and on KRX a kt00002 estimate for a day without one (estimates fill the KRX
# series only) — each with the flows booked after the previous one up to itself, and the index chained over them: read
# from daily_returns, which every load keeps (etl.store.returns), so that one account's days are read by its key
# instead of chaining every day of every account on each read.
ACCOUNT_RETURNS_DAILY = View(
    "account_returns_daily",
    "일별 수익률",
    "One row per account × exchange × trade_date with a value (a snapshot's close; on KRX, else a kt00002"
    " estimate): its equity, the external flow since the previous such day, and the time-weighted daily and"
    " cumulative return and drawdown; never KRX and NXT combined.",
    (
        ACCOUNT_NO,
        EXCHANGE,
        with_meaning(TRADE_DATE, "The day valued (Asia/Seoul)."),
        with_meaning(
            CLOSE_TIME,
            "captured_at of the day's close, or 15:30 KST (the KRX close) of an estimate's day: timestamptz,"
            " or RFC 3339 UTC text on SQLite.",
        ),
        Column(
            "source",
            TEXT_TYPE,
            None,
            "출처",
            CODE,
            "Where the day's value comes from: snapshot (the day's close), or estimate (kt00002, on a KRX"
            " day without a snapshot).",
        ),
        with_meaning(
            NET_ASSETS,
            "net_assets at the day's close; for an estimate estimated_assets − credit_loan (a NULL counts as 0).",
        ),
        _flow(
            "collateral_loans",
            "담보대출금",
            "deposit_collateral_loan_amount + sale_collateral_loan_amount at the close, or an estimate's"
            " collateral_loan (a NULL counts as 0): loans that net_assets does not subtract.",
        ),
        _flow(
            "equity",
            "자기자본",
            "net_assets − collateral_loans: what the returns are computed on, so that a loan is no gain.",
        ),
        _flow(
            "external_flow",
            "외부유출입",
            "Σ account_flows_daily.external_flow booked after the previous day with a value, up to and"
            " including this one: a flow on a day without a value joins the next day that has one.",
        ),
        _flow("dividends", "배당금", "Σ account_flows_daily.dividends over the same days."),
        Column(
            "daily_return",
            FLOAT,
            None,
            "일간수익률",
            FRACTION,
            "(equity − external_flow) / the previous day's equity − 1 (flows at the end of the day); on an empty"
            " account's first day equity / external_flow − 1 when every flow up to it was booked on its first"
            " deposit's day (which counts from its start, see daily_returns); else NULL on the first day, and where"
            " the previous equity ≤ 0.",
        ),
        Column(
            "twr_cumulative",
            FLOAT,
            None,
            "누적수익률(TWR)",
            FRACTION,
            "Π (1 + daily_return) − 1 from the first day, a NULL daily_return counting as 0: time-weighted.",
        ),
        Column(
            "drawdown",
            FLOAT,
            None,
            "낙폭",
            FRACTION,
            "(1 + twr_cumulative) / its running peak − 1: 0 at a new high, below 0 under it.",
        ),
    ),
    """SELECT r.account_no, r.exchange, r.trade_date, {time:r.captured_at} AS time, r.source, r.net_assets,
       r.collateral_loans, r.equity, r.external_flow, r.dividends, CAST(r.daily_return AS {float}) AS daily_return,
       CAST(r.twr_index - 1 AS {float}) AS twr_cumulative, CAST(r.drawdown AS {float}) AS drawdown
FROM daily_returns r""",
    requires=("daily_returns",),
    computed={
        "source": Text(),
        **dict.fromkeys(("net_assets", "collateral_loans", "equity", "external_flow", "dividends"), BigInteger()),
        **dict.fromkeys(("daily_return", "twr_cumulative", "drawdown"), Float()),
    },
)
