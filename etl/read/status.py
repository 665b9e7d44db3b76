"""Where the history stands, per account × exchange: the newest success, its age, failures since, the next slot.

Read from etl_runs, so that `kiwoom-etl status`, `/healthz` and every replica on one database agree.
"""

from __future__ import annotations

import json
from collections.abc import Container, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Table, case, func, select

from etl.apis.ledger import LEDGER
from etl.apis.realized import REALIZED
from etl.apis.snapshot import SNAPSHOT
from etl.apis.totals import DAY_TOTALS
from etl.read.views import LEDGER_CHECKS, REALIZED_CHECKS
from etl.read.views.view import View
from etl.schedule import Schedule
from etl.store.engine import storage_errors
from etl.store.lease import leases
from etl.store.models import AccountTransaction, AccountTransactionConflict, EtlRun, Execution, RunStatus

SPOOLED = "spooled"  # what `status` shows for a run whose snapshot waits in the spool
RECENT = timedelta(days=7)  # pairs with no run for a week are no longer followed (an account removed from config)


@dataclass(frozen=True)
class PairStatus:
    """One account × exchange."""

    account_no: str
    exchange: str
    last_success: datetime | None
    last_status: str
    last_reason: str | None
    failures_since: int
    active: bool
    next_slot: datetime | None
    stale: bool

    def age(self, now: datetime) -> timedelta | None:
        return None if self.last_success is None else now - self.last_success


def window_opened(schedule: Schedule, exchange: str, now: datetime) -> datetime | None:
    """When today's window of `exchange` opened (None with --all-hours): age counts from then at the earliest."""
    day = schedule.local(now).date()
    window = schedule.window(exchange, day)
    if schedule.all_hours or window is None:
        return None
    return datetime.combine(day, window.start, tzinfo=schedule.zone)


def calendar_line(schedule: Schedule, now: datetime) -> str | None:
    """What `status` says of the config's [calendar] corrections: how many of each, and those from today on with
    what they do (a closed day and its name, a trading day, a session and KRX's end of day); None without any."""
    fixed = schedule.calendar.corrections
    if not fixed:
        return None
    today = schedule.local(now).date()
    coming = []
    for day in sorted({*fixed.holidays, *fixed.trading_days, *fixed.sessions}):
        if day < today:
            continue
        if day in fixed.holidays:
            coming.append(f"{day} closed" + (f" ({fixed.holidays[day]})" if fixed.holidays[day] else ""))
        elif day in fixed.sessions:
            session, closing = fixed.sessions[day], schedule.closing("KRX", day)
            end_of_day = f", KRX's end of day at {closing:%H:%M}" if closing is not None else ""
            coming.append(f"{day} trades {session.start:%H:%M}-{session.end:%H:%M}{end_of_day}")
        else:
            coming.append(f"{day} trades")
    counts = ", ".join(
        f"{n} {what}{'s' if n != 1 else ''}"
        for n, what in (
            (len(fixed.holidays), "declared holiday"),
            (len(fixed.trading_days), "trading day"),
            (len(fixed.sessions), "session"),
        )
    )
    return f"Calendar ([calendar]): {counts}; " + (f"coming: {'; '.join(coming)}." if coming else "none from today on.")


def pair_statuses(
    engine: Engine,
    schedule: Schedule,
    now: datetime,
    *,
    only: set[tuple[str, str]] | None = None,
    spooled: Container[int] = frozenset(),
) -> list[PairStatus]:
    """Every account × exchange with a run in the last week (or those in `only`), and whether it is stale. A run
    still `running` whose snapshot waits in the spool (its id in `spooled`) is shown as `spooled`.

    Stale means: inside an active window, no success within twice the interval — counted from the later of the
    newest success and the moment today's window opened, so that each morning's first slots are not alarms.
    """
    since = now - RECENT
    success_at = func.max(case((EtlRun.status == RunStatus.SUCCESS, EtlRun.finished_at)))
    newest = func.max(EtlRun.started_at)
    query = (
        select(EtlRun.account_no, EtlRun.exchange, success_at, newest)
        .where(EtlRun.started_at >= since, EtlRun.account_no.is_not(None), EtlRun.exchange.is_not(None))
        .group_by(EtlRun.account_no, EtlRun.exchange)
        .order_by(EtlRun.account_no, EtlRun.exchange)
    )
    statuses = []
    with storage_errors(engine, "reading etl_runs"), engine.connect() as connection:
        for account_no, exchange, last_success, newest_start in connection.execute(query):
            if only is not None and (account_no, exchange) not in only:
                continue
            pair = (EtlRun.account_no == account_no, EtlRun.exchange == exchange)
            last_id, last_status, last_reason = connection.execute(
                select(EtlRun.id, EtlRun.status, EtlRun.reason)
                .where(*pair, EtlRun.started_at == newest_start)
                .order_by(EtlRun.id.desc())
                .limit(1)
            ).one()
            if last_status == RunStatus.RUNNING and last_id in spooled:  # its row is written when a flush loads it
                last_status = SPOOLED
            failures = connection.execute(
                select(func.count())
                .select_from(EtlRun)
                .where(*pair, EtlRun.status == RunStatus.FAILED, EtlRun.started_at > (last_success or since))
            ).scalar_one()
            active = schedule.is_open(exchange, now)
            since_when = max(filter(None, (last_success, window_opened(schedule, exchange, now))), default=None)
            too_old = since_when is None or now - since_when > 2 * schedule.interval
            next_slot = _next_slot(schedule, exchange, now)
            statuses.append(
                PairStatus(
                    account_no,
                    exchange,
                    last_success,
                    last_status,
                    last_reason,
                    failures,
                    active,
                    next_slot,
                    stale=active and too_old,
                )
            )
    return statuses


@dataclass(frozen=True)
class NewestRun:
    """The newest etl_runs row of any account, for when nothing ran in the last week."""

    account_no: str
    exchange: str | None
    status: str
    started_at: datetime


def newest_run(engine: Engine) -> NewestRun | None:
    """The newest snapshot run of an account in the database, however old; None when there is none."""
    query = (
        select(EtlRun.account_no, EtlRun.exchange, EtlRun.status, EtlRun.started_at)
        .where(EtlRun.account_no.is_not(None), EtlRun.api_id == SNAPSHOT.api_id)
        .order_by(EtlRun.started_at.desc(), EtlRun.id.desc())
        .limit(1)
    )
    with storage_errors(engine, "reading etl_runs"), engine.connect() as connection:
        row = connection.execute(query).first()
    return None if row is None else NewestRun(row.account_no, row.exchange, row.status, row.started_at)


def _next_slot(schedule: Schedule, exchange: str, now: datetime) -> datetime | None:
    moment = now
    for _ in range(10_000):  # a few days of slots at the shortest intervals
        moment = schedule.next_fire(moment)
        if any(d.exchange == exchange and d.skip is None for d in schedule.due(moment)):
            return moment
    return None


@dataclass(frozen=True)
class Disagreements:
    """An account's days whose Kiwoom figures the ledger does not bear out: kt00017's totals (ledger_checks) or
    ka10074's realised figures (realized_checks)."""

    days: int
    newest: date | None
    mismatches: str | None  # the newest such day's


def disagreements(
    connection: Connection, accounts: Iterable[str], view: View = LEDGER_CHECKS, figures: Table = DAY_TOTALS.table
) -> dict[str, Disagreements]:
    """Per account of `accounts` that has rows in `figures` (the table `view` checks): how many days `view` says
    disagree, and the newest."""
    wanted = list(accounts)
    if not wanted:
        return {}
    checks = view.table()
    query = select(checks.c.account_no, checks.c.trade_date, checks.c.mismatches).where(
        checks.c.result == "disagrees", checks.c.account_no.in_(wanted)
    )
    found: dict[str, list[tuple[date, str]]] = {}
    for account, day, mismatches in connection.execute(query):
        found.setdefault(account, []).append((day, mismatches))
    taken = connection.execute(
        select(figures.c.account_no).where(figures.c.account_no.in_(wanted)).distinct()
    ).scalars()
    result = {}
    for account in taken:
        days = sorted(found.get(account, []))
        result[account] = Disagreements(len(days), days[-1][0] if days else None, days[-1][1] if days else None)
    return result


@dataclass(frozen=True)
class LedgerStatus:
    """One account's ledger (kt00015): its newest run, its newest line, its lines by kind and its conflicts; its
    day totals (kt00017): the newest run and day, and the days the ledger does not bear out (ledger_checks); and the
    days of Kiwoom's realised figures (ka10074) the ledger does not bear out (realized_checks)."""

    account_no: str
    last_status: str | None
    last_reason: str | None
    last_started: datetime | None
    last_error: str | None
    failures_since: int
    newest_line: date | None
    lines: int
    other: int
    conflicts: int
    refused: int  # ledger runs with a page refused and not replayed since: their months are not loaded
    totals_run: Any = None  # the newest kt00017 run (status, reason, started_at, error), None when there is none
    totals_day: date | None = None  # the newest day of account_day_totals
    disagreements: Disagreements | None = None
    realized_disagreements: Disagreements | None = None  # None: no ka10074 figures


def ledger_statuses(engine: Engine, accounts: set[str] | None = None) -> list[LedgerStatus]:
    """Every account with a ledger or day-totals run or line (or those in `accounts`), sorted by account."""
    runs = EtlRun.api_id == LEDGER.api_id
    t, c = AccountTransaction, AccountTransactionConflict
    with storage_errors(engine, "reading the ledger"), engine.connect() as connection:
        names = set(
            connection.execute(
                select(EtlRun.account_no)
                .where(EtlRun.api_id.in_((LEDGER.api_id, DAY_TOTALS.api_id, REALIZED.api_id)))
                .distinct()
            ).scalars()
        )
        names |= set(connection.execute(select(t.account_no).distinct()).scalars())
        chosen = sorted(n for n in names if n and (accounts is None or n in accounts))
        checks = disagreements(connection, chosen)
        realized_checks = disagreements(connection, chosen, REALIZED_CHECKS, REALIZED.table)
        statuses = []
        for account_no in chosen:
            newest = _newest_run(connection, LEDGER.api_id, account_no)
            success = connection.execute(
                select(func.max(EtlRun.started_at)).where(
                    runs, EtlRun.account_no == account_no, EtlRun.status == RunStatus.SUCCESS
                )
            ).scalar_one()
            failed = [runs, EtlRun.account_no == account_no, EtlRun.status == RunStatus.FAILED]
            if success is not None:
                failed.append(EtlRun.started_at > success)
            failures = connection.execute(select(func.count()).select_from(EtlRun).where(*failed)).scalar_one()
            mine = t.account_no == account_no
            newest_line, lines, other = connection.execute(
                select(func.max(t.settlement_date), func.count(), func.count(case((t.kind == "other", 1)))).where(mine)
            ).one()
            conflicts = connection.execute(
                select(func.count()).select_from(c).where(c.account_no == account_no)
            ).scalar_one()
            refused = connection.execute(
                select(func.count())
                .select_from(EtlRun)
                .where(runs, EtlRun.account_no == account_no, EtlRun.reason == "payload_refused")
            ).scalar_one()
            totals_day = connection.execute(
                select(func.max(DAY_TOTALS.table.c.trade_date)).where(DAY_TOTALS.table.c.account_no == account_no)
            ).scalar_one()
            statuses.append(
                LedgerStatus(
                    account_no,
                    newest.status if newest else None,
                    newest.reason if newest else None,
                    newest.started_at if newest else None,
                    newest.error if newest else None,
                    failures,
                    newest_line,
                    lines,
                    other,
                    conflicts,
                    refused,
                    _newest_run(connection, DAY_TOTALS.api_id, account_no),
                    totals_day,
                    checks.get(account_no),
                    realized_checks.get(account_no),
                )
            )
    return statuses


def _newest_run(connection: Connection, api_id: str, account_no: str) -> Any:
    """The newest run of `api_id` for the account: (status, reason, started_at, error), or None."""
    return connection.execute(
        select(EtlRun.status, EtlRun.reason, EtlRun.started_at, EtlRun.error)
        .where(EtlRun.api_id == api_id, EtlRun.account_no == account_no)
        .order_by(EtlRun.started_at.desc(), EtlRun.id.desc())
        .limit(1)
    ).first()


@dataclass(frozen=True)
class FeedStatus:
    """One app key's real-time session, as its holder last told it (etl.store.lease), and its accounts' fills
    today."""

    account_nos: str  # the key's accounts as the tables name them
    holder: str
    connected_at: datetime | None
    last_message_at: datetime | None
    expires_at: datetime
    fills_today: int

    def state(self, now: datetime) -> str:
        """connected, reconnecting (the holder is alive, its session not), or gone (its lease expired: no daemon
        listens for this key)."""
        if now >= self.expires_at:
            return "gone"
        return "connected" if self.connected_at is not None else "reconnecting"


def feed_statuses(engine: Engine, today: date) -> list[FeedStatus]:
    """Every app key's real-time lease (none: no daemon listens), with the fills of `today` (the Seoul trade date)
    of its accounts."""
    held = leases(engine)
    if not held:
        return []
    with storage_errors(engine, "reading today's fills"), engine.connect() as connection:
        counted = dict(
            connection.execute(
                select(Execution.account_no, func.count())
                .where(Execution.trade_date == today)
                .group_by(Execution.account_no)
            ).all()
        )
    return [
        FeedStatus(
            ", ".join(_names(lease.account_nos)) or lease.app_key_id,
            lease.holder,
            lease.connected_at,
            lease.last_message_at,
            lease.expires_at,
            sum(counted.get(name, 0) for name in _names(lease.account_nos)),
        )
        for lease in held
    ]


def _names(account_nos: str | None) -> list[str]:
    """The accounts a lease row names (a JSON array: a configured name may hold a comma)."""
    try:
        names = json.loads(account_nos or "[]")
    except ValueError:
        return []
    return [str(name) for name in names] if isinstance(names, list) else []
