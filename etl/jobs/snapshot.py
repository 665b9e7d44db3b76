"""One snapshot of configured accounts × exchanges: flush the spool, then fetch every page, then load.

`Snapshotter.take` is the routine the command line runs once (`snapshot`) and the daemon runs at every slot, from
several threads. One account's failure never stops the others; every attempt leaves an etl_runs row, and what
was fetched while the database was away goes to the spool.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from etl.apis.snapshot import SNAPSHOT
from etl.clock import utc_text
from etl.errors import BadResponse, DatabaseUnavailable, EtlError, SlotClaimed, SpoolError, StorageError
from etl.jobs.flush import FlushReport, flush
from etl.jobs.job import Job
from etl.jobs.spool import Spool
from etl.kiwoom.client import KiwoomClient
from etl.kiwoom.pages import Page
from etl.redact import mask_urls
from etl.settings import Account
from etl.store.capture import Capture
from etl.store.engine import transaction
from etl.store.identity import DatabaseIdentity, identity_of, learn_identity
from etl.store.load import Loaded, load
from etl.store.models import Reason, RunStatus
from etl.store.runs import Run, SlotClaims, start_run

log = logging.getLogger(__name__)

SPOOLED = "spooled"  # a result's status when the snapshot went to the spool (not an etl_runs status)


@dataclass(frozen=True)
class SnapshotResult:
    """How one account × exchange snapshot ended."""

    account: str
    exchange: str
    status: str  # an etl_runs status, or SPOOLED
    reason: Reason | None = None
    run_id: int | None = None
    snapshot_id: int | None = None
    positions: int | None = None
    pages: int = 0
    seconds: float = 0.0
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == RunStatus.SUCCESS


class Snapshotter(Job):
    """Which accounts and exchanges, in what order, and where a snapshot goes when the database cannot take it."""

    def _prepare(self) -> None:
        self.spool = Spool(self.settings.state_dir)
        self.last_flush = FlushReport()  # what the newest `take` flushed first, for the command line to tell
        self.target: DatabaseIdentity = identity_of(self.engine.url)  # what spool files name; its system id once known
        self._warned_fields: set[str] = set()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Snapshotter({self.settings!r})"

    def learn_target(self) -> None:
        """Learn the database's system identifier (PostgreSQL), once, while it answers: spool files name it."""
        if self.target.backend == "postgresql" and self.target.system_identifier is None:
            self.target = learn_identity(self.engine)

    def flush(self) -> FlushReport:
        """Load what the spool holds for this database, oldest first (nothing to do when it is empty)."""
        if not self.spool.paths():
            return FlushReport()
        self.learn_target()
        report = flush(self.engine, self.spool, clock=self.clock, here=self.target)
        if report.handled:
            log.info("loaded %d spooled snapshot(s); %d left", report.handled, report.left)
        return report

    def take(
        self,
        accounts: Sequence[Account] | None = None,
        *,
        trigger: str = "manual",
        scheduled_for: datetime | None = None,
        exchanges: Sequence[str] | None = None,
        claims: SlotClaims | None = None,
        unusable: str | None = None,
    ) -> list[SnapshotResult]:
        """Flush, then snapshot each account (default: all configured) on each of `exchanges` (default: its own),
        into the runs of `claims` where it holds them (the others are claimed one by one). With `unusable` (why the
        database cannot be used), the database is not touched: every snapshot is fetched and spooled."""
        if unusable is None:
            self.learn_target()
        self.last_flush = FlushReport() if unusable else self.flush()  # older snapshots first
        results: list[SnapshotResult] = []
        for account in accounts if accounts is not None else self.settings.require_accounts():
            results.extend(
                self.account(
                    account,
                    trigger=trigger,
                    scheduled_for=scheduled_for,
                    exchanges=exchanges,
                    claims=claims,
                    unusable=unusable,
                )
            )
        return results

    def account(
        self,
        account: Account,
        *,
        trigger: str,
        scheduled_for: datetime | None = None,
        exchanges: Sequence[str] | None = None,
        claims: SlotClaims | None = None,
        unusable: str | None = None,
    ) -> list[SnapshotResult]:
        """Learn the account number (ka00001, once), then snapshot each of its exchanges in `exchanges`."""
        wanted = [x for x in account.exchanges if exchanges is None or x in exchanges]
        client = self.fetcher.client(account)
        try:
            number = self.fetcher.account_number(account, client)
        except Exception as exc:  # noqa: BLE001 - whatever it is, it is recorded against each exchange below
            known_as = self.fetcher.known.account_no(account)  # its name, its number from before, or its label
            error, reason = _describe(exc, account.label)
            error = f"cannot read the account number: {error}"
            return [
                self._unfetched(known_as, x, trigger, scheduled_for, error, reason, claims, unusable) for x in wanted
            ]
        account_no = account.name or number
        return [
            self.exchange(
                client, account_no, x, trigger=trigger, scheduled_for=scheduled_for, claims=claims, unusable=unusable
            )
            for x in wanted
        ]

    def exchange(
        self,
        client: KiwoomClient,
        account_no: str,
        exchange: str,
        *,
        trigger: str,
        scheduled_for: datetime | None = None,
        claims: SlotClaims | None = None,
        unusable: str | None = None,
    ) -> SnapshotResult:
        """Claim the slot (or take its run from `claims`), fetch every kt00005 page of one exchange, load them;
        record the run.

        Fetching never depends on the database: when it cannot be reached, or fails for a reason that is not the
        data's, the pages go to the spool (`kiwoom-etl flush` loads them later).
        """
        started = time.monotonic()
        try:
            run = self._claim(account_no, exchange, trigger, scheduled_for, claims, unusable)
        except SlotClaimed:
            return _claimed(account_no, exchange)
        except DatabaseUnavailable as exc:
            run, unusable = None, str(exc)
        capture = self._fetch(client, account_no, exchange, trigger, scheduled_for, run)
        return self._finish(run, capture, started, unusable)

    def _claim(
        self,
        account_no: str,
        exchange: str,
        trigger: str,
        slot: datetime | None,
        claims: SlotClaims | None,
        unusable: str | None,
    ) -> Run | None:
        """The run of this attempt: claimed already with the slot's others, or now in a commit of its own; None
        when the database is known to be unusable. Raises DatabaseUnavailable when it turns out to be."""
        if unusable is not None:
            return None
        claimed = None if claims is None else claims.take(account_no, exchange)
        if claimed is not None:
            return claimed
        try:
            return start_run(
                self.engine,
                trigger=trigger,
                started_at=self.clock(),
                account_no=account_no,
                exchange=exchange,
                scheduled_for=slot,
            )
        except DatabaseUnavailable as exc:
            log.warning("%s %s: %s; going on without it (what is fetched is spooled)", account_no, exchange, exc)
            raise

    def _fetch(
        self,
        client: KiwoomClient,
        account_no: str,
        exchange: str,
        trigger: str,
        slot: datetime | None,
        run: Run | None,
    ) -> Capture:
        """Every page of the answer, and the error that cut it short, if any (the pages before it are kept)."""
        pages: list[Page] = []
        error, reason = None, None
        try:
            for page in client.pages(SNAPSHOT.endpoint, exchange=exchange):
                pages.append(page)
        except Exception as exc:  # noqa: BLE001 - a bug must not stop the other accounts either
            if isinstance(exc, BadResponse) and isinstance(exc.page, Page) and exc.page.api_id == SNAPSHOT.api_id:
                pages.append(exc.page)  # a broken page is kept, as received, with the ones before it
            error, reason = _describe(exc, f"{account_no} {exchange}")
        return Capture(
            account_no=account_no,
            exchange=exchange,
            trigger=trigger,
            captured_at=pages[0].received_at if pages else self.clock(),
            pages=tuple(pages),
            scheduled_for=slot,
            run_id=run.id if run else None,
            error=error,
            reason=reason,
        )

    def _finish(self, run: Run | None, capture: Capture, started: float, unusable: str | None = None) -> SnapshotResult:
        """Load the capture into its run; spool it when the database cannot take it; record what it refuses."""
        if run is None:
            return self._spool(capture, started, unusable or "the database could not be used")
        try:
            loaded = self._load(run, capture)
        except DatabaseUnavailable as exc:
            return self._spool(capture, started, str(exc))
        except StorageError as exc:  # the database refused this data: a failure to record, not to retry
            recorded = self._record_refusal(run, capture, exc)
            if recorded is None:
                return self._spool(capture.failed(str(exc), Reason.DATABASE_ERROR), started, str(exc))
            loaded = recorded
        return self._result(capture, loaded, started)

    def _load(self, run: Run, capture: Capture) -> Loaded:
        with transaction(self.engine, "loading a snapshot") as connection:
            (loaded,) = load(connection, [(run, capture)], finished_at=self.clock())
        self._warn_unknown_fields(loaded.unknown_fields)
        return loaded

    def _record_refusal(self, run: Run, capture: Capture, refused: StorageError) -> Loaded | None:
        """Record a snapshot the database refused as failed, without the pages when they are what it refuses;
        None when not even that can be written."""
        error = str(refused) if capture.error is None else f"{capture.error}; and {refused}"
        for keep_pages in (True, False):
            if not keep_pages:
                error = f"{error}; its {len(capture.pages)} raw page(s) could not be stored either"
            try:
                return self._load(run, capture.failed(error, Reason.DATABASE_ERROR, keep_pages=keep_pages))
            except StorageError as again:
                log.error("%s %s: the failure could not be recorded: %s", capture.account_no, capture.exchange, again)
        return None

    def _unfetched(
        self,
        account_no: str,
        exchange: str,
        trigger: str,
        slot: datetime | None,
        error: str,
        reason: Reason,
        claims: SlotClaims | None,
        unusable: str | None,
    ) -> SnapshotResult:
        """Record an attempt that fetched nothing (the account number could not be read)."""
        started = time.monotonic()
        try:
            run = self._claim(account_no, exchange, trigger, slot, claims, unusable)
        except SlotClaimed:
            return _claimed(account_no, exchange)
        except DatabaseUnavailable:
            run = None
        capture = Capture(account_no, exchange, trigger, self.clock(), (), slot, error=error, reason=reason)
        if run is None:  # nothing was fetched, so nothing is spooled: the error is in the log
            log.error("%s %s: snapshot failed: %s", account_no, exchange, error)
            return SnapshotResult(account_no, exchange, RunStatus.FAILED, reason, error=error)
        return self._finish(run, capture, started, unusable)

    def _result(self, capture: Capture, loaded: Loaded, started: float) -> SnapshotResult:
        seconds = time.monotonic() - started
        extra = _log_extra(capture, loaded.status, seconds)
        if loaded.status == RunStatus.SUCCESS:
            # A run that serves no slot says why it ran (manual, event, catch_up…): the log tells them apart.
            slot = f" for slot {utc_text(capture.scheduled_for)}" if capture.scheduled_for else f" ({capture.trigger})"
            log.info(
                "%s %s%s: loaded %d position(s) from %d page(s) in %.2f s",
                capture.account_no,
                capture.exchange,
                slot,
                loaded.positions or 0,
                len(capture.pages),
                seconds,
                extra={**extra, "rows": loaded.positions},
            )
        else:
            log.error("%s %s: snapshot failed: %s", capture.account_no, capture.exchange, loaded.error, extra=extra)
        return SnapshotResult(
            account=capture.account_no,
            exchange=capture.exchange,
            status=loaded.status,
            reason=loaded.reason,
            run_id=loaded.run_id,
            snapshot_id=loaded.snapshot_id,
            positions=loaded.positions,
            pages=len(capture.pages),
            seconds=seconds,
            error=loaded.error,
        )

    def _spool(self, capture: Capture, started: float, why: str) -> SnapshotResult:
        """Keep what was fetched on disk until the database can take it."""
        seconds = time.monotonic() - started
        failed = SnapshotResult(
            capture.account_no, capture.exchange, RunStatus.FAILED, capture.reason, capture.run_id, error=why
        )
        if not capture.pages:  # nothing was fetched: there is nothing to keep, only the failure to tell
            log.error("%s %s: snapshot failed: %s; %s", capture.account_no, capture.exchange, capture.error, why)
            return failed
        try:
            path = self.spool.write(capture, self.target)
        except SpoolError as exc:
            log.critical(
                "%s %s: LOST — neither the database nor the spool could take the snapshot: %s; %s",
                capture.account_no,
                capture.exchange,
                why,
                exc,
                extra=_log_extra(capture, RunStatus.FAILED, seconds),
            )
            return SnapshotResult(
                capture.account_no, capture.exchange, RunStatus.FAILED, Reason.DATABASE_ERROR, error=f"{why}; {exc}"
            )
        log.warning(
            "%s %s: spooled to %s (%s)",
            capture.account_no,
            capture.exchange,
            path.name,
            why,
            extra=_log_extra(capture, SPOOLED, seconds),
        )
        return SnapshotResult(
            capture.account_no,
            capture.exchange,
            SPOOLED,
            Reason.SPOOLED,
            capture.run_id,
            pages=len(capture.pages),
            seconds=seconds,
            error=why,
        )

    def _warn_unknown_fields(self, names: frozenset[str]) -> None:
        """Log each field the contract does not know once per process (it stays in raw_responses)."""
        with self._lock:
            new = sorted(names - self._warned_fields)
            self._warned_fields.update(new)
        if new:
            log.warning(
                "%s sent field(s) the contract does not know, kept in raw_responses only: %s",
                SNAPSHOT.api_id,
                ", ".join(new),
            )


def _describe(exc: BaseException, who: str) -> tuple[str, Reason]:
    """The error text and reason of a failed fetch; a bug is logged with its traceback."""
    if isinstance(exc, StorageError):
        return str(exc), Reason.DATABASE_ERROR
    if isinstance(exc, EtlError):  # the API's errors, and answers it cannot use
        return str(exc), Reason.API_ERROR
    log.exception("%s: unexpected error", who)
    # A bug's text is no one's message: it may quote a URL with its password, and it goes to etl_runs and the spool.
    return f"internal error: {type(exc).__name__}: {mask_urls(str(exc))}", Reason.INTERNAL_ERROR


def _claimed(account_no: str, exchange: str) -> SnapshotResult:
    # Another daemon on the same database has this slot: it is theirs to take, and nothing is wrong.
    log.debug("%s %s: slot already claimed by another process", account_no, exchange)
    return SnapshotResult(
        account_no, exchange, RunStatus.SKIPPED, Reason.CLAIMED_ELSEWHERE, error="claimed by another process"
    )


def _log_extra(capture: Capture, status: str, seconds: float) -> dict[str, object]:
    return {
        "account": capture.account_no,
        "exchange": capture.exchange,
        "slot": capture.scheduled_for,
        "status": status,
        "seconds": round(seconds, 3),
    }
