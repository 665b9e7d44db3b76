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
has a deposit whose cash after it is its amount: nothing was there before) and every flow booked up to that day is
that first day's, they count from the start of it, so that the day's return is equity / external_flow − 1 and not
lost. Flows booked on several days before the first value leave that day without a return (its close is the base):
equity / their sum − 1 would weigh the later money as if it had been there from the first deposit on.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from contextlib import ExitStack, closing
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal, localcontext
from typing import Any, NamedTuple

from sqlalchemy import Connection, Date, Table, bindparam, delete, text

from etl.clock import KST
from etl.store.engine import driver_cursor, pyformat
from etl.store.models import DailyReturn
from etl.store.sqltypes import binders, readers

SCALE = 18  # decimals of the NUMERIC columns
_QUANTUM = Decimal(1).scaleb(-SCALE)
_ONE = {True: Decimal(1), False: 1.0}  # the index before any return: exact (PostgreSQL) or float (SQLite)
_KRX_CLOSE = time(15, 30)  # an estimate's day is valued at the KRX close
_TABLE: Table = DailyReturn.__table__

# Each day with a value: every close, and on KRX a kt00002 estimate for a day without one (estimates fill the KRX
# series only): one account's, from a day on (its exchanges are KRX and NXT, account_snapshots' check: named, the
# key's range from the day is read for each, not the account's whole history).
_VALUED = """SELECT d.account_no, d.exchange, d.trade_date, d.captured_at, 'snapshot' AS source,
       COALESCE(s.deposit_d2, 0) + COALESCE(s.total_evaluation_amount, 0) - COALESCE(s.credit_loan_total, 0)
         - COALESCE(s.unpaid_credit_interest, 0) AS net_assets,
       COALESCE(s.deposit_collateral_loan_amount, 0) + COALESCE(s.sale_collateral_loan_amount, 0) AS collateral_loans
FROM daily_closes d
JOIN account_snapshots s ON s.id = d.snapshot_id AND s.account_no = d.account_no AND s.exchange = d.exchange
WHERE d.account_no = :account_no AND d.exchange IN ('KRX', 'NXT') AND d.trade_date >= :since
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
WHERE f.account_no = :account_no AND f.trade_date > {after} ORDER BY f.trade_date"""

# On PostgreSQL the day is found by the server, so that the flows are read in the round trip of the other reads: the
# earliest of the days the account's chains continue from, each exchange's with a value from :since on continuing from
# its newest row before :since, or from the first day of the calendar when it has none (the chain starts); NULL, and
# no flow read, when no exchange has a value left (no row is computed). SQLite, where a statement is no round trip,
# is given the day found in Python: its planner takes a bound day, not a subquery, into the view's key.
_AFTER = """(SELECT MIN(COALESCE((SELECT MAX(r.trade_date) FROM daily_returns r
                              WHERE r.account_no = :account_no AND r.exchange = x.exchange AND r.trade_date < :since),
                             :first_day))
 FROM (VALUES ('KRX'), ('NXT')) x (exchange)
 WHERE EXISTS (SELECT 1 FROM daily_closes d
               WHERE d.account_no = :account_no AND d.exchange = x.exchange AND d.trade_date >= :since)
    OR x.exchange = 'KRX' AND EXISTS (SELECT 1 FROM account_daily_estimates e
                                      WHERE e.account_no = :account_no AND e.trade_date >= :since))"""

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

_TRANSFERS_QUERY = (
    text(_TRANSFERS_OF).columns(trade_date=Date()).bindparams(bindparam("days", type_=Date(), expanding=True))
)

# What a refresh writes: the account's rows from a day on (each exchange's range of the key), then each row computed
# again.
_DELETE = """DELETE FROM daily_returns
WHERE account_no = :account_no AND exchange IN ('KRX', 'NXT') AND trade_date >= :since"""
_INSERT = (
    f"INSERT INTO daily_returns ({', '.join(_TABLE.columns.keys())}) "
    f"VALUES ({', '.join(f':{column}' for column in _TABLE.columns.keys())})"
)


# The statements in each driver's SQL (sqlite3 takes :name as written, psycopg %(name)s), run on its cursor: none of
# SQLAlchemy's compiling and type processing per statement, which cost more than the database's own work on the
# per-snapshot load (benchmarks/bench_load.py).
_PG_READS = tuple(pyformat(s) for s in (_VALUED, _NEWEST_BEFORE, _EMPTY_AT_START, _FLOWS.format(after=_AFTER)))
_SQLITE_FLOWS = _FLOWS.format(after=":after")
_WRITES = {False: (_DELETE, _INSERT), True: (pyformat(_DELETE), pyformat(_INSERT))}  # by whether on PostgreSQL

# A transaction-scoped lock per account on PostgreSQL, taken after daily_closes' per pair (etl.store.closes), so that
# two loads of one account committing at once cannot each compute from rows the other is changing.
_PG_LOCK = pyformat("SELECT pg_advisory_xact_lock(20261207, hashtext(CAST(:account_no AS text)))")


class _Day(NamedTuple):
    """A day with a value of one account × exchange (a row of _VALUED, read)."""

    account_no: str
    exchange: str
    trade_date: date
    captured_at: datetime | None  # None for an estimate
    source: str
    net_assets: int
    collateral_loans: int


class _Flow(NamedTuple):
    """An account's flows of one booking day (a row of _FLOWS, read)."""

    trade_date: date
    external_flow: int
    dividends: int


@dataclass(frozen=True)
class _State:
    """Where an account × exchange's chain stands after a day: what the next day continues from."""

    trade_date: date | None
    equity: int | None
    index: Any  # a Decimal on PostgreSQL, a float on SQLite (never mixed: one database's)
    peak: Any


def refresh(connection: Connection, changes: Iterable[tuple[str, date]], cursor: Any = None) -> None:
    """Compute each changed account's rows again from the day of its change on, every exchange; `changes` are
    (account_no, the earliest day whose value or flows changed). In the caller's transaction; with `cursor`, the
    caller's driver cursor (etl.store.engine.driver_cursor) whose statements go first: on PostgreSQL the refresh's
    reads are sent in the same round trip as those (psycopg's pipeline)."""
    since: dict[str, date] = {}
    for account_no, day in changes:
        since[account_no] = min(day, since.get(account_no, day))
    if not since:
        return
    with ExitStack() as stack:
        if cursor is None:
            cursor = stack.enter_context(driver_cursor(connection, pipelined=True))
        for account_no in sorted(since):
            _refresh_account(connection, cursor, account_no, since[account_no])


def refresh_transfers(connection: Connection, stock_code: str, days: Iterable[date]) -> None:
    """Refresh the accounts whose transfers without an amount of `stock_code` on one of `days` a stock_daily close of
    that day now values (account_flows_daily reads it when no snapshot lists the stock), each from its earliest such
    day. In the caller's transaction, the one that loaded the closes."""
    days = sorted(set(days))
    if days:
        found = connection.execute(_TRANSFERS_QUERY, {"stock_code": stock_code, "days": days})
        refresh(connection, [(row.account_no, row.trade_date) for row in found])


def _refresh_account(connection: Connection, cursor: Any, account_no: str, since: date) -> None:
    """The account's rows from `since` on, read and written on `cursor`: on PostgreSQL the reads in one round trip
    (after the account's lock), the writes in the next (with the next account's reads, or when the pipeline ends)."""
    exact = connection.dialect.name == "postgresql"
    bind = binders(connection.dialect, _TABLE)
    read = readers(connection.dialect, _TABLE, ("trade_date", "captured_at"))
    day, moment = read["trade_date"], read["captured_at"]
    values = {"account_no": account_no, "since": bind["trade_date"](since), "first_day": bind["trade_date"](date.min)}
    if exact:
        valued, newest, empty, flow_rows = _read_pipelined(cursor, values)
    else:
        valued, newest = (cursor.execute(statement, values).fetchall() for statement in (_VALUED, _NEWEST_BEFORE))
    by_exchange: dict[str, list[_Day]] = defaultdict(list)
    for account, exchange, trade_date, captured_at, *amounts in valued:
        by_exchange[exchange].append(_Day(account, exchange, day(trade_date), moment(captured_at), *amounts))
    one = _ONE[exact]
    states = {exchange: _State(None, None, one, one) for exchange in by_exchange}
    for exchange, trade_date, equity, index, peak in newest:
        states[exchange] = _State(day(trade_date), equity, index, peak)
    if not exact:
        starts = any(state.trade_date is None for state in states.values())
        empty = cursor.execute(_EMPTY_AT_START, values).fetchall() if starts else []
        # The flows after the earliest day a chain continues from; each chain takes those after its own.
        after = min((state.trade_date or date.min for state in states.values()), default=since)
        flow_rows = cursor.execute(_SQLITE_FLOWS, {**values, "after": bind["trade_date"](after)}).fetchall()
    flows = [_Flow(day(trade_date), external_flow, dividends) for trade_date, external_flow, dividends in flow_rows]
    rows: list[dict[str, Any]] = []
    for exchange in sorted(by_exchange):  # an exchange with no day left from `since` on keeps none
        state = states[exchange]
        mine = [f for f in flows if state.trade_date is None or f.trade_date > state.trade_date]
        rows += _chain(exact, by_exchange[exchange], mine, state, bool(empty))
    # The rows before `since` stand: no change reached them.
    delete_from, insert = _WRITES[exact]
    cursor.execute(delete_from, values)
    if rows:
        cursor.executemany(insert, [{name: bind[name](value) for name, value in row.items()} for row in rows])


def _read_pipelined(cursor: Any, values: dict[str, Any]) -> list[list[Any]]:
    """On PostgreSQL, after the account's lock, the rows of _VALUED, _NEWEST_BEFORE, _EMPTY_AT_START and _FLOWS (after
    _AFTER) as psycopg returns them, all sent before any is fetched: a cursor for each, their results fetched in one
    round trip (psycopg's pipeline)."""
    cursor.execute(_PG_LOCK, values)
    with ExitStack() as stack:
        cursors = [stack.enter_context(closing(cursor.connection.cursor())) for _ in _PG_READS]
        for each, statement in zip(cursors, _PG_READS, strict=True):
            each.execute(statement, values)
        return [each.fetchall() for each in cursors]


def rebuild(connection: Connection) -> None:
    """Empty daily_returns and fill it again: every account from its first day, one account at a time."""
    connection.execute(delete(_TABLE))
    accounts = connection.execute(
        text("SELECT account_no FROM daily_closes UNION SELECT account_no FROM account_daily_estimates")
    ).scalars()
    refresh(connection, [(account_no, date.min) for account_no in accounts])


def _chain(
    exact: bool, days: Sequence[_Day], flows: Sequence[_Flow], state: _State, empty: bool
) -> list[dict[str, Any]]:
    """The rows of one account × exchange's `days` (in order), continuing from `state`, with the account's `flows`
    (in order, none before state's day): a flow joins the first day with a value on or after its booking day;
    `exact`: in Decimals (PostgreSQL), else in floats (SQLite)."""
    rows = []
    flow_rows = iter(flows)
    pending = next(flow_rows, None)
    with localcontext() as context:
        context.prec = 60  # far more than the 18 decimals kept: each figure is rounded once, as it is computed
        for day in days:
            external_flow = dividends = 0
            flow_days: set[date] = set()  # the booking days of the flows joined to this day
            while pending is not None and pending.trade_date <= day.trade_date:
                external_flow += pending.external_flow
                dividends += pending.dividends
                if pending.external_flow:
                    flow_days.add(pending.trade_date)
                pending = next(flow_rows, None)
            equity = day.net_assets - day.collateral_loans
            daily_return = None
            if state.equity is not None and state.equity > 0:
                daily_return = _ratio(exact, equity - external_flow, state.equity)
            # The first deposit, from its day's start: only when every flow before the first value is that day's,
            # else equity / Σ flows − 1 would weigh later money as there since the first deposit.
            elif state.trade_date is None and empty and external_flow > 0 and len(flow_days) == 1:
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
