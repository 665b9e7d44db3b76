"""The analyst views (docs/data-dictionary.md, "Views"): their SQL on SQLite and PostgreSQL, and the one helper that
creates and drops them, for the migration that adds them and for any later one that alters a table they read.

The definitions are the contract's: a day's close is an account × exchange's last snapshot of a trade_date
(greatest captured_at, then greatest id), the previous day is its previous trade_date with a snapshot of the same
exchange, a NULL counts as 0 in every sum and change, and no view ever adds KRX and NXT rows together. The closes
and previous days are read from daily_closes (etl.store.closes), so that a filter on an account and a day reaches
an index on years of history. The two
dialects differ only in how `time` is written (timestamptz; RFC 3339 text on SQLite, which Grafana's SQLite
plugin parses) and in the name of the floating-point type weights are computed in.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, Connection, Float, Integer, Text, column, inspect, table, text
from sqlalchemy.sql import TableClause

from etl.store.closes import CLOSES_SELECT
from etl.store.dictionary import CHECKED_TOTALS, RELATIONS, apply_comments
from etl.store.models import AccountDayTotals, AccountSnapshot, Base, EtlRun, PositionSnapshot
from etl.store.sqltypes import RfcTime, UtcDateTime

# On SQLite captured_at is UTC text 'YYYY-MM-DD HH:MM:SS.ffffff'; the padding keeps six digits if they are absent.
_TIME = {
    "postgresql": "{c}",
    "sqlite": "strftime('%Y-%m-%dT%H:%M:%S', {c}) || '.' || substr({c} || '.000000', 21, 6) || 'Z'",
}
_FLOAT = {"postgresql": "double precision", "sqlite": "REAL"}
# `time` of a day without a snapshot (an estimate's): 15:30 KST, the KRX close, of the date {c}, as `time` is written.
_CLOSE_OF = {
    "postgresql": "((CAST({c} AS timestamp) + INTERVAL '6 hours 30 minutes') AT TIME ZONE 'UTC')",
    "sqlite": "({c} || 'T06:30:00.000000Z')",
}
# The CTE grown(account_no, exchange, day_no, growth, peak) of account_returns_daily, from rated's daily_return (a
# NULL counts as 0). SQLite walks the days recursively, carrying the product and its peak (its logarithms are an
# optional build that other readers of the file may lack; its automatic index keeps each step a lookup). PostgreSQL
# has no such index for a recursive step, which would rescan every day for each one (quadratic in the history), so
# it takes the product in one window pass as sign × exp(Σ ln |factor|), 0 once a factor is 0: the same figure to
# within floating-point rounding.
_GROWTH = {
    "sqlite": """grown (account_no, exchange, day_no, growth, peak) AS (
    SELECT r.account_no, r.exchange, r.day_no, CAST(1 AS REAL), CAST(1 AS REAL)
    FROM rated r
    WHERE r.day_no = 1
    UNION ALL
    SELECT r.account_no, r.exchange, r.day_no, w.growth * (1 + COALESCE(r.daily_return, 0)),
           CASE WHEN w.growth * (1 + COALESCE(r.daily_return, 0)) > w.peak
                THEN w.growth * (1 + COALESCE(r.daily_return, 0)) ELSE w.peak END
    FROM grown w
    JOIN rated r ON r.account_no = w.account_no AND r.exchange = w.exchange AND r.day_no = w.day_no + 1
)""",
    "postgresql": """factored AS (
    SELECT r.account_no, r.exchange, r.day_no, 1 + COALESCE(r.daily_return, 0) AS factor
    FROM rated r
),
multiplied AS (
    SELECT f.account_no, f.exchange, f.day_no,
           CASE WHEN MIN(ABS(f.factor)) OVER w = 0 THEN 0
                ELSE (1 - 2 * (SUM(CASE WHEN f.factor < 0 THEN 1 ELSE 0 END) OVER w % 2))
                     * EXP(SUM(LN(ABS(NULLIF(f.factor, 0)))) OVER w) END AS growth
    FROM factored f
    WINDOW w AS (PARTITION BY f.account_no, f.exchange ORDER BY f.day_no ROWS UNBOUNDED PRECEDING)
),
grown AS (
    SELECT m.account_no, m.exchange, m.day_no, m.growth,
           MAX(m.growth) OVER (PARTITION BY m.account_no, m.exchange ORDER BY m.day_no ROWS UNBOUNDED PRECEDING)
             AS peak
    FROM multiplied m
)""",
}


@dataclass(frozen=True)
class View:
    """One analyst view: its name and its SELECT, written with {time:…}, {close_of:…}, {float} and {growth} where
    the dialects differ, and {columns:alias:table} for every column a table has (each time as `time` is written)."""

    name: str
    select: str
    requires: tuple[str, ...] = ()  # tables a revision may not have yet (a fresh database runs 0005 first)

    @property
    def columns(self) -> tuple[str, ...]:
        """Its columns in order, as the data dictionary (the one list of them) describes them."""
        return tuple(column.name for column in RELATIONS[self.name].columns)

    def sql(self, dialect: str, columns: Mapping[str, Sequence[str]], closes: str = "daily_closes") -> str:
        """The SELECT for `dialect` (postgresql or sqlite), reading the days' closes from `closes`; `columns` names
        the columns each table has in the database (a later revision may add some)."""
        return _Dialect(dialect).render(_every_column(self.select, columns).replace("{closes}", closes))

    def table(self) -> TableClause:
        """The view as a typed selectable: rates read as Decimal, times as aware UTC datetimes, on both backends."""
        return table(self.name, *(column(name, _type(name)) for name in self.columns))


def _every_column(template: str, columns: Mapping[str, Sequence[str]]) -> str:
    """{columns:alias:table} written out: the table's columns, a time column as `time` is (RFC 3339 on SQLite)."""
    while "{columns:" in template:
        start = template.index("{columns:")
        end = template.index("}", start)
        alias, name = template[start + len("{columns:") : end].split(":")
        model = Base.metadata.tables[name].columns
        listed = ", ".join(
            f"{{time:{alias}.{c}}} AS {c}" if c in model and isinstance(model[c].type, UtcDateTime) else f"{alias}.{c}"
            for c in columns[name]
        )
        template = template[:start] + listed + template[end + 1 :]
    return template


class _Dialect:
    def __init__(self, name: str) -> None:
        if name not in _TIME:
            raise ValueError(f"no view definitions for the {name} dialect")
        self.name = name

    def render(self, template: str) -> str:
        out = template.replace("{float}", _FLOAT[self.name]).replace("{growth}", _GROWTH[self.name])
        for name, forms in (("time", _TIME), ("close_of", _CLOSE_OF)):
            while "{" + name + ":" in out:
                start = out.index("{" + name + ":")
                end = out.index("}", start)
                argument = out[start + len(name) + 2 : end]
                out = out[:start] + forms[self.name].format(c=argument) + out[end + 1 :]
        return out


# The types of the columns a view computes; the others are read with their table's type.
_COMPUTED: dict[str, Any] = {
    "time": RfcTime(),
    "weight_pct": Float(),
    "change": Text(),
    "snapshot_id": BigInteger(),
    "snapshots": Integer(),
    "lines": Integer(),
    "failures_since_success": Integer(),
    "last_error": Text(),
    "ledger_lines": Integer(),
    "mismatches": Text(),
    "result": Text(),
    "source": Text(),
    "unvalued_transfers": Integer(),
    **dict.fromkeys(("daily_return", "twr_cumulative", "drawdown"), Float()),
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
            "collateral_loans",
            "equity",
        ),
        BigInteger(),
    ),
    **{f"ledger_{name}": BigInteger() for name, _ in CHECKED_TOTALS},
    **dict.fromkeys(("last_captured_at", "last_success_at", "last_failure_at"), RfcTime()),
    **dict.fromkeys(
        (
            "gross_assets",
            "net_assets",
            "net_assets_change",
            "total_evaluation_amount_change",
            "total_profit_loss_change",
            "previous_quantity",
            "quantity_change",
        ),
        BigInteger(),
    ),
}
_TABLE_TYPES: dict[str, Any] = {
    c.name: c.type
    for model in (AccountDayTotals, EtlRun, PositionSnapshot, AccountSnapshot)
    for c in model.__table__.columns
}


def _type(name: str) -> Any:
    found = _COMPUTED.get(name) or _TABLE_TYPES[name]
    return RfcTime() if isinstance(found, UtcDateTime) else found  # a view writes every time as `time` is


_NET = "COALESCE(s.credit_loan_total, 0) - COALESCE(s.unpaid_credit_interest, 0)"
_GROSS = "COALESCE(s.deposit_d2, 0) + COALESCE(s.total_evaluation_amount, 0)"

# Every column the table has when the view is created, not a fixed list: a view must not name a column a later
# revision adds (a fresh database runs this revision before that one); the migration adding it recreates the views,
# and they take it in.
ACCOUNT_HISTORY = View(
    "account_history",
    f"""SELECT {{columns:s:account_snapshots}},
       {_GROSS} AS gross_assets,
       {_GROSS} - {_NET} AS net_assets,
       {{time:s.captured_at}} AS time
FROM account_snapshots s""",
)

# The newest snapshot of a pair is the close of its newest trade_date (trade_date follows captured_at). The joins
# also equate the pair's columns, true by construction, so that a filter on one side reaches the others' indexes.
LATEST_ACCOUNTS = View(
    "latest_accounts",
    """SELECT h.*
FROM (SELECT n.account_no, n.exchange, MAX(n.trade_date) AS trade_date
      FROM {closes} n
      GROUP BY n.account_no, n.exchange) m
JOIN {closes} d ON d.account_no = m.account_no AND d.exchange = m.exchange AND d.trade_date = m.trade_date
JOIN account_history h ON h.id = d.snapshot_id AND h.account_no = d.account_no AND h.exchange = d.exchange""",
)

# One snapshot per account × exchange: partitioned by the pair, so that a filter on it passes through the window.
LATEST_POSITIONS = View(
    "latest_positions",
    """SELECT {columns:p:position_snapshots},
       {time:p.captured_at} AS time,
       CAST(COALESCE(p.evaluation_amount, 0) AS {float}) * 100
         / NULLIF(CAST(SUM(COALESCE(p.evaluation_amount, 0)) OVER (PARTITION BY p.account_no, p.exchange)
                       AS {float}), 0)
         AS weight_pct
FROM position_snapshots p
JOIN latest_accounts l ON l.id = p.snapshot_id AND l.account_no = p.account_no AND l.exchange = p.exchange""",
)

# net_assets of the snapshot aliased {s}: the day's close (s) or the previous day's (b).
_NET_AT = (
    "COALESCE({s}.deposit_d2, 0) + COALESCE({s}.total_evaluation_amount, 0)"
    " - COALESCE({s}.credit_loan_total, 0) - COALESCE({s}.unpaid_credit_interest, 0)"
)

ACCOUNT_DAILY = View(
    "account_daily",
    f"""SELECT d.account_no, d.exchange, d.trade_date, d.snapshot_id, {{time:d.captured_at}} AS time,
       CAST(d.snapshots AS BIGINT) AS snapshots,
       s.deposit_d2, s.total_purchase_amount, s.total_evaluation_amount, s.total_profit_loss,
       s.total_profit_loss_rate, s.credit_loan_total, s.position_count,
       {_GROSS} AS gross_assets,
       {_GROSS} - {_NET} AS net_assets,
       CASE WHEN d.previous_snapshot_id IS NOT NULL
            THEN ({_NET_AT.format(s="s")}) - ({_NET_AT.format(s="b")}) END AS net_assets_change,
       CASE WHEN d.previous_snapshot_id IS NOT NULL
            THEN COALESCE(s.total_evaluation_amount, 0) - COALESCE(b.total_evaluation_amount, 0)
       END AS total_evaluation_amount_change,
       CASE WHEN d.previous_snapshot_id IS NOT NULL
            THEN COALESCE(s.total_profit_loss, 0) - COALESCE(b.total_profit_loss, 0)
       END AS total_profit_loss_change
FROM {{closes}} d
JOIN account_snapshots s ON s.id = d.snapshot_id AND s.account_no = d.account_no AND s.exchange = d.exchange
LEFT JOIN account_snapshots b
  ON b.id = d.previous_snapshot_id AND b.account_no = d.account_no AND b.exchange = d.exchange""",
)


def _at(side: str, figure: str) -> str:
    """The sum of `figure` over a stock's lines at the close (side "close") or at the previous close (side "before")."""
    value = f"COALESCE(p.{figure}, 0)"
    then, other = (value, "0") if side == "close" else ("0", value)
    return f"CAST(SUM(CASE WHEN p.snapshot_id = d.snapshot_id THEN {then} ELSE {other} END) AS BIGINT)"


# Each close's lines and the previous close's, summed per stock (cash and credit lines together) in one pass: a
# stock is matched across days by its code, NULL matching NULL only (an empty code, kept as "", is another group).
# Grouped by the day's key, so that a filter on account_no, exchange and trade_date reaches daily_closes' key and
# position_snapshots' (snapshot_id, line_no) index, for the day and its previous day alike.
_STOCKS = f"""(SELECT d.account_no, d.exchange, d.trade_date, d.snapshot_id, d.previous_snapshot_id, d.captured_at,
        p.stock_code,
        SUM(CASE WHEN p.snapshot_id = d.snapshot_id THEN 1 ELSE 0 END) AS lines,
        MIN(CASE WHEN p.snapshot_id = d.snapshot_id THEN p.line_no END) AS first_line,
        MIN(CASE WHEN p.snapshot_id = d.snapshot_id THEN NULL ELSE p.line_no END) AS previous_first_line,
        {_at("close", "quantity")} AS quantity,
        {_at("before", "quantity")} AS previous_quantity,
        {_at("close", "purchase_amount")} AS purchase_amount,
        {_at("close", "evaluation_amount")} AS evaluation_amount,
        {_at("close", "profit_loss")} AS profit_loss
 FROM {{closes}} d
 JOIN position_snapshots p ON p.snapshot_id = d.snapshot_id OR p.snapshot_id = d.previous_snapshot_id
 GROUP BY d.account_no, d.exchange, d.trade_date, d.snapshot_id, d.previous_snapshot_id, d.captured_at,
          p.stock_code) g"""

# The weight's window is partitioned by the day's key (one close a day), so that the filter passes through it.
POSITION_DAILY = View(
    "position_daily",
    f"""SELECT g.account_no, g.exchange, g.trade_date, g.snapshot_id, g.stock_code, f.stock_name, g.lines,
       g.quantity, g.purchase_amount, g.evaluation_amount, g.profit_loss, f.current_price,
       CAST(g.evaluation_amount AS {{float}}) * 100
         / NULLIF(CAST(SUM(g.evaluation_amount) OVER (PARTITION BY g.account_no, g.exchange, g.trade_date)
                       AS {{float}}), 0) AS weight_pct,
       {{time:g.captured_at}} AS time,
       CASE WHEN g.previous_snapshot_id IS NOT NULL THEN g.quantity - g.previous_quantity END AS quantity_change
FROM {_STOCKS}
JOIN position_snapshots f ON f.snapshot_id = g.snapshot_id AND f.line_no = g.first_line""",
)

# A stock whose summed quantity differs from the previous close's; one no longer listed is named as it was then.
POSITION_CHANGES = View(
    "position_changes",
    f"""SELECT g.account_no, g.exchange, g.trade_date, {{time:g.captured_at}} AS time, g.stock_code, f.stock_name,
       g.previous_quantity, g.quantity, g.quantity - g.previous_quantity AS quantity_change,
       CASE WHEN g.previous_quantity = 0 THEN 'opened'
            WHEN g.quantity = 0 THEN 'closed'
            WHEN g.quantity > g.previous_quantity THEN 'increased'
            ELSE 'reduced' END AS change
FROM {_STOCKS}
JOIN position_snapshots f
  ON f.snapshot_id = CASE WHEN g.first_line IS NULL THEN g.previous_snapshot_id ELSE g.snapshot_id END
 AND f.line_no = COALESCE(g.first_line, g.previous_first_line)
WHERE g.previous_snapshot_id IS NOT NULL AND g.quantity <> g.previous_quantity""",
)

ETL_FRESHNESS = View(
    "etl_freshness",
    """WITH pairs AS (
    SELECT r.account_no, r.exchange,
           MAX(CASE WHEN r.status = 'success' THEN r.started_at END) AS last_success_at,
           MAX(CASE WHEN r.status = 'failed' THEN r.started_at END) AS last_failure_at
    FROM etl_runs r
    WHERE r.account_no IS NOT NULL AND r.exchange IS NOT NULL
    GROUP BY r.account_no, r.exchange
)
SELECT p.account_no, p.exchange,
       {time:(SELECT MAX(s.captured_at) FROM account_snapshots s
        WHERE s.account_no = p.account_no AND s.exchange = p.exchange)} AS last_captured_at,
       {time:p.last_success_at} AS last_success_at, {time:p.last_failure_at} AS last_failure_at,
       (SELECT f.error FROM etl_runs f
        WHERE f.account_no = p.account_no AND f.exchange = p.exchange AND f.status = 'failed'
        ORDER BY f.started_at DESC, f.id DESC LIMIT 1) AS last_error,
       (SELECT COUNT(*) FROM etl_runs f
        WHERE f.account_no = p.account_no AND f.exchange = p.exchange AND f.status = 'failed'
          AND (p.last_success_at IS NULL OR f.started_at > p.last_success_at)) AS failures_since_success
FROM pairs p""",
)

# What each of CHECKED_TOTALS is held to: a sum over the ledger lines booked on the day.
_LEDGER_SUMS = {
    "deposits": "CASE WHEN a.kind = 'deposit' THEN COALESCE(a.trade_amount, 0) ELSE 0 END",
    "withdrawals": "CASE WHEN a.kind = 'withdrawal' THEN COALESCE(a.trade_amount, 0) ELSE 0 END",
    "buy_amount": "CASE WHEN a.kind = 'buy' THEN COALESCE(a.trade_amount, 0) ELSE 0 END",
    "sell_amount": "CASE WHEN a.kind = 'sell' THEN COALESCE(a.trade_amount, 0) ELSE 0 END",
    "dividends": "CASE WHEN a.kind = 'dividend' THEN COALESCE(a.trade_amount, 0) ELSE 0 END",
    "commission": "COALESCE(a.commission, 0)",
    "tax": "COALESCE(a.transaction_tax, 0) + COALESCE(a.income_tax, 0)",
}
assert list(_LEDGER_SUMS) == [name for name, _ in CHECKED_TOTALS]
_DIFFERS = {name: f"COALESCE(t.{name}, 0) <> COALESCE(l.{name}, 0)" for name in _LEDGER_SUMS}
_PAIRS = ",\n       ".join(f"t.{name}, COALESCE(l.{name}, 0) AS ledger_{name}" for name in _LEDGER_SUMS)
_MISMATCHES = "\n         || ".join(f"CASE WHEN {test} THEN ', {name}' ELSE '' END" for name, test in _DIFFERS.items())
_ANY_DIFFERS = "\n              OR ".join(_DIFFERS.values())
_SUMS = ",\n            ".join(f"CAST(SUM({sql}) AS BIGINT) AS {name}" for name, sql in _LEDGER_SUMS.items())

# SUM of a BIGINT is NUMERIC on PostgreSQL: cast back, so that both backends give integers.
LEDGER_CHECKS = View(
    "ledger_checks",
    f"""SELECT t.account_no, t.trade_date, {{time:t.captured_at}} AS captured_at, COALESCE(l.lines, 0) AS ledger_lines,
       {_PAIRS},
       NULLIF(SUBSTR({_MISMATCHES}, 3), '') AS mismatches,
       CASE WHEN {_ANY_DIFFERS}
            THEN 'disagrees' ELSE 'agrees' END AS result
FROM account_day_totals t
LEFT JOIN (SELECT a.account_no, a.settlement_date, COUNT(*) AS lines,
            {_SUMS}
     FROM account_transactions a
     GROUP BY a.account_no, a.settlement_date) l
  ON l.account_no = t.account_no AND l.settlement_date = t.trade_date""",
    requires=("account_day_totals", "account_transactions"),
)


def _close_price(exchange: str) -> str:
    """The current_price of the line's stock at the account's `exchange` close of its booking day."""
    return f"""(SELECT MAX(p.current_price) FROM {{closes}} d
            JOIN position_snapshots p ON p.snapshot_id = d.snapshot_id
            WHERE d.account_no = a.account_no AND d.exchange = '{exchange}' AND d.trade_date = a.settlement_date
              AND p.stock_code = a.stock_code)"""


# A transfer's value: its amount, else its quantity at the day's close (KRX's, else NXT's; NULL when neither lists
# the stock). The price is looked up for a transfer without an amount only.
_TRANSFER_VALUE = f"""CASE WHEN COALESCE(a.trade_amount, 0) <> 0 THEN a.trade_amount
            WHEN a.kind IN ('securities_in', 'securities_out')
            THEN CAST(ROUND(a.quantity * COALESCE({_close_price("KRX")}, {_close_price("NXT")})) AS BIGINT)
            ELSE 0 END"""


def _sum_of(kind: str, value: str = "v.amount") -> str:
    return f"CAST(SUM(CASE WHEN v.kind = '{kind}' THEN {value} ELSE 0 END) AS BIGINT)"


ACCOUNT_FLOWS_DAILY = View(
    "account_flows_daily",
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
                   {_TRANSFER_VALUE} AS value
            FROM account_transactions a) v
      GROUP BY v.account_no, v.settlement_date) g""",
    requires=("account_transactions",),
)

# The days with a value — each close, and on KRX a kt00002 estimate for a day without one (estimates fill the KRX
# series only) — numbered per account × exchange; each takes the flows booked after the previous one up to itself.
# The cumulative index (growth) is a running product of 1 + daily_return, which SQL has no aggregate for; see
# _GROWTH for how each dialect computes it and its running peak.
ACCOUNT_RETURNS_DAILY = View(
    "account_returns_daily",
    """WITH RECURSIVE
valued AS (
    SELECT d.account_no, d.exchange, d.trade_date, d.time, 'snapshot' AS source, d.net_assets,
           COALESCE(s.deposit_collateral_loan_amount, 0) + COALESCE(s.sale_collateral_loan_amount, 0)
             AS collateral_loans
    FROM account_daily d
    JOIN account_snapshots s ON s.id = d.snapshot_id AND s.account_no = d.account_no AND s.exchange = d.exchange
    UNION ALL
    SELECT e.account_no, 'KRX', e.trade_date, {close_of:e.trade_date}, 'estimate',
           COALESCE(e.estimated_assets, 0) - COALESCE(e.credit_loan, 0), COALESCE(e.collateral_loan, 0)
    FROM account_daily_estimates e
    WHERE NOT EXISTS (SELECT 1 FROM {closes} c
                      WHERE c.account_no = e.account_no AND c.exchange = 'KRX' AND c.trade_date = e.trade_date)
),
numbered AS (
    SELECT n.*, n.net_assets - n.collateral_loans AS equity,
           ROW_NUMBER() OVER w AS day_no,
           LAG(n.trade_date) OVER w AS previous_date,
           LAG(n.net_assets - n.collateral_loans) OVER w AS previous_equity
    FROM valued n
    WINDOW w AS (PARTITION BY n.account_no, n.exchange ORDER BY n.trade_date)
),
flowed AS (
    SELECT y.account_no, y.exchange, y.trade_date, y.time, y.source, y.net_assets, y.collateral_loans, y.equity,
           y.day_no, y.previous_equity,
           CAST(COALESCE(SUM(f.external_flow), 0) AS BIGINT) AS external_flow,
           CAST(COALESCE(SUM(f.dividends), 0) AS BIGINT) AS dividends
    FROM numbered y
    LEFT JOIN account_flows_daily f
      ON f.account_no = y.account_no AND f.trade_date <= y.trade_date
     AND (y.previous_date IS NULL OR f.trade_date > y.previous_date)
    GROUP BY y.account_no, y.exchange, y.trade_date, y.time, y.source, y.net_assets, y.collateral_loans, y.equity,
             y.day_no, y.previous_equity
),
rated AS (
    SELECT g.*,
           CASE WHEN g.previous_equity > 0
                THEN CAST(g.equity - g.external_flow AS {float}) / g.previous_equity - 1 END AS daily_return
    FROM flowed g
),
{growth}
SELECT r.account_no, r.exchange, r.trade_date, r.time, r.source, r.net_assets, r.collateral_loans, r.equity,
       r.external_flow, r.dividends, r.daily_return, w.growth - 1 AS twr_cumulative, w.growth / w.peak - 1 AS drawdown
FROM rated r
JOIN grown w ON w.account_no = r.account_no AND w.exchange = r.exchange AND w.day_no = r.day_no""",
    requires=("account_transactions", "account_daily_estimates"),
)

# In creation order: each view reads only tables and the views before it.
VIEWS: tuple[View, ...] = (
    ACCOUNT_HISTORY,
    LATEST_ACCOUNTS,
    LATEST_POSITIONS,
    ACCOUNT_DAILY,
    POSITION_DAILY,
    POSITION_CHANGES,
    ETL_FRESHNESS,
    LEDGER_CHECKS,
    ACCOUNT_FLOWS_DAILY,
    ACCOUNT_RETURNS_DAILY,
)
VIEW_NAMES = tuple(view.name for view in VIEWS)
_LISTED = ("account_snapshots", "position_snapshots")  # the tables views take every column of


def create_views(connection: Connection) -> None:
    """Create every analyst view whose tables exist, with its comments on PostgreSQL."""
    dialect = connection.dialect.name
    # Before migration 0007 (a fresh database runs 0005 first) the closes are computed where they are read.
    inspector = inspect(connection)
    tables = set(inspector.get_table_names())
    closes = "daily_closes" if "daily_closes" in tables else f"({CLOSES_SELECT})"
    columns = {name: [c["name"] for c in inspector.get_columns(name)] for name in _LISTED}
    for view in VIEWS:
        if tables.issuperset(view.requires):  # else the revision that adds its tables creates it
            connection.execute(text(f"CREATE VIEW {view.name} AS\n{view.sql(dialect, columns, closes)}"))
    apply_comments(connection, VIEW_NAMES)  # a dropped view lost its comments


def drop_views(connection: Connection) -> None:
    """Drop every analyst view that exists, dependants first."""
    for view in reversed(VIEWS):
        connection.execute(text(f"DROP VIEW IF EXISTS {view.name}"))


@contextmanager
def views_set_aside(connection: Connection) -> Iterator[None]:
    """For a migration that alters a table a view reads: the views are dropped before and created again after.

    SQLite's batch mode rebuilds a table by copy and rename, which a view reading it would not survive, and
    PostgreSQL refuses to alter a column a view depends on; created again, the views take in a new column.
    """
    drop_views(connection)
    yield
    create_views(connection)
