"""The commands that collect from Kiwoom: snapshot, ledger, backfill, instruments, and run (the daemon)."""

from __future__ import annotations

import re
import sys
from datetime import date

import click

from etl.cli.base import (
    EXIT_FAILED,
    Context,
    cli,
    errors,
    global_options,
    log,
    period,
    since_option,
    until_option,
    unusable,
)
from etl.errors import ConfigError
from etl.text import displayable


@cli.command()
@global_options
@click.option(
    "--code",
    "codes",
    multiple=True,
    metavar="CODE",
    help="Ask only this six-character stock code (ka10100); repeat for more.",
)
@click.pass_obj
def instruments(obj: Context, codes: tuple[str, ...]) -> None:
    """Refresh the instrument master (the instruments table) now: every market list (ka10099: KOSPI, KOSDAQ, KONEX,
    ETN, ETF), then each code the accounts held or traded that no list had, asked alone (ka10100).

    A code's market is the list that held it (ETF and ETN before KOSPI); a code asked alone takes its marketCode (0
    KOSPI, 10 KOSDAQ, anything else OTHER, with a warning naming it). These are no account's APIs: their runs have
    no account_no and ask with the first configured account's app key. The daemon does this daily at `[market]
    instruments_at`. Prints each run; exits 1 when one failed.
    """
    from etl.app.market import instruments as refresh
    from etl.app.wiring import open_database
    from etl.cli.render import market_results_table

    for code in codes:
        if not re.fullmatch("[0-9A-Z]{6}", code):  # as the instrument lists write a code: else refused there
            raise click.BadParameter(
                f"{code!r}: a stock code has six letters or digits, the letters capital (005930, 0001A0)",
                param_hint="--code",
            )
    with errors():
        settings = obj.settings()
        settings.require_accounts()
        with open_database(settings) as engine:
            done = refresh(settings, engine, codes=codes or None)
        click.echo(market_results_table(done.results))
        rows = sum(r.rows for r in done.results)
        click.echo(f"{rows} instrument row(s) received, {sum(r.written for r in done.results)} written.")
        if not done.ok:
            sys.exit(EXIT_FAILED)


@cli.command()
@global_options
@click.pass_obj
def snapshot(obj: Context) -> None:
    """Take one snapshot of every configured account × exchange and load it.

    Prints what was loaded. Exits 0 only when every snapshot succeeded; one account's failure does not stop the
    others. The database must be migrated first (`kiwoom-etl migrate`): snapshot never changes the schema itself.
    """
    from etl.app.collect import take_snapshots
    from etl.app.wiring import open_database
    from etl.cli.render import snapshots_table
    from etl.errors import DatabaseUnavailable

    with errors():
        settings = obj.settings()
        settings.require_accounts()
        with open_database(settings, required=False) as engine:
            taken = take_snapshots(settings, engine, logger=log)
        if taken.flushed:
            click.echo(f"Loaded {taken.flushed} spooled snapshot(s) first.")
        click.echo(snapshots_table(taken.results))  # why a snapshot failed is on stderr, in the log
        click.echo(f"{taken.loaded} of {len(taken.results)} snapshot(s) loaded into {settings.safe_database_url}.")
        if taken.spooled:
            click.echo(
                f"{taken.spooled} snapshot(s) spooled in {taken.spool}: the database could not take them; "
                "`kiwoom-etl flush` loads them once it can.",
                err=True,
            )
        if taken.unusable is not None:
            with unusable():
                raise DatabaseUnavailable(taken.unusable)
        if taken.loaded != len(taken.results):
            sys.exit(EXIT_FAILED)


@cli.command("ledger")
@global_options
@since_option("Read from this booking date (Seoul) [default: 7 days before the newest line loaded, or 90 days back].")
@click.option(
    "--reclassify",
    is_flag=True,
    help="Fetch nothing: give the stored lines the kinds the configured mapping ([ledger.kinds]) finds now.",
)
@click.option(
    "--totals",
    "force_totals",
    is_flag=True,
    help="Take today's totals (kt00017) now, even before the close; the evening's taking replaces them.",
)
@click.pass_obj
def ledger_command(obj: Context, since: date | None, reclassify: bool, force_totals: bool) -> None:
    """Load the transaction ledger (kt00015) of every configured account into account_transactions, Kiwoom's
    daily realised profit (ka10074) of the same days (else of the ledger's lookback) into account_realized_daily,
    and after the close (`[ledger] at`, 20:15 KST) of a trading day today's totals (kt00017) into
    account_day_totals.

    Every kind of line (deposits, withdrawals, transfers, trades, dividends, fees, taxes, interest, loans), a month
    at a time, oldest first. A line already loaded adds nothing; one that comes again with different content is
    kept as a conflict (see `status`), never written over. Each line's kind comes from a keyword mapping that the
    config file's [ledger.kinds] extends; a line it does not know is `other`, kept and counted. The view
    ledger_checks holds each day's totals against the ledger, realized_checks Kiwoom's realised profit. Exits 1
    when an account's ledger, realised profit or totals could not be read whole, or a line loaded now is `other`.
    """
    from etl.app.collect import account_day
    from etl.app.history import reclassify_ledger
    from etl.app.wiring import open_database
    from etl.cli.render import estimates_results_table, ledger_results_table, totals_results_table

    with errors():
        settings = obj.settings()
        with open_database(settings) as engine:
            if reclassify:
                if since:
                    raise ConfigError("--reclassify fetches nothing: it takes no --since")
                done = reclassify_ledger(settings, engine)
                for (old, new), count in sorted(done.moved.items()):
                    click.echo(f"{count} line(s): {old} → {new}")
                click.echo(f"{done.count} line(s) reclassified; {done.other} stored line(s) are other.")
                sys.exit(EXIT_FAILED if done.other else 0)
            day = account_day(settings, engine, since=since, force_totals=force_totals)
        click.echo(ledger_results_table(day.ledger))
        click.echo(f"{day.added} new line(s) loaded into {settings.safe_database_url}.")
        click.echo("\nKiwoom's daily realised profit (ka10074), held against the ledger in the view realized_checks:")
        click.echo(estimates_results_table(day.realized))
        if day.totals:
            click.echo("\nToday's totals (kt00017), held against the ledger in the view ledger_checks:")
            click.echo(totals_results_table(day.totals))
        else:
            click.echo(f"No totals of the day: {day.not_due} (--totals takes them now).")
        if day.other:
            click.echo(
                f"{day.other} new line(s) match no rule of the mapping and are `other`: add their remark to "
                "[ledger.kinds] and run `kiwoom-etl ledger --reclassify`.",
                err=True,
            )
        if not day.ok:
            sys.exit(EXIT_FAILED)


@cli.command("backfill")
@global_options
@since_option(
    "The first day to fill (Seoul): kt00002's estimates, the ledger and ka10074's realised profit from it.",
    required=True,
)
@until_option(
    "The last day of the estimates and the bars [default: today]; the ledger and ka10074 are read to today, so that"
    " realized_checks has both for every day."
)
@click.pass_obj
def backfill_command(obj: Context, since: date, until: date | None) -> None:
    """Fill the days before the daemon started: kt00002's daily estimated assets into account_daily_estimates, and
    the ledger (kt00015) and Kiwoom's daily realised profit (ka10074, into account_realized_daily) from the same
    first day to today, for every configured account; then the range's daily bars of the `[benchmarks] indexes`
    (ka20006, into index_daily) and of every stock the accounts held or traded (ka10081, unadjusted, into
    stock_daily), asked with the first configured account's app key.

    account_returns_daily then reaches back before the first snapshot: on a KRX day without one it takes the
    estimate (estimated_assets − credit_loan, the collateral loan set apart), marked source = 'estimate'; a day
    with a snapshot keeps the snapshot. Estimates fill the KRX series only. Safe to run again: a day already loaded
    is replaced by the newer answer, a ledger line already loaded adds nothing. Exits 1 when an account's range
    could not be read whole.
    """
    from etl.app.collect import backfill
    from etl.app.wiring import open_database
    from etl.cli.render import estimates_results_table, ledger_results_table, market_results_table

    period(since, until)
    with errors():
        settings = obj.settings()
        with open_database(settings) as engine:
            filled = backfill(settings, engine, since, until)
        click.echo("Daily estimated assets (kt00002):")
        click.echo(estimates_results_table(filled.estimates))
        click.echo("\nLedger (kt00015):")
        click.echo(ledger_results_table(filled.ledger))
        click.echo("\nDaily realised profit (ka10074), only the days with a sale:")
        click.echo(estimates_results_table(filled.realized))
        click.echo("\nIndex and stock daily bars (ka20006, ka10081):")
        click.echo(market_results_table(filled.market.results))
        for result in filled.estimates:
            if result.ok:
                first = filled.first_snapshots[result.account]
                where = f"the first KRX snapshot is {first}" if first else "there is no KRX snapshot yet"
                click.echo(f"{displayable(result.account)}: {result.days} estimated day(s) loaded; {where}.")
        if not filled.ok:
            sys.exit(EXIT_FAILED)


@cli.command()
@global_options
@click.option(
    "--interval", metavar="DURATION", help="Time between slots: 30s, 5m, 1h [default: KIWOOM_ETL_INTERVAL, 5m]."
)
@click.option("--all-hours", is_flag=True, help="Ignore trading windows and holidays: snapshot at every slot.")
@click.option(
    "--workers",
    metavar="N|auto",
    help="At most N accounts snapshotted at once; auto: as many as the accounts and pacing call for "
    "[default: KIWOOM_ETL_WORKERS, auto].",
)
@click.option(
    "--health-port",
    type=click.IntRange(0, 65535),
    metavar="PORT",
    help="Serve /healthz and /metrics on 127.0.0.1:PORT.",
)
@click.pass_obj
def run(
    obj: Context,
    interval: str | None,
    all_hours: bool,
    workers: str | None,
    health_port: int | None,
) -> None:
    """Run as a daemon: take every account × exchange snapshot at every slot, until SIGTERM or Ctrl-C.

    Slots are aligned to the clock in the schedule's time zone (Asia/Seoul): with 5m, 09:00, 09:05, ... Each
    exchange is snapshotted inside its window (KRX 08:30-18:10, NXT 07:50-20:10) on KRX trading days, plus an
    end-of-day snapshot (KRX 15:45, NXT 20:05); the config's [calendar] corrects the days and KRX's sessions.
    Slots missed while the daemon was down are recorded as missed. On each KRX trading day it also refreshes the
    instrument master at [market] instruments_at (08:00) and takes the day's index and stock bars at [market] at
    (18:30), asked with the first configured account's app key. Several daemons may share one database: each
    slot, and each of those days, is taken once. A first SIGTERM lets the snapshots in flight finish and exits 0; a
    second one exits at once with 143 (nothing half-loaded either way).

    With [realtime] enabled = true (KIWOOM_ETL_REALTIME_ENABLED; off by default; KIWOOM_ETL_REALTIME_URL points it
    at another feed, such as `kiwoom-etl simulate`'s) it also listens to Kiwoom's WebSocket feed: every fill goes
    to `executions` and each change of an account is followed by a snapshot (etl_runs.trigger event; catch_up after
    a reconnect), claiming no slot; replicas share one session per app key through a lease in the database.
    docs/realtime.md says what to check before turning it on.

    Global options go before or after `run`: kiwoom-etl run --log-format json --log-level DEBUG --interval 30s
    """
    from etl.app.wiring import build_schedule, open_database
    from etl.daemon.runner import Daemon
    from etl.settings import parse_workers

    with errors():
        settings = obj.settings(default_level="INFO", interval=interval)
        if workers:
            settings = settings.with_overrides(workers=parse_workers(workers, "--workers"))
        settings.require_accounts()
        settings.require_market_after_close()
        schedule = build_schedule(settings, all_hours=all_hours, check_calendar=True)
        # A database that cannot be used does not stop the daemon (a restart loop would lose every slot): it says
        # why, and fetches and spools until the database is back.
        with open_database(settings, required=False) as engine:
            code = Daemon(settings, schedule, engine).run(health_port)
    sys.exit(code)
