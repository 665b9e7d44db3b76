"""What a declaration of one Kiwoom API says: its endpoint (the wire), what it is called, how a run of it is claimed,
the tables its runs write and, for the APIs whose rows load alike, its normaliser and its load.

In the manner of a REST stream (meltano's `RESTStream`): the declaration says what, the generic parts — the client,
the account jobs, replay, status, the metrics — do the how, and none of them names an API of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import Connection, Table

from etl.kiwoom.endpoints import Endpoint
from etl.kiwoom.pages import Page
from etl.store.dictionary import Counted
from etl.store.models import EtlRun, RawResponse


class Claim(StrEnum):
    """How a run of the API is claimed, and so what one run asks."""

    SLOT = "slot"  # a run per account × exchange × scheduled slot, one request chain per exchange
    DAY = "day"  # one request, answered for today only: a run per account and day
    RANGE = "range"  # a run reads [since, until], a calendar month a request; a daily run is claimed for its day


@dataclass(frozen=True)
class RunsMetric:
    """The daemon's counter of the API's runs by result and reason, kiwoom_etl_<name>_runs."""

    name: str  # "ledger"
    title: str  # how its help text names the runs: "Account ledger"


@dataclass(frozen=True)
class Rows:
    """What a normaliser made of one page: rows for the API's table, and the field names the contract does not know
    (they stay in the raw page)."""

    rows: tuple[Any, ...]  # dicts of column → value; the ledger's classified lines
    unknown_fields: frozenset[str]


# (page, whose: its account_no, or what a market API's request asked, number of its first line in errors) → its rows;
# TransformError when a value is off the contract.
Read = Callable[[Page, str, int], Rows]
# (a page's rows, what its request asked (raw_responses.asked), the page, number of its first line in errors): a
# TransformError when the rows are not an answer to what was asked (ka10074: a day outside strt_dt–end_dt).
Check = Callable[[Sequence[Any], str, Page, int], None]


class Store(Protocol):
    """A load: one account's rows into `table`, in the caller's transaction; how many rows were written."""

    def __call__(self, connection: Connection, table: Table, rows: Iterable[dict[str, Any]], *, run_id: int) -> int:
        """Write `rows` of run `run_id`."""


@dataclass(frozen=True, kw_only=True)
class Api:
    """One Kiwoom API the project fetches."""

    endpoint: Endpoint
    what: str  # how logs, errors, transactions, etl_runs' docs and replay's report name it: "ledger"
    fetched: str  # what its runs fetched, as etl_runs.api_id's doc says: "the ledger"
    counted: Counted  # what etl_runs.position_count holds for its runs: Counted("ledger lines", "received")
    claim: Claim
    table: Table  # where its rows go
    also_writes: tuple[Table, ...] = ()  # the other tables of its own a run writes: a snapshot's positions
    runs_metric: RunsMetric | None = None
    # False: a market API (instruments, bars), asked for no account: its runs' etl_runs.account_no is NULL, it is
    # asked with the first configured account's app key, and its pages are read by what their request asked
    # (raw_responses.asked) rather than by an account.
    per_account: bool = True

    @property
    def api_id(self) -> str:
        """etl_runs.api_id and raw_responses.api_id of its runs and pages."""
        return self.endpoint.api_id

    @property
    def per_exchange(self) -> bool:
        """Whether a run of it asks one exchange; the others cover both, their etl_runs.exchange NULL."""
        return self.claim is Claim.SLOT

    @property
    def tables(self) -> tuple[Table, ...]:
        """Its own tables: where its rows go, then the others a run of it writes."""
        return (self.table, *self.also_writes)

    @property
    def grows(self) -> tuple[str, ...]:
        """The names of the tables a run of it writes: its run, its raw pages and its own tables (what a bulk load of
        it leaves to ANALYZE)."""
        return (EtlRun.__tablename__, RawResponse.__tablename__, *(table.name for table in self.tables))


@dataclass(frozen=True, kw_only=True)
class RowsApi(Api):
    """An API whose pages become rows of one table by a pure normaliser and a load of their own: the account jobs and
    replay need nothing else of it."""

    read: Read
    store: Store
    # Whether a page's rows answer what its request asked, for an API whose answer need not say it (the job and
    # replay both hold each page to it; a page kept without what was asked is not checked).
    check: Check | None = None

    def hold_to_asked(self, rows: Sequence[Any], asked: str | None, page: Page, first_line: int) -> None:
        """Refuse (TransformError) `page`'s rows when they are not an answer to what its request `asked`: the job on
        each page it receives and replay on each page kept. A page kept without what was asked, or an API without a
        check, passes."""
        if self.check is not None and asked is not None:
            self.check(rows, asked, page, first_line)

    def load(self, connection: Connection, rows: Iterable[dict[str, Any]], run_id: int) -> int:
        """Store `rows` of run `run_id` in its table; how many were written."""
        return self.store(connection, self.table, rows, run_id=run_id)
