"""What the per-account API jobs share (the ledger, kt00015; the day's totals, kt00017): one etl_runs row per
account a run, one account's failure never stopping the next, and a server or an account that said it does not
offer the API (8104: not on the mock server; 8200: not for a company's account) asked no more until restart.
Snapshots are not touched by any of it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import Engine, update

from etl.clock import utc_now
from etl.errors import ApiError, EtlError, NotSupported, SlotClaimed, StorageError
from etl.kiwoom.client import KiwoomClient
from etl.kiwoom.fetcher import Fetcher
from etl.settings import Account, Settings
from etl.store.engine import transaction
from etl.store.models import EtlRun, Reason, RunStatus
from etl.store.runs import Run, start_run

log = logging.getLogger(__name__)


@dataclass
class AccountResult:
    """How one account's run ended."""

    account: str
    status: str  # an etl_runs status
    reason: Reason | None = None
    run_id: int | None = None
    error: str | None = None
    pages: int = 0  # received

    @property
    def ok(self) -> bool:
        return self.status == RunStatus.SUCCESS

    @property
    def count(self) -> int | None:
        """etl_runs.position_count of the run when it succeeded."""
        return None

    def failed(self, reason: Reason, error: str) -> None:
        self.status, self.reason, self.error = RunStatus.FAILED, reason, error


R = TypeVar("R", bound=AccountResult)


class AccountJob(Generic[R]):
    """One API for every configured account, in turn; subclasses read and store one account's answer."""

    api_id: ClassVar[str]
    what: ClassVar[str]  # how the log names it: "ledger"
    result_type: type[R]

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        fetcher: Fetcher | None = None,
        *,
        clock: Callable[[], datetime] = utc_now,
        stop: threading.Event | None = None,
    ) -> None:
        self.settings = settings
        self.stop = stop or threading.Event()  # set: no next account is started
        self.engine = engine
        self.fetcher = fetcher or Fetcher(settings, clock=clock)
        self.clock = clock
        self.unsupported: str | None = None  # the server's answer when it said 8104: asked no more until restart
        self.refused_accounts: dict[str, str] = {}  # 8200 (a company's account): that account is not asked again

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
                log.info("%s %s: today's run is another process's", account.label, self.what)
            except StorageError as exc:  # no run could be recorded; the next account may still be
                log.error("%s %s: %s", account.label, self.what, exc)
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
        result = self._begin(account_no, **options)
        run = start_run(
            self.engine,
            trigger=trigger,
            started_at=self.clock(),
            account_no=account_no,
            exchange=None,
            scheduled_for=scheduled_for,
            api_id=self.api_id,
        )
        result.run_id = run.id
        began = time.monotonic()
        try:
            self._work(client, run, result)
        except NotSupported as exc:
            if exc.reason == "8200":  # this account (a company's) only
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

    def _work(self, client: KiwoomClient, run: Run, result: R) -> None:
        """Fetch and store one account's answer, setting `result`'s status; raise ApiError or StorageError."""
        raise NotImplementedError

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
            with transaction(self.engine, f"finishing the {self.what} run") as connection:
                connection.execute(update(EtlRun).where(EtlRun.id == run.id).values(**values))
        except EtlError as exc:  # the run stays `running` and is closed as abandoned later
            log.error("%s %s: the run's end could not be recorded: %s", result.account, self.what, exc)
