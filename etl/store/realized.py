"""realized_sales: each sell line of the ledger at its moving-average cost (이동평균법), walked per account × stock from
the account's first close, which realized_pnl shows as it is (etl.read.views.realized states the convention).

The walk is a recursive CTE over an account's share lines; read whole on every query, it cost half a second for 20,000
lines, and a filter on one account did not reach inside the recursion. The table holds its sales, so that one
account's are read by the table's key. It is kept exact by every load that changes an input of an account's walk, in
that load's transaction, which computes the account's walk again whole and replaces its rows (`refresh`):

- a ledger load adding a share line, or a reclassification moving a line into or out of the share kinds;
- a snapshot load of a day that may move the account's anchor (no close of the account before it: its first close,
  which holds the opening quantities and costs) or that values a transfer without an amount booked that day (the
  snapshot's close prices it, etl.store.valuation): `refresh_days` asks that in one indexed query per account × day,
  and a snapshot of a later day with no such transfer (the common case) costs nothing more;
- a stock_daily load whose close values such a transfer on a day without a snapshot (`refresh_transfers`).

`rebuild` computes the whole table in one statement (migration 0018).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from functools import lru_cache

from sqlalchemy import Connection, Date, TextClause, bindparam, delete, text

from etl.store.dictionary import AVERAGE_SCALE
from etl.store.models import RealizedSale
from etl.store.valuation import TRANSFER_VALUE

# The kinds of line that move a stock's shares.
SHARE_KINDS = ("buy", "sell", "securities_in", "securities_out")
_SHARE_KINDS = ", ".join(f"'{kind}'" for kind in SHARE_KINDS)
_UNIT = 10**AVERAGE_SCALE


def share(cost: str, part: str, held: str) -> str:
    """cost × part / held in whole 원, rounded half up, for cost ≥ 0, part ≥ 0 and held > 0: the integer quotient
    times part, plus the remainder's part rounded (so no product exceeds 2 × held × part)."""
    return f"(({cost}) / ({held}) * ({part}) + (2 * (({cost}) % ({held})) * ({part}) + ({held})) / (2 * ({held})))"


# A sale or transfer out of e.quantity that the shares held before it (w.held) cover.
_COVERED = "w.held > 0 AND e.quantity <= w.held"
_TAKEN = share("w.cost", "e.quantity", "w.held")
_AVERAGE_UNITS = share("w.cost_before", str(_UNIT), "w.held_before")  # the average cost × 10⁴, rounded half up
# average_cost as an exact decimal: NUMERIC on PostgreSQL, its decimal text on SQLite (whose NUMERIC is a float).
_AVERAGE = {
    "postgresql": f"CAST(CAST({_AVERAGE_UNITS} AS NUMERIC) / {_UNIT} AS NUMERIC(24,{AVERAGE_SCALE}))",
    "sqlite": f"printf('%d.%0{AVERAGE_SCALE}d', {_AVERAGE_UNITS} / {_UNIT}, {_AVERAGE_UNITS} % {_UNIT})",
}
_OUT = "e.kind IN ('sell', 'securities_out')"
_COLUMNS = ", ".join(column.name for column in RealizedSale.__table__.columns)

# The walk of every account, or of one (`{only:alias}` filters an alias's account_no on :account_no, or is TRUE): its
# opening holdings from the first close, its share lines after that day, walked per stock in the order they were
# done, and its sales inserted. The walk carries each line's own columns, so that the sales are read from it alone.
_WALK = f"""WITH RECURSIVE
anchors AS (
    SELECT f.account_no, f.trade_date,
           CASE WHEN x.snapshot_id IS NOT NULL AND (k.snapshot_id IS NULL OR x.captured_at > k.captured_at)
                THEN x.snapshot_id ELSE k.snapshot_id END AS snapshot_id
    FROM (SELECT c.account_no, MIN(c.trade_date) AS trade_date FROM daily_closes c WHERE {{only:c}}
          GROUP BY c.account_no) f
    LEFT JOIN daily_closes k ON k.account_no = f.account_no AND k.exchange = 'KRX' AND k.trade_date = f.trade_date
    LEFT JOIN daily_closes x ON x.account_no = f.account_no AND x.exchange = 'NXT' AND x.trade_date = f.trade_date
),
moves AS (
    SELECT n.account_no, p.stock_code, MIN(p.stock_name) AS stock_name, n.trade_date, 0 AS line,
           n.trade_date AS settlement_date, '' AS transaction_no, '' AS original_transaction_no, 'opening' AS kind,
           CAST(SUM(COALESCE(p.quantity, 0)) AS BIGINT) AS quantity, CAST(SUM(p.purchase_amount) AS BIGINT) AS amount,
           CAST(0 AS BIGINT) AS commission, CAST(0 AS BIGINT) AS tax, CAST(NULL AS BIGINT) AS transaction_id
    FROM anchors n
    JOIN position_snapshots p ON p.snapshot_id = n.snapshot_id
    WHERE p.stock_code <> ''
    GROUP BY n.account_no, p.stock_code, n.trade_date
    HAVING SUM(COALESCE(p.quantity, 0)) > 0
    UNION ALL
    SELECT a.account_no, a.stock_code, a.stock_name, COALESCE(a.contract_date, a.settlement_date), 1,
           a.settlement_date, a.transaction_no, a.original_transaction_no, a.kind, CAST(a.quantity AS BIGINT),
           CASE WHEN a.kind IN ('securities_in', 'securities_out') THEN {TRANSFER_VALUE} ELSE a.trade_amount END,
           COALESCE(a.commission, 0), COALESCE(a.transaction_tax, 0) + COALESCE(a.income_tax, 0), a.id
    FROM account_transactions a
    LEFT JOIN anchors n ON n.account_no = a.account_no
    WHERE {{only:a}} AND a.kind IN ({_SHARE_KINDS}) AND a.stock_code <> ''
      AND a.quantity > 0 AND a.quantity = CAST(a.quantity AS BIGINT)
      AND (n.trade_date IS NULL OR COALESCE(a.contract_date, a.settlement_date) > n.trade_date)
),
numbered AS (
    SELECT m.*, ROW_NUMBER() OVER (PARTITION BY m.account_no, m.stock_code
                                   ORDER BY m.trade_date, m.line, m.settlement_date, m.transaction_no,
                                            m.original_transaction_no) AS step
    FROM moves m
),
walked (account_no, stock_code, step, held, cost, held_before, cost_before, cost_basis, kind, trade_date, stock_name,
        quantity, amount, commission, tax, transaction_id) AS (
    SELECT DISTINCT s.account_no, s.stock_code, CAST(0 AS BIGINT), CAST(0 AS BIGINT), CAST(0 AS BIGINT),
           CAST(0 AS BIGINT), CAST(0 AS BIGINT), CAST(NULL AS BIGINT), CAST('' AS TEXT), CAST(NULL AS DATE),
           CAST(NULL AS TEXT), CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), CAST(NULL AS BIGINT),
           CAST(NULL AS BIGINT)
    FROM numbered s
    UNION ALL
    SELECT w.account_no, w.stock_code, e.step,
           CASE WHEN {_OUT} THEN CASE WHEN {_COVERED} THEN w.held - e.quantity ELSE 0 END
                ELSE w.held + e.quantity END,
           CASE WHEN {_OUT} THEN CASE WHEN {_COVERED} AND e.quantity < w.held THEN w.cost - {_TAKEN} ELSE 0 END
                ELSE w.cost + e.amount END,
           w.held, w.cost,
           CASE WHEN e.kind = 'sell' AND {_COVERED} THEN {_TAKEN} END,
           e.kind, e.trade_date, e.stock_name, e.quantity, e.amount, e.commission, e.tax, e.transaction_id
    FROM walked w
    JOIN numbered e ON e.account_no = w.account_no AND e.stock_code = w.stock_code AND e.step = w.step + 1
)
INSERT INTO realized_sales ({_COLUMNS})
SELECT w.account_no, w.trade_date, w.stock_code, w.stock_name, w.quantity, w.amount, w.cost_basis,
       w.commission, w.tax, w.amount - w.cost_basis - w.commission - w.tax,
       CASE WHEN w.cost_basis IS NOT NULL THEN {{average_cost}} END, w.transaction_id
FROM walked w
WHERE w.kind = 'sell'"""


@lru_cache(maxsize=8)  # built once per dialect: a long text
def _walk(dialect: str, *, one: bool) -> TextClause:
    """The walk's INSERT for `dialect`, of one account (:account_no) or of every one."""
    out = _WALK.replace("{average_cost}", _AVERAGE[dialect]).replace("{closes}", "daily_closes")
    for alias in ("a", "c"):
        out = out.replace("{only:" + alias + "}", f"{alias}.account_no = :account_no" if one else "1 = 1")
    return text(out)


# Whether a close of `:trade_date` may have changed the account's walk: there is no close of the account before that
# day (it is the first close, the anchor) or a transfer without an amount is booked that day (the day's close may
# value it), and the account has a sale (else it has no row, whatever its walk: an account's first day, whose every
# snapshot moves the anchor, walks only once the ledger holds a sale). The first parts probe an index for one row
# (daily_closes' key per exchange: an account's are KRX and NXT, as account_snapshots' check says; the ledger's
# natural key), and a later day without such a transfer, the usual snapshot, stops there.
_TOUCHED = """SELECT 1 WHERE ((NOT EXISTS (SELECT 1 FROM daily_closes c WHERE c.account_no = :account_no
                                 AND c.exchange = 'KRX' AND c.trade_date < :trade_date)
                 AND NOT EXISTS (SELECT 1 FROM daily_closes c WHERE c.account_no = :account_no
                                 AND c.exchange = 'NXT' AND c.trade_date < :trade_date))
                OR EXISTS (SELECT 1 FROM account_transactions a WHERE a.account_no = :account_no
                           AND a.settlement_date = :trade_date AND a.kind IN ('securities_in', 'securities_out')
                           AND COALESCE(a.trade_amount, 0) = 0))
  AND EXISTS (SELECT 1 FROM account_transactions s WHERE s.account_no = :account_no AND s.kind = 'sell')"""
_TOUCHED_QUERY = text(_TOUCHED).bindparams(bindparam("trade_date", type_=Date()))

# The accounts with a transfer without an amount of one stock booked on one of some days (the lines a stock_daily
# close may value).
_TRANSFERS_OF = """SELECT DISTINCT a.account_no FROM account_transactions a
WHERE a.stock_code = :stock_code AND a.settlement_date IN :days AND a.kind IN ('securities_in', 'securities_out')
  AND COALESCE(a.trade_amount, 0) = 0"""
_TRANSFERS_QUERY = text(_TRANSFERS_OF).bindparams(bindparam("days", type_=Date(), expanding=True))

# A transaction-scoped lock per account on PostgreSQL, so that two loads of one account committing at once cannot
# each walk without the other's lines and then insert the same sales.
_PG_LOCK = text("SELECT pg_advisory_xact_lock(20261208, hashtext(CAST(:account_no AS text)))")


def refresh(connection: Connection, accounts: Iterable[str]) -> None:
    """Walk each account again whole and replace its rows. In the caller's transaction."""
    table = RealizedSale.__table__
    for account_no in sorted(set(accounts)):
        values = {"account_no": account_no}
        if connection.dialect.name == "postgresql":
            connection.execute(_PG_LOCK, values)
        connection.execute(delete(table).where(table.c.account_no == account_no))
        connection.execute(_walk(connection.dialect.name, one=True), values)


def refresh_days(connection: Connection, closes: Iterable[tuple[str, date]]) -> None:
    """Refresh the accounts whose walk a close of (account_no, trade_date), just written to daily_closes, may have
    changed: its first close (the anchor), or a day with a transfer without an amount. One indexed query per account
    × day. In the load's transaction, after daily_closes."""
    changed = [
        account_no
        for account_no, trade_date in sorted(set(closes))
        if connection.execute(_TOUCHED_QUERY, {"account_no": account_no, "trade_date": trade_date}).first()
    ]
    refresh(connection, changed)


def refresh_transfers(connection: Connection, stock_code: str, days: Iterable[date]) -> None:
    """Refresh the accounts with a transfer without an amount of `stock_code` booked on one of `days`, which a
    stock_daily close of that day may now value. In the caller's transaction, the one that loaded the closes."""
    days = sorted(set(days))
    if days:
        found = connection.execute(_TRANSFERS_QUERY, {"stock_code": stock_code, "days": days}).scalars()
        refresh(connection, found.all())


def rebuild(connection: Connection) -> None:
    """Empty realized_sales and fill it again: every account's walk, in one statement."""
    connection.execute(delete(RealizedSale.__table__))
    connection.execute(_walk(connection.dialect.name, one=False))
