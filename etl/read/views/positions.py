"""The position views: latest_positions (each pair's newest lines), position_daily (each close's stocks, their lines
summed) and position_changes (the stocks whose quantity moved from one close to the next), with their column docs.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Float, Integer, Text

from etl.read.views.view import CLOSE_ID, CLOSE_TIME, TIME, View, in_view
from etl.store.dictionary import (
    ACCOUNT_NO,
    BIGINT,
    CODE,
    COUNT,
    EXCHANGE,
    FLOAT,
    PERCENT,
    POSITION_SNAPSHOTS,
    SHARES,
    TEXT_TYPE,
    TRADE_DATE,
    Column,
    with_meaning,
)

WEIGHT_PCT = Column(
    "weight_pct",
    FLOAT,
    None,
    "비중",
    PERCENT,
    "100 × the line's evaluation_amount / its snapshot's total (NULL when that is 0); unrounded.",
)
QUANTITY_CHANGE = Column(
    "quantity_change",
    BIGINT,
    None,
    "수량변동",
    SHARES,
    "quantity − the quantity at the previous day's close (0 when not listed then); NULL on the first day.",
)
_STOCK_CODE, _STOCK_NAME = POSITION_SNAPSHOTS.column("stock_code"), POSITION_SNAPSHOTS.column("stock_name")


def _summed(name: str) -> Column:
    column = POSITION_SNAPSHOTS.column(name)
    return with_meaning(
        column, f"Sum over the stock's lines at the close: {column.meaning[0].lower()}{column.meaning[1:]}"
    )


# One snapshot per account × exchange: partitioned by the pair, so that a filter on it passes through the window.
LATEST_POSITIONS = View(
    "latest_positions",
    "최신 보유종목",
    "One row per line of each account × exchange's newest snapshot, with Grafana's time and its weight.",
    (*in_view(POSITION_SNAPSHOTS.columns), TIME, WEIGHT_PCT),
    """SELECT {columns:p:position_snapshots},
       {time:p.captured_at} AS time,
       CAST(COALESCE(p.evaluation_amount, 0) AS {float}) * 100
         / NULLIF(CAST(SUM(COALESCE(p.evaluation_amount, 0)) OVER (PARTITION BY p.account_no, p.exchange)
                       AS {float}), 0)
         AS weight_pct
FROM position_snapshots p
JOIN latest_accounts l ON l.id = p.snapshot_id AND l.account_no = p.account_no AND l.exchange = p.exchange""",
    computed={"weight_pct": Float()},
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
    "일별 보유종목",
    "One row per account × exchange × trade_date × stock listed at the day's close, its lines summed.",
    (
        ACCOUNT_NO,
        EXCHANGE,
        TRADE_DATE,
        CLOSE_ID,
        _STOCK_CODE,
        with_meaning(_STOCK_NAME, "The stock's name on its lowest line_no at the close."),
        Column("lines", BIGINT, None, "행수", COUNT, "Lines the stock has at the close (cash and credit)."),
        _summed("quantity"),
        _summed("purchase_amount"),
        _summed("evaluation_amount"),
        _summed("profit_loss"),
        with_meaning(POSITION_SNAPSHOTS.column("current_price"), "Current price on the stock's lowest line_no."),
        with_meaning(WEIGHT_PCT, "100 × the stock's evaluation_amount / the close's total (NULL when 0); unrounded."),
        CLOSE_TIME,
        QUANTITY_CHANGE,
    ),
    f"""SELECT g.account_no, g.exchange, g.trade_date, g.snapshot_id, g.stock_code, f.stock_name, g.lines,
       g.quantity, g.purchase_amount, g.evaluation_amount, g.profit_loss, f.current_price,
       CAST(g.evaluation_amount AS {{float}}) * 100
         / NULLIF(CAST(SUM(g.evaluation_amount) OVER (PARTITION BY g.account_no, g.exchange, g.trade_date)
                       AS {{float}}), 0) AS weight_pct,
       {{time:g.captured_at}} AS time,
       CASE WHEN g.previous_snapshot_id IS NOT NULL THEN g.quantity - g.previous_quantity END AS quantity_change
FROM {_STOCKS}
JOIN position_snapshots f ON f.snapshot_id = g.snapshot_id AND f.line_no = g.first_line""",
    computed={
        "snapshot_id": BigInteger(),
        "lines": Integer(),
        "weight_pct": Float(),
        "quantity_change": BigInteger(),
    },
)

# A stock whose summed quantity differs from the previous close's; one no longer listed is named as it was then.
POSITION_CHANGES = View(
    "position_changes",
    "보유종목 변동",
    "One row per stock whose summed quantity differs from the previous day's close, sold-out ones included.",
    (
        ACCOUNT_NO,
        EXCHANGE,
        TRADE_DATE,
        CLOSE_TIME,
        _STOCK_CODE,
        with_meaning(_STOCK_NAME, "The stock's name at the close, or at the previous one if it disappeared."),
        Column(
            "previous_quantity",
            BIGINT,
            None,
            "이전수량",
            SHARES,
            "Summed quantity at the previous day's close (0 when not listed then).",
        ),
        with_meaning(
            POSITION_SNAPSHOTS.column("quantity"), "Summed quantity at the day's close (0 when no longer listed)."
        ),
        with_meaning(QUANTITY_CHANGE, "quantity − previous_quantity."),
        Column("change", TEXT_TYPE, None, "변동구분", CODE, "opened (from 0), closed (to 0), increased or reduced."),
    ),
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
    computed={"previous_quantity": BigInteger(), "quantity_change": BigInteger(), "change": Text()},
)
