"""The report's model: what the analyst views say about each account over a range of Seoul dates.

Reading the views (`read_report`) is the only step that touches the database; `account_report` turns the rows
into the model (series per day, the allocation at the newest close, the recent position changes) and is pure.
The page is rendered from the model by etl.read.report_html. One exchange per account section: KRX and NXT
answers describe the same account, so their figures are never added together.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import Connection, Engine, select

from etl.read.returns import AccountReturns, account_returns, choose_exchange
from etl.read.views import ACCOUNT_DAILY, ETL_FRESHNESS, POSITION_CHANGES, POSITION_DAILY, View
from etl.store.runs import accounts_with_runs, require_account

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

RECENT_CHANGE_DAYS = 10  # how many of the range's last days the position changes cover
_HUNDREDTH = Decimal("0.01")
_Record = TypeVar("_Record", bound="DataclassInstance")


@dataclass(frozen=True)
class Selection:
    """What the user asked for: one account or all, an exchange or the default, a range of Seoul dates."""

    account: str | None = None
    exchange: str | None = None  # None: KRX, or NXT for an account with no KRX snapshot
    since: date | None = None
    until: date | None = None


@dataclass(frozen=True)
class Day:
    """One trade date's close of an account × exchange (a row of account_daily)."""

    trade_date: date
    time: datetime
    snapshots: int
    net_assets: int
    net_assets_change: int | None  # None on the account × exchange's first day
    total_profit_loss: int | None


@dataclass(frozen=True)
class Holding:
    """One stock at a close, its cash and credit lines summed (a row of position_daily)."""

    trade_date: date
    stock_code: str | None
    stock_name: str | None
    lines: int
    quantity: int
    purchase_amount: int
    evaluation_amount: int
    profit_loss: int

    @property
    def label(self) -> str:
        """The stock as a person reads it: its name and code (two stocks may share a name, never a code)."""
        return _stock_label(self.stock_code, self.stock_name)

    @property
    def rate_pct(self) -> Decimal | None:
        """Profit or loss as a percentage of the purchase amount, over the summed lines; None without a purchase."""
        if not self.purchase_amount:
            return None
        return percent(self.profit_loss, self.purchase_amount)


@dataclass(frozen=True)
class Change:
    """A stock whose summed quantity moved from the previous day's close (a row of position_changes)."""

    trade_date: date
    time: datetime
    stock_code: str | None
    stock_name: str | None
    previous_quantity: int
    quantity: int
    quantity_change: int
    change: str  # opened, closed, increased, reduced

    @property
    def label(self) -> str:
        """The stock as a person reads it."""
        return _stock_label(self.stock_code, self.stock_name)


@dataclass(frozen=True)
class Freshness:
    """How current the tables are for an account × exchange (a row of etl_freshness)."""

    last_captured_at: datetime | None
    last_success_at: datetime | None
    last_failure_at: datetime | None
    last_error: str | None
    failures_since_success: int


@dataclass(frozen=True)
class Allocation:
    """The holdings at the newest close of the range, with each stock's weight in the close's evaluation."""

    trade_date: date
    time: datetime
    holdings: tuple[Holding, ...]
    weights_pct: tuple[Decimal | None, ...]  # beside `holdings`; None when the close's evaluation sums to 0


@dataclass(frozen=True)
class AccountReport:
    """One account × exchange's section of the page."""

    account_no: str
    exchange: str
    exchange_note: str | None  # why this exchange, when it was not asked for and is not the default
    days: tuple[Day, ...]
    allocation: Allocation | None
    changes: tuple[Change, ...]  # newest first
    change_days: tuple[date, ...]  # the days the changes cover (with or without a change)
    freshness: Freshness | None
    returns: AccountReturns | None = None  # the range's returns (account_returns_daily), deposits set aside


@dataclass(frozen=True)
class Report:
    """The whole page: the selection, when it was made, the display time zone and one section per account."""

    selection: Selection
    generated_at: datetime
    timezone: str
    database: str
    accounts: tuple[AccountReport, ...]


def _stock_label(code: str | None, name: str | None) -> str:
    return f"{name} ({code or 'no code'})" if name else f"({code or 'no code'})"


def percent(part: int, whole: int) -> Decimal:
    """100 × part / whole, exact to the hundredth (half away from zero), as the page shows it."""
    return (Decimal(part) * 100 / Decimal(whole)).quantize(_HUNDREDTH, rounding=ROUND_HALF_UP)


def account_report(
    account_no: str,
    exchange: str,
    days: Sequence[Day],
    positions: Sequence[Holding],
    changes: Sequence[Change],
    freshness: Freshness | None,
    *,
    exchange_note: str | None = None,
    recent_days: int = RECENT_CHANGE_DAYS,
    returns: AccountReturns | None = None,
) -> AccountReport:
    """The section of one account × exchange, from its daily closes, the stocks at its closes and its changes."""
    ordered = tuple(sorted(days, key=lambda d: d.trade_date))
    allocation = _allocation(ordered[-1], positions) if ordered else None
    covered = tuple(d.trade_date for d in ordered[-recent_days:])
    recent = tuple(
        sorted(
            (c for c in changes if c.trade_date in covered),
            key=lambda c: (c.trade_date, c.stock_code or ""),
            reverse=True,
        )
    )
    return AccountReport(account_no, exchange, exchange_note, ordered, allocation, recent, covered, freshness, returns)


def _allocation(close: Day, positions: Sequence[Holding]) -> Allocation:
    at_close = [p for p in positions if p.trade_date == close.trade_date]
    total = sum(p.evaluation_amount for p in at_close)  # a stock sold out that day still counts (its evaluation)
    held = sorted(
        (p for p in at_close if p.quantity),
        key=lambda p: (-p.evaluation_amount, p.stock_code or ""),
    )
    weights = tuple(percent(p.evaluation_amount, total) if total else None for p in held)
    return Allocation(close.trade_date, close.time, tuple(held), weights)


def read_report(
    engine: Engine, selection: Selection, *, timezone: str, generated_at: datetime, database: str
) -> Report:
    """The report of `selection`, read from the analyst views."""
    with engine.connect() as connection:
        if selection.account is not None:
            require_account(connection, selection.account)
        accounts = [selection.account] if selection.account else accounts_with_runs(connection)
        sections = tuple(_read_account(connection, account, selection) for account in accounts)
    return Report(selection, generated_at, timezone, database, sections)


def _read_account(connection: Connection, account: str, selection: Selection) -> AccountReport:
    daily = ACCOUNT_DAILY.table()
    present = set(
        connection.execute(select(daily.c.exchange).where(daily.c.account_no == account).distinct()).scalars()
    )
    if not present:  # no snapshot at all: the exchanges its runs were for, so that its failures show
        runs = ETL_FRESHNESS.table()
        present = set(
            connection.execute(select(runs.c.exchange).where(runs.c.account_no == account).distinct()).scalars()
        )
    exchange, note = choose_exchange(selection.exchange, present)
    days = _rows(connection, ACCOUNT_DAILY, Day, account, exchange, since=selection.since, until=selection.until)
    newest = max((d.trade_date for d in days), default=None)
    positions = (
        _rows(connection, POSITION_DAILY, Holding, account, exchange, since=newest, until=newest) if newest else []
    )
    freshness = _rows(connection, ETL_FRESHNESS, Freshness, account, exchange)  # at most one: the pair is its key
    return account_report(
        account,
        exchange,
        days,
        positions,
        _rows(connection, POSITION_CHANGES, Change, account, exchange, since=selection.since, until=selection.until),
        freshness[0] if freshness else None,
        exchange_note=note,
        returns=account_returns(connection, account, exchange, selection.since, selection.until),
    )


def _rows(
    connection: Connection,
    view: View,
    record: type[_Record],
    account: str,
    exchange: str,
    *,
    since: date | None = None,
    until: date | None = None,
) -> list[_Record]:
    """The rows of `view` for one account × exchange (their trade_date from `since` to `until`, when given), each as a
    `record`, whose fields are the view's columns it takes, in their order."""
    v = view.table().c
    dated = [*([v.trade_date >= since] if since else []), *([v.trade_date <= until] if until else [])]
    statement = select(*(v[f.name] for f in fields(record))).where(v.account_no == account, v.exchange == exchange)
    return [record(*row) for row in connection.execute(statement.where(*dated))]
