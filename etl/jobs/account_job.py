"""What the per-account API jobs share, driven by their API's declaration (etl.apis): one etl_runs row per account a
run, one account's failure never stopping the next, and a server or an account that said it does not offer the API
(8104: not on the mock server; 8200: not for a company's account) asked no more until restart. A run asks today's
answer once (a `day` claim) or its range a calendar month at a time (a `range` claim); each request's pages go to
raw_responses with their rows, in one transaction, and a page off the contract refuses its request's rows (kept,
counted, loaded by `replay` once the transform reads it). Snapshots are not touched by any of it.

A market API's job (etl.jobs.market) is one of these without an account: its one run (`_execute`) asks a request
per market list or code (`_requests`), keeps what each asked in raw_responses.asked, and may stop paging once it
has read far enough (`_enough`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import Connection, insert, update

from etl.apis.api import Api, Claim, Rows, RowsApi
from etl.errors import (
    ApiError,
    BadResponse,
    EtlError,
    NotSupported,
    RequestRejected,
    SlotClaimed,
    StorageError,
    TransformError,
)
from etl.jobs.job import Job
from etl.kiwoom.client import KiwoomClient
from etl.kiwoom.pages import Page
from etl.settings import Account
from etl.store.engine import transaction
from etl.store.load import page_row
from etl.store.models import EtlRun, RawResponse, Reason, RunStatus
from etl.store.runs import Run, start_run

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Request:
    """What one request of a run asks: the endpoint's parameters, how errors name it ("" for today's one request),
    and what it asked, kept in raw_responses.asked: a market API's list or code, ka10074's strt_dt-end_dt."""

    params: Mapping[str, Any]
    where: str
    asked: str | None = None


def months(start: date, end: date) -> Iterator[tuple[date, date]]:
    """[start, end] cut at calendar month boundaries, oldest first."""
    while start <= end:
        following = (start.replace(day=1) + timedelta(days=32)).replace(day=1)
        last = min(end, following - timedelta(days=1))
        yield start, last
        start = last + timedelta(days=1)


@dataclass
class AccountResult:
    """How one account's run of its API (`api`) ended."""

    api: ClassVar[Api]
    account: str
    status: str  # an etl_runs status
    reason: Reason | None = None
    run_id: int | None = None
    error: str | None = None
    pages: int = 0  # received
    rows: int = 0  # received: lines, days
    written: int = 0  # rows the load wrote (a row already stored from a later answer is left alone)
    refused: list[str] = field(default_factory=list)  # one text per refused page

    @property
    def ok(self) -> bool:
        return self.status == RunStatus.SUCCESS

    @property
    def count(self) -> int:
        """etl_runs.position_count of the run when it succeeded: the rows received."""
        return self.rows

    def failed(self, reason: Reason, error: str) -> None:
        self.status, self.reason, self.error = RunStatus.FAILED, reason, error


@dataclass
class RangeResult(AccountResult):
    """How one account's run over a range of days ended."""

    since: date | None = None
    until: date | None = None


R = TypeVar("R", bound=AccountResult)


class AccountJob(Job, Generic[R]):
    """The API of `result_type` for every configured account, in turn; a subclass says what one request's rows are
    (`_read`) and how they load (`_store`), by default as the API's declaration says."""

    result_type: type[R]
    stopped: ClassVar[str] = "stopped before every month was read"  # etl_runs.error of a run the daemon's stop cut

    def _prepare(self) -> None:
        """What the job remembers for the process; a subclass that needs more from the settings calls this first."""
        self.unsupported: str | None = None  # the server's answer when it said 8104: asked no more until restart
        self.refused_accounts: dict[str, str] = {}  # 8200 (a company's account): that account is not asked again
        self._warned_fields: set[str] = set()

    @property
    def api(self) -> Api:
        return self.result_type.api

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.settings!r})"

    def run(self, *, trigger: str = "manual", scheduled_for: datetime | None = None, **options: Any) -> list[R]:
        """Every configured account, one after the other; one account's failure never stops the next. A day
        another replica has claimed (`scheduled_for`) is left to it."""
        results = []
        for account in self.settings.require_accounts():
            if self.stop.is_set():
                break
            try:
                results.append(self.account(account, trigger=trigger, scheduled_for=scheduled_for, **options))
            except SlotClaimed:
                log.info("%s %s: today's run is another process's", account.label, self.api.what)
            except StorageError as exc:  # no run could be recorded; the next account may still be
                log.error("%s %s: %s", account.label, self.api.what, exc)
                results.append(self.result_type(account.label, RunStatus.FAILED, Reason.DATABASE_ERROR, error=str(exc)))
        return results

    def account(
        self, account: Account, *, trigger: str = "manual", scheduled_for: datetime | None = None, **options: Any
    ) -> R:
        """One account's run: its etl_runs row, the subclass's work (`_work`), and how it ended."""
        if self.unsupported is not None:
            return self.result_type(account.label, RunStatus.SKIPPED, Reason.NOT_SUPPORTED, error=self.unsupported)
        try:
            client = self.fetcher.client(account)
            # What the snapshots call it too, so that the views join the ledger to them: its name, else its number.
            account_no = account.name or self.fetcher.account_number(account, client)
        except ApiError as exc:
            return self.result_type(account.label, RunStatus.FAILED, Reason.API_ERROR, error=str(exc))
        if account_no in self.refused_accounts:
            refusal = self.refused_accounts[account_no]
            return self.result_type(account_no, RunStatus.SKIPPED, Reason.NOT_SUPPORTED, error=refusal)
        return self._execute(client, self._begin(account_no, **options), trigger, scheduled_for)

    def _execute(self, client: KiwoomClient, result: R, trigger: str, scheduled_for: datetime | None) -> R:
        """The run of `result` (an account's, or none's for a market API): its etl_runs row, claimed for its day
        when `scheduled_for` (SlotClaimed when another process has it), the subclass's work, and how it ended."""
        account_no = result.account if self.api.per_account else None
        run = start_run(
            self.engine,
            trigger=trigger,
            started_at=self.clock(),
            account_no=account_no,
            exchange=None,
            scheduled_for=scheduled_for,
            api_id=self.api.api_id,
        )
        result.run_id = run.id
        began = time.monotonic()
        try:
            self._work(client, run, result)
        except NotSupported as exc:
            if exc.reason == "8200" and account_no is not None:  # this account (a company's) only
                self.refused_accounts[account_no] = str(exc)
                log.warning("%s: not offered to this account; not asked again until restart", exc)
            else:
                self.unsupported = str(exc)
                log.warning("%s: this server does not offer it; not asked again until restart", exc)
            result.failed(Reason.NOT_SUPPORTED, str(exc))
        except ApiError as exc:
            result.failed(Reason.API_ERROR, str(exc))
        except StorageError as exc:
            result.failed(Reason.DATABASE_ERROR, str(exc))
        self._finish(run, result, int((time.monotonic() - began) * 1000))
        return result

    def _begin(self, account_no: str, **options: Any) -> R:
        """The result of a run of `account_no` that begins now (status running)."""
        return self.result_type(account_no, RunStatus.RUNNING)

    def _requests(self, result: R) -> Iterator[Request]:
        """What the run asks, request by request: today once, or its range a calendar month at a time."""
        if self.api.claim is Claim.DAY:
            yield Request({}, "")
            return
        if not isinstance(result, RangeResult) or result.since is None or result.until is None:
            raise ValueError(f"a {self.api.what} run needs its range")
        for start, end in months(result.since, result.until):
            yield Request({"start": start, "end": end}, f"{start} – {end}")

    def _enough(self, page: Page, request: Request, result: R) -> bool:
        """Whether `page` reached far enough that the request's next pages are not wanted (a chart paging back)."""
        return False

    def _work(self, client: KiwoomClient, run: Run, result: R) -> None:
        """Fetch and store one answer, request by request, setting `result`'s status; raise ApiError or StorageError.
        The requests after a refused page still load, and so do a market API's after one whose answer was unusable
        (a continuation chain that loops or never ends) or that Kiwoom refused (a code it will not chart): that is
        the code's, not the server's. A stop leaves the rest to the next run."""
        broken: list[str] = []  # a market API's requests whose answer was unusable or refused, each named
        for request in self._requests(result):
            # The requests not made yet are the next run's (today's one request, which asks nothing, is made).
            if request.params and self.stop.is_set():
                result.failed(Reason.ABANDONED, self.stopped)
                return
            pages: list[Page] = []
            try:
                for page in client.pages(self.api.endpoint, **request.params):
                    pages.append(page)
                    if self._enough(page, request, result):
                        break
            except (BadResponse, RequestRejected) as exc:
                # An account's answer, or a server that does not offer the API: the run stops, as for any API error.
                if self.api.per_account or isinstance(exc, NotSupported):
                    raise
                broken.append(f"{request.where}: {exc}")
                log.warning("%s %s: %s: %s", result.account, self.api.what, request.where, exc)
            finally:  # what came before a failure is kept
                result.pages += len(pages)
                self._take(run, request, pages, result)
        if broken:
            result.failed(Reason.API_ERROR, "; ".join([*broken, *result.refused]))
        elif not result.refused:
            result.status = RunStatus.SUCCESS
        elif self.api.claim is Claim.DAY:
            result.failed(Reason.PAYLOAD_REFUSED, result.refused[0])
        else:
            result.failed(
                Reason.PAYLOAD_REFUSED, f"{len(result.refused)} page(s) refused: " + "; ".join(result.refused)
            )

    def _take(self, run: Run, request: Request, pages: Sequence[Page], result: R) -> None:
        """Store one request's pages, and its rows unless a page is refused."""
        if not pages:
            return
        rows: list[Any] = []
        refused = False
        whose = result.account if self.api.per_account else str(request.asked)
        for page in pages:
            try:
                read = self._read(page, whose, len(rows))
                self._check(request, read.rows, page, len(rows))
            except TransformError as exc:
                where = f"{request.where} page {page.page_no}: " if request.where else ""
                result.refused.append(f"{where}{exc}")
                log.warning("%s %s: page %d refused: %s", result.account, self.api.what, page.page_no, exc)
                refused = True
                continue
            rows += read.rows
            self._warn_unknown_fields(read.unknown_fields)
        result.rows += len(rows)
        with transaction(self.engine, f"loading the {self.api.what}") as connection:
            account_no = result.account if self.api.per_account else None
            connection.execute(
                insert(RawResponse),
                [page_row(page, run.id, account_no, None, asked=request.asked) for page in pages],
            )
            if not refused:
                self._store(connection, run, rows, pages, result)

    def _read(self, page: Page, account_no: str, first_line: int) -> Rows:
        """One page's rows, numbered on from `first_line` in errors; TransformError when it is off the contract."""
        return self._rows_api().read(page, account_no, first_line)

    def _check(self, request: Request, rows: Sequence[Any], page: Page, first_line: int) -> None:
        """Refuse (TransformError) a page whose rows are not an answer to `request`, as its API's declaration holds
        them to what was asked (replay holds the kept page to it again); without a check every row is."""
        if isinstance(self.api, RowsApi):
            self.api.hold_to_asked(rows, request.asked, page, first_line)

    def _store(self, connection: Connection, run: Run, rows: Sequence[Any], pages: Sequence[Page], result: R) -> None:
        """Load one request's rows (of `pages`) in the caller's transaction."""
        result.written += self._rows_api().load(connection, rows, run.id)

    def _rows_api(self) -> RowsApi:
        if not isinstance(self.api, RowsApi):
            raise TypeError(f"{self.api.api_id}: its job reads and stores its pages itself")
        return self.api

    def _warn_unknown_fields(self, names: frozenset[str]) -> None:
        """Log each field the contract does not know once per process (it stays in raw_responses)."""
        new = names - self._warned_fields
        if new:
            self._warned_fields |= new
            log.warning(
                "%s sent field(s) the contract does not know, kept in raw_responses: %s", self.api.api_id, sorted(new)
            )

    def _finish(self, run: Run, result: R, duration_ms: int) -> None:
        values = {
            "status": result.status,
            "reason": result.reason,
            "error": result.error,
            "finished_at": self.clock(),
            "page_count": result.pages,
            "position_count": result.count if result.ok else None,
            "duration_ms": duration_ms,
        }
        try:
            with transaction(self.engine, f"finishing the {self.api.what} run") as connection:
                connection.execute(update(EtlRun).where(EtlRun.id == run.id).values(**values))
        except EtlError as exc:  # the run stays `running` and is closed as abandoned later
            log.error("%s %s: the run's end could not be recorded: %s", result.account, self.api.what, exc)
