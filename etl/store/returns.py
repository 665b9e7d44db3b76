"""daily_returns: each account × exchange × day with a value, its equity, the external flow since the previous such
day, and the time-weighted return chained from the first day (the index, its running peak, the drawdown), derived
from daily_closes, account_snapshots, account_daily_estimates and the account_flows_daily view.

account_returns_daily reads it, so that one account's year is read by the table's key instead of chaining every day
of every account. It is kept exact by `refresh`, which every load that changes an input calls in its own
transaction: a snapshot (its day's close, and the close prices its day's transfers are valued at), a ledger line or
a reclassified one (the flows of its booking day), an estimate (a KRX day without a snapshot). An account's rows from
the earliest day changed on are computed again from the newest row before it, which no change touched; `rebuild`
computes the whole table (migration 0016). A later input, a stock's daily close (stock_daily) that values a transfer
on a day without a snapshot, needs only a `refresh` of the accounts it values, from its day (`refresh_transfers`).

On PostgreSQL the figures are Decimals (NUMERIC), each rounded to the column's 18 decimals as it is computed, so that
a refresh continuing from a stored row and a rebuild from the first day agree to the last digit. SQLite has no exact
decimal type: there they are binary floats (REAL) computed step by step exactly as account_returns_daily computed
them before the table, so that its figures are the same to the last bit.

The flows count at the end of their day: a day's return is (equity − external_flow) / the previous equity − 1. An
account's first day with a value has no previous equity; when the account was empty before it (its first ledger day
has a deposit whose cash after it is its amount: nothing was there before), the flows booked up to that day count
from the start of it, so that the day's return is equity / external_flow − 1 and not lost.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal, localcontext
from typing import Any

from sqlalchemy import Connection, Date, Dialect, Table, bindparam, delete, insert, text

from etl.clock import KST
from etl.store.models import DailyReturn
from etl.store.sqltypes import UtcDateTime

SCALE = 18  # decimals of the NUMERIC columns
_QUANTUM = Decimal(1).scaleb(-SCALE)
_ONE = {True: Decimal(1), False: 1.0}  # the index before any return: exact (PostgreSQL) or float (SQLite)
_KRX_CLOSE = time(15, 30)  # an estimate's day is valued at the KRX close

# Each day with a value: every close, and on KRX a kt00002 estimate for a day without one (estimates fill the KRX
# series only): one account's, from a day on.
_VALUED = """SELECT d.account_no, d.exchange, d.trade_date, d.captured_at, 'snapshot' AS source,
       COALESCE(s.deposit_d2, 0) + COALESCE(s.total_evaluation_amount, 0) - COALESCE(s.credit_loan_total, 0)
         - COALESCE(s.unpaid_credit_interest, 0) AS net_assets,
       COALESCE(s.deposit_collateral_loan_amount, 0) + COALESCE(s.sale_collateral_loan_amount, 0) AS collateral_loans
FROM daily_closes d
JOIN account_snapshots s ON s.id = d.snapshot_id AND s.account_no = d.account_no AND s.exchange = d.exchange
WHERE d.account_no = :account_no AND d.trade_date >= :since
UNION ALL
SELECT e.account_no, 'KRX', e.trade_date, NULL, 'estimate',
       COALESCE(e.estimated_assets, 0) - COALESCE(e.credit_loan, 0), COALESCE(e.collateral_loan, 0)
FROM account_daily_estimates e
WHERE e.account_no = :account_no AND e.trade_date >= :since AND NOT EXISTS (SELECT 1 FROM daily_closes c
                  WHERE c.account_no = e.account_no AND c.exchange = 'KRX' AND c.trade_date = e.trade_date)
ORDER BY 2, 3"""

# Whether the account's first booking day has a deposit that found the cash at 0: it was empty before its first flows.
_EMPTY_AT_START = """SELECT 1 FROM account_transactions a
WHERE a.account_no = :account_no AND a.kind = 'deposit' AND a.cash_balance = a.trade_amount
  AND a.settlement_date = (SELECT MIN(b.settlement_date) FROM account_transactions b
                           WHERE b.account_no = :account_no)"""

# The account's flows after a day (the view's account and day filters reach account_transactions' natural key).
_FLOWS = """SELECT f.trade_date, f.external_flow, f.dividends FROM account_flows_daily f
WHERE f.account_no = :account_no AND f.trade_date > :after ORDER BY f.trade_date"""

# Each exchange's newest row before a day (an account's exchanges are KRX and NXT: account_snapshots' check), by the
# key, in one round trip.
_NEWEST_BEFORE = " UNION ALL ".join(
    f"""SELECT * FROM (SELECT r.exchange, r.trade_date, r.equity, r.twr_index, r.peak_index FROM daily_returns r
WHERE r.account_no = :account_no AND r.exchange = '{exchange}' AND r.trade_date < :since
ORDER BY r.trade_date DESC LIMIT 1) {exchange.lower()}"""
    for exchange in ("KRX", "NXT")
)

# Each account with a transfer without an amount of one stock on one of some days (the lines a stock_daily close may
# value), with the earliest such day.
_TRANSFERS_OF = """SELECT a.account_no, MIN(a.settlement_date) AS trade_date FROM account_transactions a
WHERE a.stock_code = :stock_code AND a.settlement_date IN :days AND a.kind IN ('securities_in', 'securities_out')
  AND COALESCE(a.trade_amount, 0) = 0
GROUP BY a.account_no"""

_VALUED_QUERY = (
    text(_VALUED).columns(trade_date=Date(), captured_at=UtcDateTime()).bindparams(bindparam("since", type_=Date()))
)
_FLOWS_QUERY = text(_FLOWS).columns(trade_date=Date()).bindparams(bindparam("after", type_=Date()))
_TRANSFERS_QUERY = (
    text(_TRANSFERS_OF).columns(trade_date=Date()).bindparams(bindparam("days", type_=Date(), expanding=True))
)
_NEWEST_QUERY = text(_NEWEST_BEFORE).columns(trade_date=Date()).bindparams(bindparam("since", type_=Date()))

# A transaction-scoped lock per account on PostgreSQL, taken after daily_closes' per pair (etl.store.closes), so that
# two loads of one account committing at once cannot each compute from rows the other is changing.
_PG_LOCK = "SELECT pg_advisory_xact_lock(20261207, hashtext(CAST(:account_no AS text)))"


@dataclass(frozen=True)
class _State:
    """Where an account × exchange's chain stands after a day: what the next day continues from."""

    trade_date: date | None
    equity: int | None
    index: Any  # a Decimal on PostgreSQL, a float on SQLite (never mixed: one database's)
    peak: Any


def refresh(connection: Connection, changes: Iterable[tuple[str, date]]) -> None:
    """Compute each changed account's rows again from the day of its change on, every exchange; `changes` are
    (account_no, the earliest day whose value or flows changed). In the caller's transaction."""
    since: dict[str, date] = {}
    for account_no, day in changes:
        since[account_no] = min(day, since.get(account_no, day))
    for account_no in sorted(since):
        _refresh_account(connection, account_no, since[account_no])


def refresh_transfers(connection: Connection, stock_code: str, days: Iterable[date]) -> None:
    """Refresh the accounts whose transfers without an amount of `stock_code` on one of `days` a stock_daily close of
    that day now values (account_flows_daily reads it when no snapshot lists the stock), each from its earliest such
    day. In the caller's transaction, the one that loaded the closes."""
    days = sorted(set(days))
    if days:
        found = connection.execute(_TRANSFERS_QUERY, {"stock_code": stock_code, "days": days})
        refresh(connection, [(row.account_no, row.trade_date) for row in found])


def _refresh_account(connection: Connection, account_no: str, since: date) -> None:
    values = {"account_no": account_no, "since": since}
    if connection.dialect.name == "postgresql":
        connection.execute(text(_PG_LOCK), values)
    valued = connection.execute(_VALUED_QUERY, values).all()
    by_exchange: dict[str, list[Any]] = defaultdict(list)
    for row in valued:
        by_exchange[row.exchange].append(row)
    one = _ONE[connection.dialect.name == "postgresql"]
    states = {exchange: _State(None, None, one, one) for exchange in by_exchange}
    for row in connection.execute(_NEWEST_QUERY, values):
        states[row.exchange] = _State(row.trade_date, row.equity, row.twr_index, row.peak_index)
    starts = any(state.trade_date is None for state in states.values())
    empty = starts and connection.execute(text(_EMPTY_AT_START), values).first() is not None
    # The flows after the earliest day a chain continues from; each chain takes those after its own.
    after = min((state.trade_date or date.min for state in states.values()), default=since)
    flows = connection.execute(_FLOWS_QUERY, {"account_no": account_no, "after": after}).all()
    rows: list[dict[str, Any]] = []
    for exchange in sorted(by_exchange):  # an exchange with no day left from `since` on keeps none
        state = states[exchange]
        mine = [f for f in flows if state.trade_date is None or f.trade_date > state.trade_date]
        rows += _chain(connection.dialect, by_exchange[exchange], mine, state, empty)
    table: Table = DailyReturn.__table__  # the rows before `since` stand: no change reached them
    connection.execute(delete(table).where(table.c.account_no == account_no, table.c.trade_date >= since))
    if rows:
        connection.execute(insert(table), rows)


def rebuild(connection: Connection) -> None:
    """Empty daily_returns and fill it again: every account from its first day, one account at a time."""
    connection.execute(delete(DailyReturn.__table__))
    accounts = connection.execute(
        text("SELECT account_no FROM daily_closes UNION SELECT account_no FROM account_daily_estimates")
    ).scalars()
    refresh(connection, [(account_no, date.min) for account_no in accounts])


def _chain(
    dialect: Dialect, days: Sequence[Any], flows: Sequence[Any], state: _State, empty: bool
) -> list[dict[str, Any]]:
    """The rows of one account × exchange's `days` (in order), continuing from `state`, with the account's `flows`
    (in order, none before state's day): a flow joins the first day with a value on or after its booking day."""
    exact = dialect.name == "postgresql"
    rows = []
    flow_rows = iter(flows)
    pending = next(flow_rows, None)
    with localcontext() as context:
        context.prec = 60  # far more than the 18 decimals kept: each figure is rounded once, as it is computed
        for day in days:
            external_flow = dividends = 0
            while pending is not None and pending.trade_date <= day.trade_date:
                external_flow += pending.external_flow
                dividends += pending.dividends
                pending = next(flow_rows, None)
            equity = day.net_assets - day.collateral_loans
            daily_return = None
            if state.equity is not None and state.equity > 0:
                daily_return = _ratio(exact, equity - external_flow, state.equity)
            elif state.trade_date is None and empty and external_flow > 0:  # the first deposit: from the day's start
                daily_return = _ratio(exact, equity, external_flow)
            index = _kept(exact, state.index * (1 + (daily_return or 0)))
            peak = max(state.peak, index)
            rows.append(
                {
                    "account_no": day.account_no,
                    "exchange": day.exchange,
                    "trade_date": day.trade_date,
                    "captured_at": day.captured_at or datetime.combine(day.trade_date, _KRX_CLOSE, KST),
                    "source": day.source,
                    "net_assets": day.net_assets,
                    "collateral_loans": day.collateral_loans,
                    "equity": equity,
                    "external_flow": external_flow,
                    "dividends": dividends,
                    "daily_return": daily_return,
                    "twr_index": index,
                    "peak_index": peak,
                    "drawdown": _kept(exact, index / peak - 1),
                }
            )
            state = _State(day.trade_date, equity, index, peak)
    return rows


def _ratio(exact: bool, numerator: int, denominator: int) -> Any:
    """numerator / denominator − 1: in Decimal to 18 decimals, or as SQLite computes CAST(… AS REAL) / … − 1."""
    if exact:
        return (Decimal(numerator) / denominator - 1).quantize(_QUANTUM)
    return float(numerator) / denominator - 1


def _kept(exact: bool, value: Any) -> Any:
    """A product or quotient of the chain as its column keeps it: to 18 decimals, or the float as it is."""
    return value.quantize(_QUANTUM) if exact else value
