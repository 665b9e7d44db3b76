"""How the commands show what a use case did: the tables of results and of status, and what needs the user's eye
in words."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from etl.cli.base import shown
from etl.clock import local_text, zone_name
from etl.console import table
from etl.text import displayable

if TYPE_CHECKING:
    from etl.app.collect import EstimatesResult, LedgerResult, RealizedResult, SnapshotResult, TotalsResult
    from etl.app.market import MarketResult
    from etl.app.status import Attention, FeedStatus, Findings, LedgerStatus, NewestRun, PairStatus, SpoolSummary
    from etl.schedule import Schedule


def snapshots_table(results: Sequence[SnapshotResult]) -> str:
    """The short table `snapshot` prints."""
    return table(
        ["account", "exchange", "status", "positions", "pages", "run", "seconds", "reason"],
        [
            (r.account, r.exchange, r.status, r.positions, r.pages, r.run_id, f"{r.seconds:.2f}", r.reason)
            for r in results
        ],
    )


def _result(r: LedgerResult | TotalsResult | EstimatesResult | RealizedResult | MarketResult) -> str:
    return r.status + (f" ({r.reason})" if r.reason else "")


def ledger_results_table(results: Sequence[LedgerResult]) -> str:
    """The table of ledger runs (kt00015)."""
    rows = [
        (
            r.account,
            _result(r),
            f"{r.since} – {r.until}" if r.since else "",
            str(r.pages),
            str(r.lines),
            str(sum(r.load.added.values())),
            str(r.load.added["other"]),
            str(r.load.conflicts),
            r.error or "",
        )
        for r in results
    ]
    return table(("account", "result", "range", "pages", "lines", "new", "other", "conflicts", "error"), rows)


def totals_results_table(results: Sequence[TotalsResult]) -> str:
    """The table of day-totals runs (kt00017)."""
    rows = [(r.account, _result(r), str(r.trade_date or ""), r.error or "") for r in results]
    return table(("account", "result", "day", "error"), rows)


def estimates_results_table(results: Sequence[EstimatesResult | RealizedResult]) -> str:
    """The table of daily-estimates runs (kt00002), or of daily realised-profit runs (ka10074): the days received."""
    rows = [
        (r.account, _result(r), f"{r.since} – {r.until}" if r.since else "", str(r.pages), str(r.days), r.error or "")
        for r in results
    ]
    return table(("account", "result", "range", "pages", "days", "error"), rows)


def market_results_table(results: Sequence[MarketResult]) -> str:
    """The table of market runs (ka10099, ka10100, ka20006, ka10081): what each asked and received."""

    def asked(r: MarketResult) -> str:
        codes = ", ".join(r.codes[:6]) + (f", … ({len(r.codes)})" if len(r.codes) > 6 else "")
        return codes + (f" {r.since} – {r.until}" if r.since else "")

    rows = [
        (r.api.api_id, r.api.what, _result(r), asked(r), str(r.pages), str(r.rows), str(r.written), r.error or "")
        for r in results
    ]
    return table(("api", "what", "result", "asked", "pages", "rows", "written", "error"), rows)


def status_table(pairs: Sequence[PairStatus], schedule: Schedule, now: datetime) -> str:
    """The table `status` prints: times in the schedule's time zone."""

    def when(moment: datetime | None) -> str:
        return "-" if moment is None else schedule.local(moment).strftime("%Y-%m-%d %H:%M:%S")

    def state(pair: PairStatus) -> str:
        return "STALE" if pair.stale else ("ok" if pair.active else "closed")

    zone = zone_name(schedule.zone, now)
    return table(
        [
            "account",
            "exchange",
            "state",
            f"last success ({zone})",
            "age",
            "last run",
            "failures since",
            f"next slot ({zone})",
        ],
        [
            (
                p.account_no,
                p.exchange,
                state(p),
                when(p.last_success),
                format_age(p.age(now)),
                f"{p.last_status} ({p.last_reason})" if p.last_reason else p.last_status,
                p.failures_since,
                when(p.next_slot),
            )
            for p in pairs
        ],
    )


def feed_table(feeds: Sequence[FeedStatus], schedule: Schedule, now: datetime) -> str:
    """The real-time sessions `status` prints, one row per app key: times in the schedule's time zone."""
    zone = zone_name(schedule.zone, now)

    def since(feed: FeedStatus) -> str:
        moment = feed.connected_at if feed.state(now) == "connected" else None
        return "-" if moment is None else schedule.local(moment).strftime("%Y-%m-%d %H:%M:%S")

    def heard(feed: FeedStatus) -> str:
        return "-" if feed.last_message_at is None else format_age(now - feed.last_message_at)

    return table(
        ["real-time feed of", "state", f"connected since ({zone})", "holder", "last message", "fills today"],
        # Names from the config and the database's holders: shown, never obeyed by the terminal.
        [
            (displayable(f.account_nos), f.state(now), since(f), displayable(f.holder), heard(f), f.fills_today)
            for f in feeds
        ],
    )


def format_age(age: timedelta | None) -> str:
    if age is None:
        return "never"
    seconds = int(age.total_seconds())
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def ledger_table(statuses: Sequence[LedgerStatus], schedule: Schedule, now: datetime) -> str:
    """The ledger's table in `status`: times in the schedule's time zone."""
    zone = zone_name(schedule.zone, now)
    return table(
        [
            "account",
            "last ledger run",
            f"started ({zone})",
            "failures since",
            "newest line",
            "lines",
            "other",
            "conflicts",
            "refused runs",
            "newest totals",
            "days disagreeing",
        ],
        [
            (
                s.account_no,
                "-" if s.last_status is None else s.last_status + (f" ({s.last_reason})" if s.last_reason else ""),
                "-" if s.last_started is None else schedule.local(s.last_started).strftime("%Y-%m-%d %H:%M:%S"),
                s.failures_since,
                s.newest_line or "-",
                s.lines,
                s.other,
                s.conflicts,
                s.refused,
                s.totals_day or "-",
                "-" if s.disagreements is None else s.disagreements.days,
            )
            for s in statuses
        ],
    )


def ledger_part(found: Findings, schedule: Schedule, now: datetime) -> list[str]:
    """The ledger's lines in `status`: a table, then what needs the user's eye (none without a ledger)."""
    if not found.ledgers:
        return []
    table = ledger_table(found.ledgers, schedule, now)
    return ["", "Ledger (kt00015) and day totals (kt00017):", table, *map(attention_words, found.attention)]


def attention_words(note: Attention) -> str:
    """What `status` says of one thing in an account's ledger or day totals."""
    from etl.app import status as s

    words = {
        s.OTHER: "{count} ledger line(s) match no rule of the mapping (kind other): add their remark to [ledger.kinds]"
        " in the config file, then run `kiwoom-etl ledger --reclassify`.",
        s.CONFLICTS: "{count} ledger line(s) came again with different content; the stored lines were kept: see the"
        " table account_transaction_conflicts.",
        s.REFUSED: "{count} ledger run(s) had a page refused, and those months are not loaded: the run's error names"
        " the value; once kiwoom-etl reads it, `kiwoom-etl replay` loads them.",
        s.LEDGER_NOT_OFFERED: "this server does not offer the ledger (snapshots are not affected): {error}",
        s.LEDGER_FAILED: "the newest ledger run failed: {error}",
        s.DISAGREES: "on {count} day(s) kt00017's totals disagree with the ledger, newest {newest} ({mismatches}): see"
        " the view ledger_checks.",
        s.REALIZED_DISAGREES: "on {count} day(s) Kiwoom's realised figures (ka10074) disagree with the ledger,"
        " newest {newest} ({mismatches}): see the view realized_checks.",
        s.TOTALS_NOT_OFFERED: "this server does not offer the day totals (kt00017): {error}",
        s.TOTALS_FAILED: "the newest day-totals run (kt00017) failed ({reason}): {error}",
    }[note.what]
    said = words.format(
        count=note.count,
        newest=note.newest,
        mismatches=note.mismatches,
        reason=note.reason,
        error=shown(note.error),  # an older version may have stored the error unmasked
    )
    return f"{displayable(note.account_no)}: {said}"


def spool_line(summary: SpoolSummary, schedule: Schedule) -> str:
    """The spool's line of `status`: how much waits, since when."""
    if not summary.count:
        return "Spool: empty."
    oldest = local_text(summary.oldest, schedule.zone) if summary.oldest else "?"
    return (
        f"Spool: {summary.count} snapshot(s) waiting ({summary.size / 1024:.0f} KiB, the oldest captured "
        f"{oldest}): run `kiwoom-etl flush` (`kiwoom-etl doctor` names the database each was spooled for)."
    )


def newest_run_words(newest: NewestRun | None, schedule: Schedule) -> str:
    """What `status` says when nothing ran in the last week."""
    if newest is None:
        return "no snapshot was ever attempted here: is the daemon running?"
    return (
        f"the newest run is {newest.status}, started {local_text(newest.started_at, schedule.zone)} "
        f"({newest.account_no} {newest.exchange or '-'}): is the daemon running?"
    )
