"""The analyst views (docs/data-dictionary.md, "Views"): their SQL on SQLite and PostgreSQL, and the one helper that
creates and drops them, for the migration that adds them and for any later one that alters a table they read.

The definitions are the contract's: a day's close is an account × exchange's last snapshot of a trade_date
(greatest captured_at, then greatest id), the previous day is its previous trade_date with a snapshot of the same
exchange, a NULL counts as 0 in every sum and change, and no view ever adds KRX and NXT rows together. The two
dialects differ only in how `time` is written (timestamptz; RFC 3339 text on SQLite, which Grafana's SQLite
plugin parses) and in the name of the floating-point type weights are computed in.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, Connection, Float, Integer, Text, column, table, text
from sqlalchemy.sql import TableClause

from etl.store.dictionary import RELATIONS, apply_comments
from etl.store.models import AccountSnapshot, EtlRun, PositionSnapshot
from etl.store.sqltypes import RfcTime, UtcDateTime

# On SQLite captured_at is UTC text 'YYYY-MM-DD HH:MM:SS.ffffff'; the padding keeps six digits if they are absent.
_TIME = {
    "postgresql": "{c}",
    "sqlite": "strftime('%Y-%m-%dT%H:%M:%S', {c}) || '.' || substr({c} || '.000000', 21, 6) || 'Z'",
}
_FLOAT = {"postgresql": "double precision", "sqlite": "REAL"}


@dataclass(frozen=True)
class View:
    """One analyst view: its name and its SELECT, written with {time:…} and {float} where the dialects differ."""

    name: str
    select: str

    @property
    def columns(self) -> tuple[str, ...]:
        """Its columns in order, as the data dictionary (the one list of them) describes them."""
        return tuple(column.name for column in RELATIONS[self.name].columns)

    def sql(self, dialect: str) -> str:
        """The SELECT for `dialect` (postgresql or sqlite)."""
        return _Dialect(dialect).render(self.select)

    def table(self) -> TableClause:
        """The view as a typed selectable: rates read as Decimal, times as aware UTC datetimes, on both backends."""
        return table(self.name, *(column(name, _type(name)) for name in self.columns))


class _Dialect:
    def __init__(self, name: str) -> None:
        if name not in _TIME:
            raise ValueError(f"no view definitions for the {name} dialect")
        self.name = name

    def render(self, template: str) -> str:
        out = template.replace("{float}", _FLOAT[self.name])
        while "{time:" in out:
            start = out.index("{time:")
            end = out.index("}", start)
            name = out[start + len("{time:") : end]
            out = out[:start] + _TIME[self.name].format(c=name) + out[end + 1 :]
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
    **dict.fromkeys(("last_captured_at", "last_success_at", "last_failure_at"), UtcDateTime()),
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
    c.name: c.type for model in (EtlRun, PositionSnapshot, AccountSnapshot) for c in model.__table__.columns
}


def _type(name: str) -> Any:
    return _COMPUTED.get(name) or _TABLE_TYPES[name]


_NET = "COALESCE(s.credit_loan_total, 0) - COALESCE(s.unpaid_credit_interest, 0)"
_GROSS = "COALESCE(s.deposit_d2, 0) + COALESCE(s.total_evaluation_amount, 0)"

# `s.*` rather than a column list: a view must not name a column a later revision adds (a fresh database runs this
# revision before that one); the migration adding it recreates the views, and they take it in.
ACCOUNT_HISTORY = View(
    "account_history",
    f"""SELECT s.*,
       {_GROSS} AS gross_assets,
       {_GROSS} - {_NET} AS net_assets,
       {{time:s.captured_at}} AS time
FROM account_snapshots s""",
)

LATEST_ACCOUNTS = View(
    "latest_accounts",
    """SELECT h.*
FROM account_history h
WHERE NOT EXISTS (SELECT 1 FROM account_snapshots n
                  WHERE n.account_no = h.account_no AND n.exchange = h.exchange
                    AND (n.captured_at > h.captured_at OR (n.captured_at = h.captured_at AND n.id > h.id)))""",
)

LATEST_POSITIONS = View(
    "latest_positions",
    """SELECT p.*,
       {time:p.captured_at} AS time,
       CAST(COALESCE(p.evaluation_amount, 0) AS {float}) * 100
         / NULLIF(CAST(SUM(COALESCE(p.evaluation_amount, 0)) OVER (PARTITION BY p.snapshot_id) AS {float}), 0)
         AS weight_pct
FROM position_snapshots p
JOIN latest_accounts l ON l.id = p.snapshot_id""",
)

ACCOUNT_DAILY = View(
    "account_daily",
    """SELECT c.account_no, c.exchange, c.trade_date, c.id AS snapshot_id, c.time, c.snapshots,
       c.deposit_d2, c.total_purchase_amount, c.total_evaluation_amount, c.total_profit_loss,
       c.total_profit_loss_rate, c.credit_loan_total, c.position_count, c.gross_assets, c.net_assets,
       CASE WHEN LAG(c.id) OVER day IS NOT NULL
            THEN c.net_assets - LAG(c.net_assets) OVER day END AS net_assets_change,
       CASE WHEN LAG(c.id) OVER day IS NOT NULL
            THEN COALESCE(c.total_evaluation_amount, 0) - COALESCE(LAG(c.total_evaluation_amount) OVER day, 0)
       END AS total_evaluation_amount_change,
       CASE WHEN LAG(c.id) OVER day IS NOT NULL
            THEN COALESCE(c.total_profit_loss, 0) - COALESCE(LAG(c.total_profit_loss) OVER day, 0)
       END AS total_profit_loss_change
FROM (SELECT h.*,
             ROW_NUMBER() OVER (PARTITION BY h.account_no, h.exchange, h.trade_date
                                ORDER BY h.captured_at DESC, h.id DESC) AS newest,
             COUNT(*) OVER (PARTITION BY h.account_no, h.exchange, h.trade_date) AS snapshots
      FROM account_history h) c
WHERE c.newest = 1
WINDOW day AS (PARTITION BY c.account_no, c.exchange ORDER BY c.trade_date)""",
)

# Each close's lines summed per stock (cash and credit lines together), with the previous day's close beside it.
# A stock is matched across days by its code, NULL matching NULL only: an empty code (kept as "") is another group.
POSITION_DAILY = View(
    "position_daily",
    """WITH days AS (
    SELECT d.account_no, d.exchange, d.trade_date, d.snapshot_id, d.time,
           LAG(d.snapshot_id) OVER (PARTITION BY d.account_no, d.exchange ORDER BY d.trade_date) AS previous_id
    FROM account_daily d
), stocks AS (
    SELECT p.snapshot_id, p.stock_code, COUNT(*) AS lines, MIN(p.line_no) AS first_line,
           CAST(SUM(COALESCE(p.quantity, 0)) AS BIGINT) AS quantity,
           CAST(SUM(COALESCE(p.purchase_amount, 0)) AS BIGINT) AS purchase_amount,
           CAST(SUM(COALESCE(p.evaluation_amount, 0)) AS BIGINT) AS evaluation_amount,
           CAST(SUM(COALESCE(p.profit_loss, 0)) AS BIGINT) AS profit_loss
    FROM position_snapshots p
    WHERE p.snapshot_id IN (SELECT snapshot_id FROM days)
    GROUP BY p.snapshot_id, p.stock_code
)
SELECT d.account_no, d.exchange, d.trade_date, d.snapshot_id, s.stock_code, f.stock_name, s.lines,
       s.quantity, s.purchase_amount, s.evaluation_amount, s.profit_loss, f.current_price,
       CAST(s.evaluation_amount AS {float}) * 100
         / NULLIF(CAST(SUM(s.evaluation_amount) OVER (PARTITION BY s.snapshot_id) AS {float}), 0) AS weight_pct,
       d.time,
       CASE WHEN d.previous_id IS NOT NULL THEN s.quantity - COALESCE(b.quantity, 0) END AS quantity_change
FROM days d
JOIN stocks s ON s.snapshot_id = d.snapshot_id
JOIN position_snapshots f ON f.snapshot_id = s.snapshot_id AND f.line_no = s.first_line
LEFT JOIN stocks b
  ON b.snapshot_id = d.previous_id
 AND (b.stock_code = s.stock_code OR (b.stock_code IS NULL AND s.stock_code IS NULL))""",
)

# A stock listed at a close whose quantity changed, and a stock listed the day before but no longer (closed).
POSITION_CHANGES = View(
    "position_changes",
    """WITH days AS (
    SELECT d.account_no, d.exchange, d.trade_date, d.time,
           LAG(d.trade_date) OVER (PARTITION BY d.account_no, d.exchange ORDER BY d.trade_date) AS previous_date
    FROM account_daily d
), moves AS (
    SELECT p.account_no, p.exchange, p.trade_date, p.time, p.stock_code, p.stock_name,
           p.quantity - p.quantity_change AS previous_quantity, p.quantity, p.quantity_change
    FROM position_daily p
    WHERE p.quantity_change <> 0
    UNION ALL
    SELECT d.account_no, d.exchange, d.trade_date, d.time, b.stock_code, b.stock_name,
           b.quantity, 0, -b.quantity
    FROM days d
    JOIN position_daily b
      ON b.account_no = d.account_no AND b.exchange = d.exchange AND b.trade_date = d.previous_date
    WHERE b.quantity <> 0
      AND NOT EXISTS (SELECT 1 FROM position_daily t
                      WHERE t.account_no = d.account_no AND t.exchange = d.exchange AND t.trade_date = d.trade_date
                        AND (t.stock_code = b.stock_code OR (t.stock_code IS NULL AND b.stock_code IS NULL)))
)
SELECT m.account_no, m.exchange, m.trade_date, m.time, m.stock_code, m.stock_name,
       m.previous_quantity, m.quantity, m.quantity_change,
       CASE WHEN m.previous_quantity = 0 THEN 'opened'
            WHEN m.quantity = 0 THEN 'closed'
            WHEN m.quantity_change > 0 THEN 'increased'
            ELSE 'reduced' END AS change
FROM moves m""",
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
       (SELECT MAX(s.captured_at) FROM account_snapshots s
        WHERE s.account_no = p.account_no AND s.exchange = p.exchange) AS last_captured_at,
       p.last_success_at, p.last_failure_at,
       (SELECT f.error FROM etl_runs f
        WHERE f.account_no = p.account_no AND f.exchange = p.exchange AND f.status = 'failed'
        ORDER BY f.started_at DESC, f.id DESC LIMIT 1) AS last_error,
       (SELECT COUNT(*) FROM etl_runs f
        WHERE f.account_no = p.account_no AND f.exchange = p.exchange AND f.status = 'failed'
          AND (p.last_success_at IS NULL OR f.started_at > p.last_success_at)) AS failures_since_success
FROM pairs p""",
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
)
VIEW_NAMES = tuple(view.name for view in VIEWS)


def create_views(connection: Connection) -> None:
    """Create every analyst view (after the tables they read exist), with its comments on PostgreSQL."""
    dialect = connection.dialect.name
    for view in VIEWS:
        connection.execute(text(f"CREATE VIEW {view.name} AS\n{view.sql(dialect)}"))
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
