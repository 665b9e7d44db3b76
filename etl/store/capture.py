"""The value every load takes: one snapshot's raw pages and whose, when and for which slot they are."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from etl.kiwoom.pages import Page
from etl.store.models import Reason


@dataclass(frozen=True)
class Capture:
    """One snapshot as fetched: its raw kt00005 pages and what they belong to.

    `error` is set when the fetch itself failed (the pages that arrived are still kept); `reason` is why, or how
    it came (spooled, replayed). `run_id` is the run begun before fetching, `spool_id` names a spool file or an
    import once it has one.
    """

    account_no: str
    exchange: str
    trigger: str
    captured_at: datetime
    pages: tuple[Page, ...]
    scheduled_for: datetime | None = None
    run_id: int | None = None
    error: str | None = None
    reason: Reason | None = None
    detail: str | None = None
    spool_id: str | None = None

    def failed(self, error: str, reason: Reason, *, keep_pages: bool = True) -> Capture:
        """This capture recorded as a failure (with its pages, unless they are what the database refused)."""
        return replace(self, error=error, reason=reason, pages=self.pages if keep_pages else ())
