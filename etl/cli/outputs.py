"""The commands that turn the history into something to read: export, report and returns."""

from __future__ import annotations

import re
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import click

from etl.cli.base import (
    EXIT_FAILED,
    REPORT_FILE,
    Context,
    account_option,
    cli,
    errors,
    exchange_option,
    fail,
    force_option,
    global_options,
    period,
    since_option,
    until_option,
)
from etl.text import REPORT_LANGUAGES, displayable

if TYPE_CHECKING:
    from etl.app.outputs import Filters


def _index_code(value: str | None) -> str | None:
    if value is None:
        return None
    if not re.fullmatch(r"[0-9]{3}", value):  # \d also matches full-width and other digits
        raise click.BadParameter(
            f"expected a three-digit index code such as 001 (KOSPI) or 101 (KOSDAQ), got {value!r}"
        )
    return value


@cli.command("returns")
@global_options
@account_option("Only this account (its account_no) [default: each one].")
@exchange_option(
    "The series measured [default: KRX, or NXT for an account with no KRX snapshot]; never the two summed."
)
@since_option(
    "The period's start (Seoul): its first day with a value is the base, unless it is the account's first and its"
    " first deposit counts from the day's start [default: the first day]."
)
@until_option("The period's last day (Seoul).")
@click.option(
    "--benchmark",
    metavar="INDEX",
    callback=lambda _ctx, _param, value: _index_code(value),
    help="Also the index's return over the same days, the excess over it, and over 20 or more common days the beta"
    " and correlation of the daily returns: 001 KOSPI, 101 KOSDAQ (collected by default; others once in"
    " [benchmarks] indexes and backfilled).",
)
@click.pass_obj
def returns_command(
    obj: Context,
    account: str | None,
    exchange: str | None,
    since: date | None,
    until: date | None,
    benchmark: str | None,
) -> None:
    """How well the account was invested over a period, deposits and withdrawals set aside.

    From the views account_returns_daily and account_flows_daily (the ledger's external flows: load it with
    `kiwoom-etl ledger`), on equity = net assets − the collateral loans net assets do not subtract (so that a
    loan is no gain): the time-weighted return (TWR, each day's return with the day's flows counted at its end),
    annualised for periods of 365 days or more; the money-weighted return (XIRR over the start equity, the flows
    and the end equity); the deepest drawdown; the best and worst day; and the dividends, fees and taxes of the
    period. Returns are fractions shown in percent; money is KRW. Without a ledger every change counts as
    return: a deposit would look like a gain. Exits 1 when no account has two days with a value in the period.
    """
    from etl.app.outputs import returns
    from etl.app.wiring import open_database

    period(since, until)
    with errors():
        settings = obj.settings()
        with open_database(settings) as engine:
            found = returns(engine, account=account, exchange=exchange, since=since, until=until, benchmark=benchmark)
        if not found.accounts:
            fail(f"no account has snapshots in {settings.safe_database_url}: nothing to measure yet", EXIT_FAILED)
        click.echo("\n\n".join(found.texts()))
        if not found.measured:
            sys.exit(EXIT_FAILED)


@cli.command("report")
@global_options
@account_option("Only this account (its account_no) [default: one section each].")
@exchange_option("The exchange shown [default: KRX, or NXT for an account with no KRX snapshot]; never the two summed.")
@since_option("First trade date shown (Seoul).")
@until_option("Last trade date shown (Seoul); the allocation is the newest close on or before it.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=Path(REPORT_FILE),
    show_default=True,
    help="Where to write the HTML page: an earlier kiwoom-etl report there is replaced, any other existing file"
    " only with --force.",
)
@click.option(
    "--lang",
    type=click.Choice(REPORT_LANGUAGES),
    default=REPORT_LANGUAGES[0],
    show_default=True,
    help="The page's language: ko (Korean labels) or en (English).",
)
@force_option
@click.pass_obj
def report_command(
    obj: Context,
    account: str | None,
    exchange: str | None,
    since: date | None,
    until: date | None,
    out: Path,
    lang: str,
    force: bool,
) -> None:
    """Write one self-contained HTML page (it opens offline) of the account history, from the analyst views.

    Per account, every chart on the same dates (the range's first day with a value to its last): net assets per
    day with the external flows marked; the time-weighted return (TWR) and its drawdown; each day's return with
    the deposits and withdrawals set aside; the unrealised profit per day; the monthly returns (year × month);
    the dividends by month (from the ledger); the allocation at the newest close on or before --until, cash
    (예수금 D+2) included; the position changes of the range's last days; the last day's snapshots (the real-time
    feed's marked) and fills; and how fresh the data is. Labels are Korean unless --lang en; times are shown in the
    configured time zone, the last day's in KST.
    """
    from etl.app.outputs import is_report, write_report
    from etl.app.wiring import open_database
    from etl.clock import utc_now

    period(since, until)
    force = force or is_report(out)  # yesterday's report is replaced, as the demo replaces its own
    with errors():
        settings, protected = obj.writing(out, force=force)
        with open_database(settings) as engine:
            written = write_report(
                settings,
                engine,
                out,
                protected,
                generated_at=utc_now(),
                account=account,
                exchange=exchange,
                since=since,
                until=until,
                force=force,
                lang=lang,
            )
        for account_no, exchange_shown in written.empty:
            click.echo(f"{displayable(account_no)} {exchange_shown}: no snapshot in the range.", err=True)
        where = displayable(str(out.resolve()))
        click.echo(f"Report of {len(written.sections)} account(s) written to {where} ({written.size / 1024:,.0f} KiB).")


def _export_for_a_tool(
    obj: Context, name: str, fmt: str, rows: Filters, out: Path | None, force: bool, raw_text: bool
) -> None:
    """`export account_transactions --format portfolio-performance|ghostfolio`."""
    from etl.app.outputs import check_deliveries, export_for_a_tool
    from etl.app.wiring import open_database

    if name != "account_transactions":
        raise click.UsageError(f"--format {fmt} exports the ledger: NAME must be account_transactions, not {name}.")
    if rows.exchange:
        raise click.UsageError("--exchange does not apply to the ledger: its lines cover both exchanges.")
    with errors():
        settings, protected = obj.writing(out, force=force)
        check_deliveries(out, fmt, protected, force=force)  # before the database is read, too
        with open_database(settings) as engine:
            done = export_for_a_tool(engine, fmt, rows, out=out, protected=protected, force=force, raw_text=raw_text)
        if done.needs_out:
            raise click.UsageError(
                f"{done.exported.deliveries} transfer(s) of securities go to a second file: "
                "--format portfolio-performance needs --out FILE."
            )
        if done.stdout is not None:
            sys.stdout.write(done.stdout)
        if out is not None:
            written = f"{done.exported.rows} row(s) of account_transactions written to {displayable(str(out))}"
            click.echo(f"{written} ({fmt}).")
        if done.deliveries is not None:
            click.echo(
                f"{done.exported.deliveries} transfer(s) of securities written to {displayable(str(done.deliveries))}: "
                "import that file as Portfolio Transactions."
            )
        for words in done.notes:
            click.echo(displayable(words), err=True)  # the codes they list are the ledger's, as Kiwoom sent them


@cli.command("export")
@global_options
@click.argument("name", metavar="NAME")
@since_option("From this Seoul date on (inclusive).")
@until_option("Up to this Seoul date (inclusive).")
@account_option("Only this account (its account_no in the tables).")
@exchange_option("Only this exchange.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "parquet", "portfolio-performance", "ghostfolio"]),
    default="csv",
    show_default=True,
    help="csv and parquet: the exact rows. portfolio-performance (its CSV import) and ghostfolio (its import JSON):"
    " account_transactions for those tools, mapped as docs/bi.md says.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    metavar="FILE",
    help="Write here (written to a temporary name, renamed once complete; an existing file only with --force);"
    " without it CSV goes to stdout. Parquet needs it; so does portfolio-performance when there are transfers of"
    " securities (they go to FILE's -deliveries.csv sibling).",
)
@force_option
@click.option(
    "--raw-text",
    is_flag=True,
    help="CSV: write text cells as stored, even those a spreadsheet would run as a formula (by default a text cell"
    " starting with = + - @, a tab or a carriage return gets a ' before it; numbers are never changed).",
)
@click.pass_obj
def export_command(
    obj: Context,
    name: str,
    since: date | None,
    until: date | None,
    account: str | None,
    exchange: str | None,
    fmt: str,
    out: Path | None,
    force: bool,
    raw_text: bool,
) -> None:
    """Export the view or table NAME to CSV or Parquet, with every value exact; or the ledger for a portfolio tool.

    NAME is an analyst view (account_history, latest_accounts, latest_positions, account_daily, position_daily,
    position_changes, etl_freshness, ledger_checks, account_flows_daily, account_returns_daily,
    account_benchmark_daily, realized_pnl, position_pnl, realized_checks, dividends, dividends_monthly,
    execution_checks) or a table (etl_runs,
    account_snapshots, position_snapshots, raw_responses, account_transactions, account_transaction_conflicts,
    account_day_totals, account_daily_estimates, account_realized_daily, executions, execution_conflicts).
    --since/--until are Seoul dates, on trade_date (settlement_date for the ledger) where NAME has one, else on its
    time (captured_at; started_at for etl_runs; received_at for raw_responses). Parquet needs the parquet extra.

    --format portfolio-performance and --format ghostfolio take NAME account_transactions: Portfolio
    Performance's CSV import (English column and type names) and Ghostfolio's import JSON. Lines those tools
    have no type for (loan, other) are left out and counted.

    CSV (plain and portfolio-performance) is for spreadsheets: a text cell starting with =, +, -, @, a tab or a
    carriage return is written with a ' before it, so that no name or remark runs as a formula (--raw-text: as
    stored); numbers stay numbers. Parquet and ghostfolio keep every value literal. --out never replaces the
    database, its -wal/-shm/-journal files or anything in the state directory, and an existing file only with --force.
    """
    from etl.app.outputs import EXPORTABLE, TOOLS, Filters, export, filter_problem, require_format
    from etl.app.wiring import open_database

    if name not in EXPORTABLE:
        raise click.BadParameter(f"unknown view or table {name!r}; one of: {', '.join(EXPORTABLE)}.", param_hint="NAME")
    period(since, until)
    rows = Filters(since, until, account, exchange)
    if fmt in TOOLS:
        _export_for_a_tool(obj, name, fmt, rows, out, force, raw_text)
        return
    problem = filter_problem(name, since, until, account, exchange)
    if problem is not None:
        raise click.UsageError(f"{problem}.")
    if fmt == "parquet" and out is None:
        raise click.UsageError("--format parquet needs --out FILE (Parquet is not written to stdout).")
    with errors():
        require_format(fmt)
        settings, protected = obj.writing(out, force=force)
        with open_database(settings) as engine:
            count = export(
                engine,
                name,
                rows,
                fmt=fmt,
                out=out,
                stdout=sys.stdout.buffer,
                protected=protected,
                force=force,
                raw_text=raw_text,
            )
    if out is not None:
        click.echo(f"{count} row(s) of {name} written to {displayable(str(out))}.")  # a name may hold a newline
