"""What the history is turned into: a view or table exported exactly, the ledger for a portfolio tool, the HTML
report, and the returns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import Engine

from etl.errors import EtlError
from etl.files import Protected, check_output, write_output
from etl.read.export import NAMES, FilterNotApplicable, csv_text, query, require_pyarrow
from etl.read.export import Filters as Filters

# Exporting a view or table is the read side's export whole: which rows (Filters), in which format, to a file or to
# stdout, every value exact; it returns how many rows.
from etl.read.export import export as export
from etl.read.portfolio import PP_COLUMNS, Exported, ghostfolio, portfolio_performance, read_lines, summary
from etl.read.report import Selection, read_report
from etl.read.report_html import is_report as is_report  # an earlier report, which a new one may replace
from etl.read.report_html import write_page
from etl.read.report_labels import labels
from etl.read.returns import AccountReturns, read_returns, render
from etl.settings import Settings

EXPORTABLE: tuple[str, ...] = NAMES  # the views and tables `export` takes
TOOLS = ("portfolio-performance", "ghostfolio")  # the formats that export the ledger for a portfolio tool
EVERY_ROW = Filters()


def filter_problem(
    name: str, since: date | None, until: date | None, account: str | None, exchange: str | None
) -> str | None:
    """Why a filter cannot be used with `name` (it has no such column), or None."""
    try:
        query(name, Filters(since, until, account, exchange))
    except FilterNotApplicable as exc:
        return str(exc)
    return None


def require_format(fmt: str) -> None:
    """ConfigError when `fmt` needs what is not installed (Parquet: pyarrow)."""
    if fmt == "parquet":
        require_pyarrow()


def deliveries_file(out: Path) -> Path:
    """Where Portfolio Performance's transfers of securities go, beside `out`."""
    return out.with_name(f"{out.stem}-deliveries.csv")


def check_deliveries(out: Path | None, fmt: str, protected: Protected, *, force: bool) -> None:
    """Refuse (ConfigError), before the database is read, the second file an export for a tool writes beside `out`
    (which the caller has checked), so that none is written when one is refused."""
    if out is not None and fmt == "portfolio-performance":
        check_output(deliveries_file(out), protected, force=force, option="--out's sibling")


@dataclass(frozen=True)
class ToolExport:
    """What an export of the ledger for a portfolio tool wrote."""

    exported: Exported
    stdout: str | None = None  # the export, when it goes to no file
    deliveries: Path | None = None  # the second file, with the transfers of securities
    needs_out: bool = False  # nothing written: the transfers of securities need a second file, beside --out
    notes: tuple[str, ...] = ()  # what was left out, in words


def export_for_a_tool(
    engine: Engine,
    fmt: str,
    rows: Filters = EVERY_ROW,
    *,
    out: Path | None = None,
    protected: Protected,
    force: bool = False,
    raw_text: bool = False,
) -> ToolExport:
    """account_transactions (the `rows` of a period and an account; the lines cover both exchanges) as Portfolio
    Performance's CSV import or Ghostfolio's import JSON, written to `out` (and its deliveries sibling) or returned
    for stdout. Raises EtlError when a file cannot be written."""
    lines = read_lines(engine, account=rows.account, since=rows.since, until=rows.until)
    deliveries: str | None = None
    if fmt == "ghostfolio":
        text, done = ghostfolio(lines)
    else:
        text, deliveries, done = portfolio_performance(lines, raw_text=raw_text)
        if deliveries and out is None:
            return ToolExport(done, needs_out=True)
    notes = tuple(summary(done))
    if not lines:
        # An empty file says nothing of why: most often the ledger was never read for that account or period.
        whose = f" of account {rows.account}" if rows.account else ""
        notes += (
            f"account_transactions holds no line{whose} in the period: these exports come from the ledger, which "
            "`kiwoom-etl ledger` (daily in the daemon) and `kiwoom-etl backfill --since DATE` read.",
        )
    if out is None:
        return ToolExport(done, stdout=text, notes=notes)
    _write(out, text, protected, force, "--out")
    second = None
    if deliveries:
        second = deliveries_file(out)
        _write(second, deliveries, protected, force, "--out's sibling")
    elif fmt == "portfolio-performance" and deliveries_file(out).exists():
        # An earlier export's transfers, from outside this one's period or account: imported beside this file, they
        # would come in again. Replaced (as --force allows) by the header alone, the pair says what this export holds.
        second = deliveries_file(out)
        _write(second, csv_text([list(PP_COLUMNS)]), protected, force, "--out's sibling")
    return ToolExport(done, deliveries=second, notes=notes)


def _write(path: Path, content: str, protected: Protected, force: bool, option: str) -> None:
    try:
        write_output(path, content.encode("utf-8"), protected, force=force, option=option)
    except OSError as exc:
        raise EtlError(f"cannot write {path}: {exc.strerror or exc}") from None


@dataclass(frozen=True)
class ReportWritten:
    """What writing the report did: its size, and each account's section."""

    size: int  # bytes
    sections: tuple[tuple[str, str, bool], ...]  # (account_no, exchange, whether it has a day in the range)

    @property
    def empty(self) -> list[tuple[str, str]]:
        """The sections with no snapshot in the range."""
        return [(account, exchange) for account, exchange, days in self.sections if not days]


def write_report(
    settings: Settings,
    engine: Engine,
    out: Path,
    protected: Protected,
    *,
    generated_at: datetime,
    account: str | None = None,
    exchange: str | None = None,
    since: date | None = None,
    until: date | None = None,
    force: bool = False,
    option: str = "--out",
    lang: str = "ko",
) -> ReportWritten:
    """Write the self-contained HTML report of the selection to `out` (never a `protected` file, an existing one
    only with `force`), in `lang` (etl.text.REPORT_LANGUAGES), times in the settings' time zone. Raises ConfigError
    for a language there is not, EtlError when it cannot be written."""
    labels(lang)  # an unknown language is refused before the views are read
    report = read_report(
        engine,
        Selection(account, exchange, since, until),
        timezone=settings.timezone,
        generated_at=generated_at,
        database=settings.safe_database_url,
    )
    try:
        size = write_page(report, out, protected, force=force, option=option, lang=lang)
    except OSError as exc:
        raise EtlError(f"cannot write the report to {out}: {exc.strerror or exc}") from None
    return ReportWritten(size, tuple((s.account_no, s.exchange, bool(s.days)) for s in report.accounts))


@dataclass(frozen=True)
class Returns:
    """The returns of each account with values in the period."""

    accounts: tuple[AccountReturns, ...]

    @property
    def measured(self) -> bool:
        """Whether some account has two days with a value in the period."""
        return any(one.performance for one in self.accounts)

    def texts(self) -> Sequence[str]:
        """Each account's figures in words."""
        return [render(one) for one in self.accounts]


def returns(
    engine: Engine,
    *,
    account: str | None = None,
    exchange: str | None = None,
    since: date | None = None,
    until: date | None = None,
    benchmark: str | None = None,
) -> Returns:
    """How well each account (or `account`) was invested over the period, on `exchange` (default: KRX, else NXT),
    against the index `benchmark` when asked."""
    found = read_returns(engine, account=account, exchange=exchange, since=since, until=until, benchmark=benchmark)
    return Returns(tuple(found))
