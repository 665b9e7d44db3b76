"""The market jobs: the instrument master (ka10099's lists, then ka10100 for the codes no list had) and the daily bars
(ka20006 for the benchmark indexes, ka10081 for every stock the accounts held or traded), driven by their
declarations (etl.apis.instruments, etl.apis.charts).

They are account jobs without an account: one run per API (etl_runs.account_no NULL), asked with the first configured
account's app key, a request per market list or per code; a daemon's run is claimed for its day, so that replicas
take it once. A chart request asks base_dt = the range's last day and follows the pages back until one reaches a
day before its first. Pages, refusals, 8104 and the stop are etl.jobs.account_job's.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, ClassVar

from etl.apis.api import RowsApi
from etl.apis.charts import INDEX_DAILY, STOCK_DAILY
from etl.apis.instruments import INSTRUMENT_SINGLE, INSTRUMENTS
from etl.clock import KST
from etl.errors import ApiError, SlotClaimed, StorageError
from etl.jobs.account_job import AccountJob, RangeResult, Request
from etl.kiwoom.pages import Page
from etl.normalize.charts import oldest_day
from etl.normalize.instruments import CODE, LIST_ORDER
from etl.store.engine import storage_errors
from etl.store.instruments import held_or_traded, known_codes
from etl.store.models import Reason, RunStatus

log = logging.getLogger(__name__)


def askable(codes: Sequence[str], what: str) -> list[str]:
    """The codes held or traded that Kiwoom can be asked about: six digits or capital letters, as its instrument
    lists write them. Another (a fund's, or a line Kiwoom wrote oddly) is named in a warning and not asked, since
    the answer about it would be refused every day."""
    odd = [code for code in codes if not CODE.fullmatch(code)]
    if odd:
        log.warning(
            "%d code(s) held or traded are not KRX codes (six digits or capital letters), so %s are not asked for"
            " them: %s",
            len(odd),
            what,
            ", ".join(ascii(code) for code in odd),
        )
    return [code for code in codes if CODE.fullmatch(code)]


MARKET = "market"  # how a market run's result names its owner: no account's


@dataclass
class MarketResult(RangeResult):
    """How one run of a market API ended: the codes (or market lists) it asked, and its range for the charts."""

    codes: tuple[str, ...] = ()


@dataclass
class InstrumentsResult(MarketResult):
    api: ClassVar[RowsApi] = INSTRUMENTS


@dataclass
class SingleInstrumentsResult(MarketResult):
    api: ClassVar[RowsApi] = INSTRUMENT_SINGLE


@dataclass
class IndexDailyResult(MarketResult):
    api: ClassVar[RowsApi] = INDEX_DAILY


@dataclass
class StockDailyResult(MarketResult):
    api: ClassVar[RowsApi] = STOCK_DAILY


class MarketJob(AccountJob[Any]):
    """One run of a market API over the codes `_codes` gives (none: no run)."""

    def run(self, *, trigger: str = "manual", scheduled_for: datetime | None = None, **options: Any) -> list[Any]:
        """The run, asked with the first configured account's key: [] when there is nothing to ask, or the day is
        another replica's (`scheduled_for`)."""
        account = self.settings.require_accounts()[0]
        if self.unsupported is not None:
            return [self.result_type(MARKET, RunStatus.SKIPPED, Reason.NOT_SUPPORTED, error=self.unsupported)]
        try:
            result = self._begin(MARKET, **options)
            if not result.codes:
                return []
            return [self._execute(self.fetcher.client(account), result, trigger, scheduled_for)]
        except SlotClaimed:
            log.info("%s: today's run is another process's", self.api.what)
            return []
        except ApiError as exc:
            return [self.result_type(MARKET, RunStatus.FAILED, Reason.API_ERROR, error=str(exc))]
        except StorageError as exc:  # no run could be recorded
            log.error("%s: %s", self.api.what, exc)
            return [self.result_type(MARKET, RunStatus.FAILED, Reason.DATABASE_ERROR, error=str(exc))]

    def _requests(self, result: Any) -> Iterator[Request]:
        for code in result.codes:
            yield Request({"code": code}, code, asked=code)


class InstrumentsJob(MarketJob):
    """ka10099: every market list kiwoom-etl reads, in LIST_ORDER (the last list holding a code decides it)."""

    result_type = InstrumentsResult

    def _begin(self, account_no: str, **options: Any) -> InstrumentsResult:
        return InstrumentsResult(account_no, RunStatus.RUNNING, codes=tuple(LIST_ORDER))

    def _requests(self, result: Any) -> Iterator[Request]:
        for market in result.codes:
            yield Request({"market": market}, f"list {market}", asked=market)


class SingleInstrumentsJob(MarketJob):
    """ka10100 for each code given (`codes`), else for each code the accounts held or traded that the instrument
    master lacks."""

    result_type = SingleInstrumentsResult

    def _begin(self, account_no: str, *, codes: Sequence[str] | None = None, **options: Any) -> SingleInstrumentsResult:
        if codes is None:
            with storage_errors(self.engine, "finding codes without an instrument"), self.engine.connect() as c:
                known = known_codes(c, INSTRUMENTS.table)
                codes = [code for code in askable(held_or_traded(c), "their instruments") if code not in known]
        return SingleInstrumentsResult(account_no, RunStatus.RUNNING, codes=tuple(codes))


class ChartJob(MarketJob):
    """A chart API's bars over [since, until] (until: today) for each code; the pages are followed back until one
    reaches a day before `since`."""

    def _codes(self) -> Sequence[str]:
        raise NotImplementedError

    def _begin(
        self, account_no: str, *, since: date | None = None, until: date | None = None, **options: Any
    ) -> MarketResult:
        last = until or self.clock().astimezone(KST).date()
        result: MarketResult = self.result_type(
            account_no, RunStatus.RUNNING, since=since or last, until=last, codes=tuple(self._codes())
        )
        return result

    def _requests(self, result: Any) -> Iterator[Request]:
        for code in result.codes:
            yield Request({"code": code, "until": result.until}, code, asked=code)

    def _enough(self, page: Page, request: Request, result: Any) -> bool:
        oldest = oldest_day(page, str(self.api.endpoint.list_key))
        return oldest is not None and oldest < result.since


class IndexDailyJob(ChartJob):
    """ka20006 for the `[benchmarks] indexes`."""

    result_type = IndexDailyResult

    def _codes(self) -> Sequence[str]:
        return self.settings.benchmark_indexes


class StockDailyJob(ChartJob):
    """ka10081 for every stock the accounts held (position_snapshots) or traded (the ledger)."""

    result_type = StockDailyResult

    def _codes(self) -> Sequence[str]:
        with storage_errors(self.engine, "finding the stocks held or traded"), self.engine.connect() as connection:
            return askable(held_or_traded(connection), "their daily bars")
