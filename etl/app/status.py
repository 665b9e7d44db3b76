"""Where the history stands and what needs the user's eye: the spool, each configured account × exchange, each
account's ledger and day totals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Engine

from etl.clock import KST
from etl.jobs.spool import Spool
from etl.jobs.spool import SpoolSummary as SpoolSummary
from etl.kiwoom.accounts import KnownAccounts
from etl.read.status import FeedStatus as FeedStatus
from etl.read.status import LedgerStatus as LedgerStatus
from etl.read.status import NewestRun as NewestRun
from etl.read.status import PairStatus as PairStatus
from etl.read.status import calendar_line, feed_statuses, ledger_statuses, newest_run, pair_statuses
from etl.schedule import Schedule
from etl.settings import Settings

# What needs the user's eye in an account's ledger and day totals (Attention.what).
OTHER = "other"  # lines no rule of the mapping knows
CONFLICTS = "conflicts"  # lines that came again with different content
REFUSED = "refused"  # ledger runs with a page refused: their months are not loaded
LEDGER_NOT_OFFERED = "ledger not offered"  # the server does not offer kt00015
LEDGER_FAILED = "ledger failed"  # the newest ledger run failed
DISAGREES = "disagrees"  # days whose kt00017 totals the ledger does not bear out
REALIZED_DISAGREES = "realized disagrees"  # days whose ka10074 figures the ledger does not bear out
TOTALS_NOT_OFFERED = "totals not offered"  # the server does not offer kt00017
TOTALS_FAILED = "totals failed"  # the newest day-totals run failed


def configured_pairs(settings: Settings, known: KnownAccounts) -> set[tuple[str, str]]:
    """(account_no, exchange) of every configured account, as the tables name them."""
    return {(known.account_no(a), x) for a in settings.accounts for x in a.exchanges}


@dataclass(frozen=True)
class Waiting:
    """What the spool holds, and the runs whose snapshots wait in it."""

    summary: SpoolSummary
    run_ids: frozenset[int]


def waiting(settings: Settings) -> Waiting:
    """The spool's state; reads no database (it matters most when the database is away)."""
    spool = Spool(settings.state_dir)
    return Waiting(spool.summary(), frozenset(spool.run_ids()))


def calendar_note(schedule: Schedule, now: datetime) -> str | None:
    """The config's [calendar] corrections in a line (None without any)."""
    return calendar_line(schedule, now)


@dataclass(frozen=True)
class Attention:
    """One thing in an account's ledger or day totals that needs the user's eye."""

    account_no: str
    what: str  # OTHER, CONFLICTS, …
    count: int = 0
    error: str = ""  # the run's error, for a failure
    reason: str | None = None  # the run's reason, for a failure
    newest: date | None = None  # the newest day that disagrees
    mismatches: str | None = None  # and how


@dataclass(frozen=True)
class Findings:
    """Per account × exchange, where the snapshots stand; per account, the ledger and day totals."""

    pairs: tuple[PairStatus, ...]
    every: bool  # none of the configured accounts has runs here: every account with runs is shown
    newest: NewestRun | None  # the newest run however old, when none ran in the last week
    ledgers: tuple[LedgerStatus, ...]
    attention: tuple[Attention, ...]
    feeds: tuple[FeedStatus, ...] = ()  # the real-time sessions, per app key

    @property
    def stale(self) -> list[PairStatus]:
        return [p for p in self.pairs if p.stale]


def findings(
    settings: Settings, engine: Engine, schedule: Schedule, now: datetime, *, spooled: frozenset[int]
) -> Findings:
    """What `status` finds: the configured account × exchange pairs (every one with runs in the last week when no
    account is configured, or none of them has runs here), their ledgers and what needs the user's eye; a run whose
    snapshot waits in the spool (`spooled`) is shown as spooled."""
    configured = configured_pairs(settings, KnownAccounts(settings.state_dir, settings.base_url))
    if any(not a.name and a.appkey.missing for a in settings.accounts):
        configured = set()  # an unnamed account without its key here cannot be told: show every account
    every = pair_statuses(engine, schedule, now, spooled=spooled)
    newest = None if every else newest_run(engine)
    ledgers = ledger_statuses(engine, {account for account, _ in configured} or None)
    pairs = [p for p in every if (p.account_no, p.exchange) in configured] if configured else every
    shown_every = bool(every and not pairs)
    if shown_every:
        pairs = every
    attention = tuple(note for ledger in ledgers for note in _attention(ledger))
    feeds = tuple(feed_statuses(engine, now.astimezone(KST).date()))
    return Findings(tuple(pairs), shown_every, newest, tuple(ledgers), attention, feeds)


def _attention(ledger: LedgerStatus) -> list[Attention]:
    """What in one account's ledger and day totals needs the user's eye, in the order `status` says it."""
    name = ledger.account_no
    found = [
        Attention(name, what, count=count)
        for what, count in ((OTHER, ledger.other), (CONFLICTS, ledger.conflicts), (REFUSED, ledger.refused))
        if count
    ]
    if ledger.last_status == "failed" and ledger.last_reason != "payload_refused":
        what = LEDGER_NOT_OFFERED if ledger.last_reason == "not_supported" else LEDGER_FAILED
        found.append(Attention(name, what, error=ledger.last_error or ""))
    checks, totals = ledger.disagreements, ledger.totals_run
    if checks is not None and checks.days:
        found.append(Attention(name, DISAGREES, count=checks.days, newest=checks.newest, mismatches=checks.mismatches))
    realized = ledger.realized_disagreements
    if realized is not None and realized.days:
        found.append(
            Attention(
                name, REALIZED_DISAGREES, count=realized.days, newest=realized.newest, mismatches=realized.mismatches
            )
        )
    if totals is not None and totals.status == "failed":
        what = TOTALS_NOT_OFFERED if totals.reason == "not_supported" else TOTALS_FAILED
        found.append(Attention(name, what, error=totals.error or "", reason=totals.reason))
    return found
