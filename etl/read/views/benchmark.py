"""The benchmark view: account_benchmark_daily (each valued day of an account beside each market index collected
in index_daily, both as cumulative returns from the account's first day), with its column docs."""

from __future__ import annotations

from sqlalchemy import Float, Text

from etl.apis.charts import POINTS_TYPE, Points
from etl.read.views.returns import ACCOUNT_RETURNS_DAILY
from etl.read.views.view import View
from etl.store.dictionary import CODE, FLOAT, FRACTION, INDEX, TEXT_TYPE, Column

_INDEX_DAILY = "index_daily"


def _returned(name: str) -> Column:
    return ACCOUNT_RETURNS_DAILY.relation.column(name)


ACCOUNT_BENCHMARK_DAILY = View(
    "account_benchmark_daily",
    "일별 벤치마크 비교",
    "One row per account_returns_daily row × market index in index_daily ([benchmarks] indexes: 001 KOSPI, 101"
    " KOSDAQ): the account's time-weighted return and the index's, both from the account's first valued day, and the"
    " difference. Filter on index_code; never KRX and NXT combined.",
    (
        _returned("account_no"),
        _returned("exchange"),
        _returned("trade_date"),
        _returned("time"),
        _returned("twr_cumulative"),
        Column("index_code", TEXT_TYPE, "inds_cd", "업종코드", CODE, "The index: 001 KOSPI, 101 KOSDAQ, …"),
        Column(
            "index_close",
            POINTS_TYPE,
            "cur_prc",
            "지수종가",
            INDEX,
            "The index's close that day, exact; NULL when index_daily has no bar for it (not collected yet).",
        ),
        Column(
            "index_cumulative",
            FLOAT,
            None,
            "지수누적수익률",
            FRACTION,
            "index_close / the index's close on the account's first valued day (else the last bar before it) − 1;"
            " when that day has a return of its own (a first deposit into an empty account counts from the start of"
            " its booking day, which may be earlier), from the last bar before the account's first booking day, so"
            " that both cover the same days; NULL when either is missing.",
        ),
        Column(
            "excess",
            FLOAT,
            None,
            "초과수익률",
            FRACTION,
            "twr_cumulative − index_cumulative: above 0, the account beat the index since its first day.",
        ),
    ),
    f"""WITH returned AS (
    SELECT r.account_no, r.exchange, r.trade_date, r.time, r.twr_cumulative,
           MIN(r.trade_date) OVER (PARTITION BY r.account_no, r.exchange) AS first_date,
           CASE WHEN FIRST_VALUE(r.daily_return) OVER (PARTITION BY r.account_no, r.exchange ORDER BY r.trade_date)
                     IS NOT NULL THEN 1 ELSE 0 END AS first_counts
    FROM account_returns_daily r
),
started AS (
    SELECT a.*,
           CASE WHEN a.first_counts = 1
                THEN (SELECT MIN(t.settlement_date) FROM account_transactions t WHERE t.account_no = a.account_no)
           END AS first_booked
    FROM returned a
),
based AS (
    SELECT a.*, x.index_code,
           (SELECT b.close FROM {_INDEX_DAILY} b
            WHERE b.index_code = x.index_code
              AND (b.trade_date < a.first_date OR (b.trade_date = a.first_date AND a.first_counts = 0))
              AND (a.first_booked IS NULL OR b.trade_date < a.first_booked)
            ORDER BY b.trade_date DESC LIMIT 1) AS base_close
    FROM started a
    CROSS JOIN (SELECT DISTINCT index_code FROM {_INDEX_DAILY}) x
),
measured AS (
    SELECT s.account_no, s.exchange, s.trade_date, s.time, s.twr_cumulative, s.index_code, i.close AS index_close,
           CAST(i.close AS {{float}}) / CAST(NULLIF(s.base_close, 0) AS {{float}}) - 1 AS index_cumulative
    FROM based s
    LEFT JOIN {_INDEX_DAILY} i ON i.index_code = s.index_code AND i.trade_date = s.trade_date
)
SELECT m.*, m.twr_cumulative - m.index_cumulative AS excess
FROM measured m""",
    # it reads account_returns_daily, and the ledger's first booking day (the first deposit's)
    requires=(*ACCOUNT_RETURNS_DAILY.requires, _INDEX_DAILY, "account_transactions"),
    computed={
        "twr_cumulative": Float(),
        "index_code": Text(),
        "index_close": Points,
        "index_cumulative": Float(),
        "excess": Float(),
    },
)
