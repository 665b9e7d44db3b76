"""One snapshot of configured accounts × exchanges: fetch every page, transform, load, record the run.

This is the job the command line runs once (`snapshot`) and the daemon runs on a timer, from several threads.
One account's failure never stops the others; every attempt leaves an etl_runs row.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine

from etl.clock import utc_now
from etl.console import table
from etl.errors import ApiError, BadResponse, DatabaseUnavailable, EtlError, SlotClaimed, SpoolError, StorageError
from etl.jobs.spool import Spool, Spooled
from etl.kiwoom.accounts import KnownAccounts
from etl.kiwoom.client import HttpSession, KiwoomClient, new_session
from etl.kiwoom.pacing import Pacer
from etl.kiwoom.pages import Page
from etl.kiwoom.retry import RetryPolicy
from etl.kiwoom.tokens import TokenCache
from etl.normalize.transform import transform
from etl.settings import Account, Settings
from etl.store.engine import transaction
from etl.store.load import FAILED, SKIPPED, SUCCESS, Run, start_run, write_failure, write_snapshot

log = logging.getLogger(__name__)

SPOOLED = "spooled"


@dataclass(frozen=True)
class SnapshotResult:
    """How one account × exchange snapshot ended."""

    account: str
    exchange: str
    status: str
    run_id: int | None = None
    snapshot_id: int | None = None
    positions: int | None = None
    pages: int = 0
    seconds: float = 0.0
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == SUCCESS


@dataclass
class Fetcher:
    """What every snapshot of a process shares: HTTP sessions (one a thread), the pacer, the token cache."""

    settings: Settings
    pacer: Pacer | None = None
    tokens: TokenCache | None = None
    clock: Callable[[], datetime] = utc_now
    observer: Callable[[ApiError], None] | None = None
    stop: threading.Event | None = None  # set when the daemon stops: retries give up instead of sleeping on
    _local: threading.local = field(default_factory=threading.local)
    _sessions: list[HttpSession] = field(default_factory=list)
    _warned_fields: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if self.pacer is None:
            self.pacer = Pacer(self.settings.rate_per_second, self.settings.rate_burst)
        if self.tokens is None:
            self.tokens = TokenCache(self.settings.state_dir)
        self.known = KnownAccounts(self.settings.state_dir, self.settings.base_url)
        self.spool = Spool(self.settings.state_dir)

    def __repr__(self) -> str:
        return f"Fetcher({self.settings!r})"

    def session(self) -> HttpSession:
        """This thread's keep-alive session (requests' sessions are not meant to be shared between threads)."""
        session: HttpSession | None = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = new_session()
            with self._lock:
                self._sessions.append(session)
        return session

    def client(self, account: Account) -> KiwoomClient:
        """A client for one account over this thread's session and the shared pacer and token cache."""
        assert self.pacer is not None and self.tokens is not None
        stopping = {"sleep": self.stop.wait, "cancelled": self.stop.is_set} if self.stop is not None else {}
        retry = RetryPolicy.from_settings(self.settings, observer=self.observer, **stopping)
        return KiwoomClient(
            self.settings,
            account,
            session=self.session(),
            pacer=self.pacer,
            tokens=self.tokens,
            retry=retry,
            clock=self.clock,
        )

    def account_number(self, account: Account, client: KiwoomClient) -> str:
        """The number behind the account's key: remembered, else asked (ka00001) and remembered."""
        number = self.known.number(account)
        if number is None:
            number, _ = client.account_number()
            self.known.remember(account, number)
        return number

    def close(self) -> None:
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()

    def warn_unknown_fields(self, names: frozenset[str]) -> None:
        """Log each field the contract does not know once per process (it stays in raw_responses)."""
        with self._lock:
            new = sorted(names - self._warned_fields)
            self._warned_fields.update(new)
        if new:
            log.warning(
                "kt00005 sent field(s) the contract does not know, kept in raw_responses only: %s", ", ".join(new)
            )


def snapshot_all(
    settings: Settings,
    engine: Engine,
    fetcher: Fetcher,
    *,
    trigger: str = "manual",
    scheduled_for: datetime | None = None,
) -> list[SnapshotResult]:
    """Snapshot every configured account on each of its exchanges, one after the other."""
    results: list[SnapshotResult] = []
    for account in settings.require_accounts():
        results.extend(snapshot_account(account, engine, fetcher, trigger=trigger, scheduled_for=scheduled_for))
    return results


def snapshot_account(
    account: Account,
    engine: Engine,
    fetcher: Fetcher,
    *,
    trigger: str,
    scheduled_for: datetime | None = None,
    exchanges: Sequence[str] | None = None,
) -> list[SnapshotResult]:
    """Learn the account number (ka00001, once), then snapshot each of `exchanges` (default: all configured)."""
    wanted = [x for x in account.exchanges if exchanges is None or x in exchanges]
    client = fetcher.client(account)
    try:
        number = fetcher.account_number(account, client)
    except Exception as exc:  # noqa: BLE001 - whatever it is, it is recorded against each exchange below
        if not isinstance(exc, EtlError):
            log.exception("%s: unexpected error", account.label)
        error = f"cannot read the account number: {_describe(exc)}"
        known_as = fetcher.known.account_no(account)  # its name, its number from an earlier run, or its label
        results = []
        for exchange in wanted:
            started = time.monotonic()
            run: Run | None = None
            try:
                run = _start(engine, fetcher, known_as, exchange, trigger, scheduled_for)
            except SlotClaimed:
                results.append(_claimed(known_as, exchange))
                continue
            except DatabaseUnavailable:
                pass  # nothing was fetched, so nothing is spooled: the error is in the log
            context = _Context(engine, fetcher, run, known_as, exchange, trigger, scheduled_for, started)
            results.append(_fail(context, (), error))
        return results
    account_no = account.name or number
    return [
        snapshot_exchange(client, engine, fetcher, account_no, exchange, trigger=trigger, scheduled_for=scheduled_for)
        for exchange in wanted
    ]


def snapshot_exchange(
    client: KiwoomClient,
    engine: Engine,
    fetcher: Fetcher,
    account_no: str,
    exchange: str,
    *,
    trigger: str,
    scheduled_for: datetime | None = None,
) -> SnapshotResult:
    """Claim the slot, fetch every kt00005 page for one exchange, transform and load them; record the run.

    Fetching never depends on the database: when it cannot be reached, or fails for a reason that is not the
    data's, the pages go to the spool (`kiwoom-etl flush` loads them later).
    """
    started = time.monotonic()
    run: Run | None = None
    try:
        run = _start(engine, fetcher, account_no, exchange, trigger, scheduled_for)
    except SlotClaimed:
        return _claimed(account_no, exchange)
    except DatabaseUnavailable as exc:
        log.warning("%s %s: %s; fetching anyway, to spool", account_no, exchange, exc)
    pages: list[Page] = []
    context = _Context(engine, fetcher, run, account_no, exchange, trigger, scheduled_for, started)
    try:
        for page in client.balance_pages(exchange):
            pages.append(page)
        snapshot = transform(
            [page.data or {} for page in pages],
            account_no=account_no,
            exchange=exchange,
            captured_at=pages[0].received_at,
            scheduled_for=scheduled_for,
        )
        fetcher.warn_unknown_fields(snapshot.unknown_fields)
    except Exception as exc:  # noqa: BLE001 - a bug must not stop the other accounts either
        if isinstance(exc, BadResponse) and isinstance(exc.page, Page) and exc.page.api_id == "kt00005":
            pages.append(exc.page)  # a broken page is kept, as received, with the ones before it
        if not isinstance(exc, EtlError):
            log.exception("%s %s: unexpected error", account_no, exchange)
        return _fail(context, pages, _describe(exc))
    if run is None:
        return _spool(context, pages, None, "the database could not be reached")
    try:
        with transaction(engine, "loading a snapshot") as connection:
            snapshot_id = write_snapshot(connection, run, snapshot, pages, fetcher.clock())
    except DatabaseUnavailable as exc:
        return _spool(context, pages, None, str(exc))
    except StorageError as exc:  # the database refused this data: a failure to record, not to retry
        return _fail(context, pages, str(exc))
    seconds = time.monotonic() - started
    slot = f" for slot {scheduled_for.isoformat()}" if scheduled_for else ""
    log.info(
        "%s %s%s: loaded %d position(s) from %d page(s) in %.2f s",
        account_no,
        exchange,
        slot,
        len(snapshot.positions),
        len(pages),
        seconds,
        extra={
            "account": account_no,
            "exchange": exchange,
            "slot": scheduled_for,
            "rows": len(snapshot.positions),
            "seconds": round(seconds, 3),
            "status": SUCCESS,
        },
    )
    return SnapshotResult(
        account=account_no,
        exchange=exchange,
        status=SUCCESS,
        run_id=run.id,
        snapshot_id=snapshot_id,
        positions=len(snapshot.positions),
        pages=len(pages),
        seconds=seconds,
    )


@dataclass(frozen=True)
class _Context:
    """What the ways a snapshot can end share."""

    engine: Engine
    fetcher: Fetcher
    run: Run | None
    account_no: str
    exchange: str
    trigger: str
    slot: datetime | None
    started: float

    def result(self, status: str, pages: int, error: str | None) -> SnapshotResult:
        return SnapshotResult(
            account=self.account_no,
            exchange=self.exchange,
            status=status,
            run_id=self.run.id if self.run else None,
            pages=pages,
            seconds=time.monotonic() - self.started,
            error=error,
        )

    def log_extra(self, status: str) -> dict[str, object]:
        return {
            "account": self.account_no,
            "exchange": self.exchange,
            "slot": self.slot,
            "status": status,
            "seconds": round(time.monotonic() - self.started, 3),
        }


def _describe(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, EtlError) else f"internal error: {type(exc).__name__}: {exc}"


def _start(
    engine: Engine, fetcher: Fetcher, account_no: str, exchange: str, trigger: str, scheduled_for: datetime | None
) -> Run:
    return start_run(
        engine,
        trigger=trigger,
        started_at=fetcher.clock(),
        account_no=account_no,
        exchange=exchange,
        scheduled_for=scheduled_for,
    )


def _claimed(account_no: str, exchange: str) -> SnapshotResult:
    # Another daemon on the same database has this slot: it is theirs to take, and nothing is wrong.
    log.debug("%s %s: slot already claimed by another process", account_no, exchange)
    return SnapshotResult(account=account_no, exchange=exchange, status=SKIPPED, error="claimed by another process")


def _fail(context: _Context, pages: Sequence[Page], error: str) -> SnapshotResult:
    """Record a failed snapshot with the pages that arrived; spooled when the database cannot take even that."""
    c = context
    log.error("%s %s: snapshot failed: %s", c.account_no, c.exchange, error, extra=c.log_extra(FAILED))
    if c.run is None:
        return _spool(c, pages, error, "the database could not be reached") if pages else c.result(FAILED, 0, error)
    try:
        _record_failure(c, error, pages)
    except DatabaseUnavailable as storage:
        return _spool(c, pages, error, str(storage)) if pages else c.result(FAILED, 0, error)
    except StorageError as storage:
        # The pages may be what the database refuses; the failure itself must still be recorded.
        error = f"{error}; its {len(pages)} raw page(s) could not be stored either: {storage}"
        try:
            _record_failure(c, error, ())
        except StorageError as again:
            # Whatever the database has against it, what was fetched is kept.
            if pages:
                return _spool(c, pages, error, str(again))
            log.error("%s %s: the failure could not be recorded either: %s", c.account_no, c.exchange, again)
    return c.result(FAILED, len(pages), error)


def _record_failure(c: _Context, error: str, pages: Sequence[Page]) -> None:
    assert c.run is not None
    with transaction(c.engine, "recording a failed run") as connection:
        write_failure(
            connection, c.run, error, c.fetcher.clock(), account_no=c.account_no, exchange=c.exchange, pages=pages
        )


def _spool(context: _Context, pages: Sequence[Page], error: str | None, why: str) -> SnapshotResult:
    """Keep what was fetched on disk until the database can take it."""
    c = context
    item = Spooled(
        account_no=c.account_no,
        exchange=c.exchange,
        trigger=c.trigger,
        captured_at=pages[0].received_at if pages else c.fetcher.clock(),
        pages=tuple(pages),
        scheduled_for=c.slot,
        run_id=c.run.id if c.run else None,
        error=error,
    )
    try:
        path = c.fetcher.spool.write(item)
    except SpoolError as exc:
        log.critical(
            "%s %s: LOST — neither the database nor the spool could take the snapshot: %s; %s",
            c.account_no,
            c.exchange,
            why,
            exc,
            extra=c.log_extra(FAILED),
        )
        return c.result(FAILED, len(pages), f"{why}; and {exc}")
    log.warning("%s %s: spooled to %s (%s)", c.account_no, c.exchange, path.name, why, extra=c.log_extra(SPOOLED))
    return c.result(SPOOLED, len(pages), why)


def results_table(results: Sequence[SnapshotResult]) -> str:
    """The short table `snapshot` and `demo` print."""
    return table(
        ["account", "exchange", "status", "positions", "pages", "run", "seconds"],
        [(r.account, r.exchange, r.status, r.positions, r.pages, r.run_id, f"{r.seconds:.2f}") for r in results],
    )
