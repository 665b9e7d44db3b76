"""One trade date inside: an account × exchange's snapshots of that Seoul day, each with its net assets and why it was
taken (the run's trigger), and the account's fills of the day from the real-time feed (executions).

The report draws it for the newest day of its range. The snapshots are read from account_history, so that their value
is the net_assets every other chart shows; the day is the snapshots captured between its two Seoul midnights (and of
its trade_date), which reads the pair's (account_no, exchange, captured_at) index for that day alone, as the closes
do. The fills are the account's of the day whatever the exchange they were done on: KRX and NXT fills move the same
account's holdings, and both exchanges' kt00005 answers list them. Times are aware UTC; `kst` gives them as Seoul's
clock reads them, the clock of the trading day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection, select

from etl.clock import KST
from etl.read.views import ACCOUNT_HISTORY
from etl.store.closes import utc_day
from etl.store.models import AccountSnapshot, EtlRun, Execution

# The triggers of the snapshots the real-time feed asked for: after a fill or a balance change (`event`), and after
# the listener (re)connected, to see what happened while it was away (`catch_up`). The others are the schedule's
# (`scheduled`, `end_of_day`), a person's (`manual`) and the history's own (`import`, `replay`).
EVENT_TRIGGERS = frozenset({"event", "catch_up"})


@dataclass(frozen=True)
class Moment:
    """One snapshot of the day: when it was captured, the account's net assets then, and its run's trigger."""

    snapshot_id: int
    captured_at: datetime  # aware, UTC
    net_assets: int
    trigger: str

    @property
    def event(self) -> bool:
        """Whether the real-time feed asked for it (a fill, a balance change, a reconnect), not the schedule."""
        return self.trigger in EVENT_TRIGGERS

    @property
    def kst(self) -> datetime:
        """captured_at in Korean Standard Time."""
        return self.captured_at.astimezone(KST)


@dataclass(frozen=True)
class Fill:
    """One fill of the day (a row of executions)."""

    executed_at: datetime  # aware, UTC
    exchange: str
    stock_code: str
    stock_name: str | None
    side: str  # buy or sell
    quantity: int
    price: int
    order_no: str
    execution_no: str

    @property
    def kst(self) -> datetime:
        """executed_at in Korean Standard Time."""
        return self.executed_at.astimezone(KST)


@dataclass(frozen=True)
class Intraday:
    """An account × exchange's snapshots of one trade date and the account's fills that day, each oldest first."""

    trade_date: date
    moments: tuple[Moment, ...]
    fills: tuple[Fill, ...]

    @property
    def events(self) -> tuple[Moment, ...]:
        """The snapshots the real-time feed asked for."""
        return tuple(m for m in self.moments if m.event)

    def value_at(self, moment: datetime) -> int:
        """The net assets as last seen at `moment`: its newest snapshot at or before it (the first snapshot's before
        the first); where a fill is drawn on the day's line, which steps at each snapshot. ValueError without one."""
        if not self.moments:
            raise ValueError(f"no snapshot on {self.trade_date} to read a value from")
        seen = [m for m in self.moments if m.captured_at <= moment]
        return (seen[-1] if seen else self.moments[0]).net_assets


def read_intraday(connection: Connection, account: str, exchange: str, day: date) -> Intraday:
    """The snapshots of `account` × `exchange` captured on the Seoul date `day` and the account's fills of that day."""
    start, end = utc_day(day)
    s, h, r = AccountSnapshot.__table__.c, ACCOUNT_HISTORY.table(), EtlRun.__table__.c
    # The filters are on account_snapshots (its captured_at, where the view's is RFC 3339 text on SQLite), the value
    # is the view's, joined on the snapshot's id.
    snapshots = (
        select(s.id, s.captured_at, h.c.net_assets, r.trigger)
        .select_from(AccountSnapshot.__table__)
        .join(h, h.c.id == s.id)
        .join(EtlRun.__table__, r.id == s.run_id)
        .where(
            s.account_no == account,
            s.exchange == exchange,
            s.captured_at >= start,
            s.captured_at < end,
            s.trade_date == day,
        )
        .order_by(s.captured_at, s.id)
    )
    e = Execution.__table__.c
    fills = (
        select(
            e.executed_at,
            e.exchange,
            e.stock_code,
            e.stock_name,
            e.side,
            e.quantity,
            e.price,
            e.order_no,
            e.execution_no,
        )
        .where(e.account_no == account, e.trade_date == day)  # the natural key's first columns: its index
        .order_by(e.executed_at, e.id)
    )
    return Intraday(
        day,
        tuple(Moment(*row) for row in connection.execute(snapshots)),
        tuple(Fill(*row) for row in connection.execute(fills)),
    )
