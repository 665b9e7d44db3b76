"""The command line: kiwoom-etl migrate | snapshot | ledger | backfill | run | status | doctor | flush | replay |
import | returns | report | export | simulate | demo | revoke-token."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from etl import __version__
from etl.errors import ConfigError, EtlError
from etl.text import displayable

if TYPE_CHECKING:  # the rest is imported where it is used: `--help` loads click and this module only
    from etl.files import Protected
    from etl.settings import Settings

log = logging.getLogger("etl")

LOG_LEVELS = click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False)
EXIT_FAILED = 1
EXIT_CONFIG = 2
EXIT_BROKEN_PIPE = 141
REPORT_FILE = "kiwoom-etl-report.html"

CONFIG_HELP = """
\b
Configuration (environment variables win over the --config TOML file):
  KIWOOM_APPKEY, KIWOOM_SECRETKEY   one account's app key and secret key
  KIWOOM_ENV=mock                   use the mock-trading server (KRX only)
  KIWOOM_BASE_URL                   API base URL (default https://api.kiwoom.com)
  KIWOOM_ETL_DATABASE_URL           SQLAlchemy URL (default: sqlite file kiwoom_etl.db here)
  KIWOOM_ETL_STATE_DIR              token cache, spool, account numbers (default ~/.local/state/kiwoom-etl)
  KIWOOM_ETL_DATABASE_MODE          0600 (default) or 0640: the SQLite file kiwoom-etl creates
  KIWOOM_ETL_HTTP_TIMEOUT           seconds per request (default 10)
  KIWOOM_ETL_INTERVAL               time between the daemon's slots (default 5m)
  KIWOOM_ETL_CONFIG                 the TOML file, instead of --config
See the README for the TOML file, several accounts and the pacing settings.
"""


class Context:
    """What the global options give every command: the settings, built once they are all read."""

    def __init__(self) -> None:
        self.config: str | None = None
        self.database_url: str | None = None
        self.log_level: str | None = None
        self.log_format = "text"
        self._settings: Settings | None = None
        self.configured_database_url: str | None = None  # the settings' own, before --database-url replaced it

    def logging(self, settings: Settings | None, default_level: str = "WARNING") -> None:
        """Log at the level asked for, else the command's default, with the settings' secrets redacted."""
        from etl.logs import configure_logging

        secrets = settings.secret_values() if settings else []
        configure_logging(self.log_level or default_level, secrets, self.log_format)

    def settings(self, default_level: str = "WARNING") -> Settings:
        from etl.settings import check_database_place, load_settings, normalize_database_url

        if self._settings is None:
            self.logging(None, default_level)  # first: loading can warn (a config file others can read)
            settings = load_settings(self.config)
            self.logging(settings, default_level)
            self.configured_database_url = settings.database_url
            if self.database_url:
                url = normalize_database_url(self.database_url, "--database-url")
                settings = settings.with_overrides(database_url=url)
            check_database_place(settings)
            self._settings = settings
        return self._settings


def _shown(text: str) -> str:
    """Text from anywhere (an error, the data) as it may be printed: URLs' secrets masked, on one visible line."""
    from etl.redact import mask_urls

    return displayable(mask_urls(text))


def _fail(message: str, code: int) -> NoReturn:
    click.echo(f"kiwoom-etl: error: {_shown(message)}", err=True)
    sys.exit(code)


@contextmanager
def _errors() -> Iterator[None]:
    """Turn the errors a user can act on into one clear line and an exit code, never a traceback; a bug too."""
    try:
        yield
    except ConfigError as exc:
        _fail(str(exc), EXIT_CONFIG)
    except EtlError as exc:
        _fail(str(exc), EXIT_FAILED)
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, as a process killed by SIGPIPE would (128 + 13), and keep
        # Python from flushing into the closed pipe at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(EXIT_BROKEN_PIPE)
    except (click.ClickException, click.exceptions.Exit, click.Abort):
        raise  # click's own: it prints them
    except Exception as exc:  # a bug: one line for the user, the traceback for whoever runs with DEBUG
        log.debug("internal error", exc_info=True)
        click.echo(
            f"kiwoom-etl: internal error: {type(exc).__name__}: {_shown(str(exc))} "
            "(run with --log-level DEBUG for the traceback)",
            err=True,
        )
        sys.exit(EXIT_FAILED)


def _progress(length: int, label: str) -> Any:
    """A progress bar on a terminal; nothing at all when stderr is a log."""
    return click.progressbar(length=length, label=label, file=sys.stderr, hidden=not sys.stderr.isatty())


def _schedule(settings: Settings, all_hours: bool) -> Any:
    """The schedule the settings describe, on the KRX calendar with the config's [calendar] corrections."""
    from etl.schedule import Schedule

    return Schedule.build(
        settings.interval,
        settings.timezone,
        settings.windows,
        settings.end_of_day,
        all_hours=all_hours,
        corrections=settings.calendar,
    )


class Moment(click.ParamType[datetime]):
    """An ISO 8601 time (no zone: Korean time); a bad one is a usage error, like a bad --since."""

    name = "TIME"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        from etl.jobs.replay import parse_moment

        try:
            return parse_moment(str(value), param.opts[0] if param else "TIME")
        except EtlError as exc:
            self.fail(str(exc).split(": ", 1)[-1], param, ctx)


force_option = click.option(
    "--force",
    is_flag=True,
    help="Replace the file if it exists (never the database, its -wal/-shm/-journal files, the state directory or"
    " the config file).",
)


def _protected(obj: Context, settings: Settings, *database_urls: str) -> Protected:
    """What no output of this command may replace: the files of its database and of the configured one (which
    --database-url may have replaced for this command), the state directory and the config file."""
    from etl.files import Protected

    urls = (obj.configured_database_url or settings.database_url, settings.database_url, *database_urls)
    return Protected.of(urls, settings.state_dir, settings.config_file)


def _set(field: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    """The callback of a global option: it sets its Context field, where it is given (before the command name, then
    after it: the later wins)."""

    def callback(ctx: click.Context, _param: click.Parameter, value: Any) -> None:
        if value is not None and not ctx.resilient_parsing:
            setattr(ctx.ensure_object(Context), field, value.upper() if field == "log_level" else value)

    return callback


# Declared once, taken by the group and by every command: nothing is read from them before the command runs, so
# each takes effect wherever it is written. No default here: an option not given must not undo one that was.
_GLOBAL_OPTIONS = (
    click.option(
        "--config",
        metavar="FILE",
        expose_value=False,
        callback=_set("config"),
        help="TOML settings file (accounts, database, pacing). Also KIWOOM_ETL_CONFIG.",
    ),
    click.option(
        "--database-url",
        metavar="URL",
        expose_value=False,
        callback=_set("database_url"),
        help="Database to use instead of KIWOOM_ETL_DATABASE_URL / the config file.",
    ),
    click.option(
        "--log-level",
        type=LOG_LEVELS,
        expose_value=False,
        callback=_set("log_level"),
        help="Logging detail on stderr [default: INFO for run, else WARNING].",
    ),
    click.option(
        "--log-format",
        type=click.Choice(["text", "json"]),
        expose_value=False,
        callback=_set("log_format"),
        help="text (default) or json: one JSON object a line, for log shippers.",
    ),
)


def global_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--config, --database-url, --log-level and --log-format, before or after the command name alike."""
    for option in reversed(_GLOBAL_OPTIONS):
        command = option(command)
    return command


@click.group(epilog=CONFIG_HELP, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kiwoom-etl")
@global_options
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Snapshots of a Kiwoom Securities account (kt00005), loaded exactly into SQL history tables."""
    ctx.ensure_object(Context)


@cli.command()
@global_options
@click.pass_obj
def migrate(obj: Context) -> None:
    """Create or upgrade the tables (Alembic, to the newest revision). Safe to run again."""
    from etl.store.schema import connected
    from etl.store.schema import migrate as upgrade

    with _errors():
        settings = obj.settings()
        with connected(settings.database_url, migrated=False, mode=settings.database_mode) as engine:
            before, after = upgrade(engine, settings.database_mode)
        if before == after:
            click.echo(f"{settings.safe_database_url} is up to date (revision {after}).")
        else:
            click.echo(f"Migrated {settings.safe_database_url}: {before or 'empty'} → {after}.")


@cli.command()
@global_options
@click.pass_obj
def snapshot(obj: Context) -> None:
    """Take one snapshot of every configured account × exchange and load it.

    Prints what was loaded. Exits 0 only when every snapshot succeeded; one account's failure does not stop the
    others. The database must be migrated first (`kiwoom-etl migrate`): snapshot never changes the schema itself.
    """
    from etl.errors import DatabaseUnavailable
    from etl.jobs.snapshot import SPOOLED, Snapshotter, results_table
    from etl.store.health import require_usable
    from etl.store.schema import connected

    with _errors():
        settings = obj.settings()
        settings.require_accounts()
        unusable = None
        with connected(settings.database_url, required=False, mode=settings.database_mode) as engine:
            try:
                require_usable(engine)
            except DatabaseUnavailable as exc:  # never written to: what is fetched is spooled
                unusable = str(exc)
                log.warning("%s: fetching anyway, snapshots will be spooled", exc)
            snapshotter = Snapshotter(settings, engine)
            try:
                results = snapshotter.take(unusable=unusable)  # the spool first, then every account × exchange
            finally:
                snapshotter.close()
        if snapshotter.last_flush.handled:
            click.echo(f"Loaded {snapshotter.last_flush.handled} spooled snapshot(s) first.")
        click.echo(results_table(results))  # why a snapshot failed is on stderr, in the log
        loaded = sum(r.ok for r in results)
        spooled = sum(r.status == SPOOLED for r in results)
        click.echo(f"{loaded} of {len(results)} snapshot(s) loaded into {settings.safe_database_url}.")
        if spooled:
            click.echo(
                f"{spooled} snapshot(s) spooled in {snapshotter.spool.directory}: the database could not take them; "
                "`kiwoom-etl flush` loads them once it can.",
                err=True,
            )
        why = unusable or next((r.error for r in results if r.status == SPOOLED), None)
        if why is not None:
            with _unusable():
                raise DatabaseUnavailable(why)
        if loaded != len(results):
            sys.exit(EXIT_FAILED)


@cli.command("ledger")
@global_options
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Read from this booking date (Seoul) [default: 7 days before the newest line loaded, or 90 days back].",
)
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
def ledger_command(obj: Context, since: datetime | None, reclassify: bool, force_totals: bool) -> None:
    """Load the transaction ledger (kt00015) of every configured account into account_transactions, and after
    the close (`[ledger] at`, 20:15 KST) of a trading day today's totals (kt00017) into account_day_totals.

    Every kind of line (deposits, withdrawals, transfers, trades, dividends, fees, taxes, interest, loans), a month
    at a time, oldest first. A line already loaded adds nothing; one that comes again with different content is
    kept as a conflict (see `status`), never written over. Each line's kind comes from a keyword mapping that the
    config file's [ledger.kinds] extends; a line it does not know is `other`, kept and counted. The view
    ledger_checks holds each day's totals against the ledger. Exits 1 when an account's ledger or totals could
    not be read whole, or a line loaded now is `other`.
    """
    from etl.clock import krx_calendar, utc_now
    from etl.jobs.ledger import LedgerJob, results_table
    from etl.jobs.totals import DayTotalsJob, not_due
    from etl.jobs.totals import results_table as totals_table
    from etl.normalize.ledger import Classifier
    from etl.store.engine import transaction
    from etl.store.ledger import kind_counts
    from etl.store.ledger import reclassify as reclassify_lines
    from etl.store.schema import connected

    with _errors():
        settings = obj.settings()
        with connected(settings.database_url, mode=settings.database_mode) as engine:
            if reclassify:
                if since:
                    raise ConfigError("--reclassify fetches nothing: it takes no --since")
                classifier = Classifier.with_rules(settings.ledger_rules)
                with transaction(engine, "reclassifying the ledger") as connection:
                    moved = reclassify_lines(connection, classifier)
                    others = kind_counts(connection)["other"]
                for (old, new), count in sorted(moved.items()):
                    click.echo(f"{count} line(s): {old} → {new}")
                click.echo(f"{sum(moved.values())} line(s) reclassified; {others} stored line(s) are other.")
                sys.exit(EXIT_FAILED if others else 0)
            settings.require_accounts()
            job = LedgerJob(settings, engine)
            totals: list[Any] = []
            try:
                results = job.run(since=since.date() if since else None)
                not_yet = None if force_totals else not_due(settings, utc_now(), krx_calendar(settings.calendar))
                if not_yet is None:
                    totals = DayTotalsJob(settings, engine, job.fetcher).run()
            finally:
                job.fetcher.close()
        click.echo(results_table(results))
        added = sum(sum(r.load.added.values()) for r in results)
        others = sum(r.load.added["other"] for r in results)
        click.echo(f"{added} new line(s) loaded into {settings.safe_database_url}.")
        if totals:
            click.echo("\nToday's totals (kt00017), held against the ledger in the view ledger_checks:")
            click.echo(totals_table(totals))
        else:
            click.echo(f"No totals of the day: {not_yet} (--totals takes them now).")
        if others:
            click.echo(
                f"{others} new line(s) match no rule of the mapping and are `other`: add their remark to "
                "[ledger.kinds] and run `kiwoom-etl ledger --reclassify`.",
                err=True,
            )
        if others or not all(r.ok for r in [*results, *totals]):
            sys.exit(EXIT_FAILED)


@cli.command("backfill")
@global_options
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    required=True,
    help="The first day to fill (Seoul): kt00002's estimates and the ledger from it.",
)
@click.option("--until", type=click.DateTime(formats=["%Y-%m-%d"]), help="The last day [default: today].")
@click.pass_obj
def backfill_command(obj: Context, since: datetime, until: datetime | None) -> None:
    """Fill the days before the daemon started: kt00002's daily estimated assets into account_daily_estimates, and
    the ledger (kt00015) of the same range, for every configured account.

    account_returns_daily then reaches back before the first snapshot: on a KRX day without one it takes the
    estimate (estimated_assets − credit_loan, the collateral loan set apart), marked source = 'estimate'; a day
    with a snapshot keeps the snapshot. Estimates fill the KRX series only. Safe to run again: a day already loaded
    is replaced by the newer answer, a ledger line already loaded adds nothing. Exits 1 when an account's range
    could not be read whole.
    """
    from etl.jobs.backfill import EstimatesJob
    from etl.jobs.backfill import results_table as estimates_table
    from etl.jobs.ledger import LedgerJob, results_table
    from etl.store.estimates import first_snapshot_day
    from etl.store.schema import connected
    from etl.store.statistics import ESTIMATES, LEDGER, analyze

    first, last = since.date(), until.date() if until else None
    if last is not None and first > last:
        raise click.UsageError(f"--since {first} is after --until {last}.")
    with _errors():
        settings = obj.settings()
        with connected(settings.database_url, mode=settings.database_mode) as engine:
            settings.require_accounts()
            job = EstimatesJob(settings, engine)
            try:
                estimates = job.run(since=first, until=last)
                ledger = LedgerJob(settings, engine, job.fetcher).run(since=first)
            finally:
                job.fetcher.close()
            analyze(engine, (*ESTIMATES, *LEDGER))
            with engine.connect() as connection:
                firsts = {r.account: first_snapshot_day(connection, r.account) for r in estimates}
        click.echo("Daily estimated assets (kt00002):")
        click.echo(estimates_table(estimates))
        click.echo("\nLedger (kt00015):")
        click.echo(results_table(ledger))
        for result in estimates:
            if result.ok:
                day = firsts[result.account]
                where = f"the first KRX snapshot is {day}" if day else "there is no KRX snapshot yet"
                click.echo(f"{displayable(result.account)}: {result.days} estimated day(s) loaded; {where}.")
        if not all(r.ok for r in [*estimates, *ledger]):
            sys.exit(EXIT_FAILED)


@cli.command("flush")
@global_options
@click.option(
    "--into-this-database",
    is_flag=True,
    help="Load the snapshots spooled for another database into this one too (they are listed without it).",
)
@click.pass_obj
def flush_command(obj: Context, into_this_database: bool) -> None:
    """Load the snapshots spooled while the database could not be used, oldest first, each at most once.

    Only those spooled for this database (each spool file names its own) are loaded: the others are listed with
    theirs, and --into-this-database moves them here. Safe to run at any time and again: a snapshot already loaded
    is only removed from the spool. `snapshot` and `run` flush by themselves too.
    """
    from etl.jobs.flush import flush
    from etl.jobs.spool import Spool
    from etl.store.schema import connected
    from etl.store.statistics import SNAPSHOTS, analyze

    with _errors():
        settings = obj.settings()
        spool = Spool(settings.state_dir)
        waiting = len(spool.paths())
        if not waiting:
            click.echo(f"The spool ({spool.directory}) is empty.")
            return
        with (
            _unusable(),
            connected(settings.database_url, mode=settings.database_mode) as engine,
            _progress(waiting, "Flushing") as bar,
        ):
            report = flush(engine, spool, progress=bar.update, into_this_database=into_this_database)
            if report.loaded or report.failed:
                analyze(engine, SNAPSHOTS)
        for path, target in report.elsewhere:
            click.echo(_shown(f"{path.name}: spooled for {target}"))
        click.echo(
            f"{report.loaded} loaded, {report.failed} recorded as failed, {report.already} already loaded"
            + (
                f", {report.conflicts} set aside in {spool.directory / 'conflicts'} (their slot was taken)"
                if report.conflicts
                else ""
            )
            + (f", {len(report.elsewhere)} spooled for another database" if report.elsewhere else "")
            + f"; {report.left + len(report.elsewhere)} left in {spool.directory}."
        )
        if report.left:
            _fail(report.error or "some snapshots could not be loaded", EXIT_FAILED)
        if report.elsewhere:
            _fail(
                f"{len(report.elsewhere)} snapshot(s) were spooled for another database (listed above): flush with "
                "that database, or load them into this one with `kiwoom-etl flush --into-this-database`",
                EXIT_FAILED,
            )


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
    Slots missed while the daemon was down are recorded as missed. Several daemons may share one database: each
    slot is taken once. A first SIGTERM lets the snapshots in flight finish and exits 0; a second one exits at
    once with 143 (nothing half-loaded either way).

    Global options go before or after `run`: kiwoom-etl run --log-format json --log-level DEBUG --interval 30s
    """
    from etl.clock import parse_duration, utc_now
    from etl.daemon.runner import Daemon
    from etl.settings import parse_workers
    from etl.store.schema import connected

    with _errors():
        settings = obj.settings(default_level="INFO")
        if interval:
            settings = settings.with_overrides(interval=parse_duration(interval, "--interval"))
        if workers:
            settings = settings.with_overrides(workers=parse_workers(workers, "--workers"))
        settings.require_accounts()
        schedule = _schedule(settings, all_hours)
        if not all_hours:  # a calendar that cannot be computed stops the daemon here, not at its first slot
            schedule.calendar.get(utc_now().date())
        # A database that cannot be used does not stop the daemon (a restart loop would lose every slot): it says
        # why, and fetches and spools until the database is back.
        with connected(settings.database_url, required=False, mode=settings.database_mode) as engine:
            code = Daemon(settings, schedule, engine).run(health_port)
    sys.exit(code)


@cli.command()
@global_options
@click.option("--interval", metavar="DURATION", help="The daemon's interval, if not the configured one.")
@click.option("--all-hours", is_flag=True, help="Judge as a daemon run with --all-hours does.")
@click.pass_obj
def status(obj: Context, interval: str | None, all_hours: bool) -> None:
    """Show, per account × exchange, the newest successful snapshot, its age, failures since and the next slot.

    Shows the configured accounts (all those with runs in the last week when none is configured). Exits 1 when,
    inside an active window, the newest success is older than twice the interval (STALE).
    """
    from etl.clock import parse_duration, utc_now
    from etl.jobs.spool import Spool
    from etl.kiwoom.accounts import KnownAccounts
    from etl.read.status import calendar_line, ledger_statuses, newest_run, pair_statuses, status_table
    from etl.store.schema import connected

    with _errors():
        settings = obj.settings()
        if interval:
            settings = settings.with_overrides(interval=parse_duration(interval, "--interval"))
        schedule = _schedule(settings, all_hours)
        spool = Spool(settings.state_dir)
        _echo_spool(spool, schedule)  # first: it matters most when the database is away
        corrections = calendar_line(schedule, utc_now())
        if corrections:
            click.echo(displayable(corrections))  # a holiday's name is the config's text
        with _unusable(), connected(settings.database_url, mode=settings.database_mode) as engine:
            now = utc_now()
            known = KnownAccounts(settings.state_dir, settings.base_url)
            configured = {(known.account_no(a), x) for a in settings.accounts for x in a.exchanges}
            if any(not a.name and a.appkey.missing for a in settings.accounts):
                configured = set()  # an unnamed account without its key here cannot be told: show every account
            every = pair_statuses(engine, schedule, now, spooled=spool.run_ids())
            newest = None if every else newest_run(engine)
            ledgers = ledger_statuses(engine, {account for account, _ in configured} or None)
        pairs = [p for p in every if (p.account_no, p.exchange) in configured] if configured else every
        if every and not pairs:
            click.echo(
                "None of the configured accounts has runs here (account numbers are learned per base URL); "
                "showing every account with runs in the last week."
            )
            pairs = every
        if not pairs:
            # A monitor that has seen nothing for a week is not fine: say what the newest run is, and fail.
            click.echo(f"No snapshot runs in the last week in {settings.safe_database_url}.")
            _echo_ledger(ledgers, schedule, now)
            _fail(_newest_run_words(newest, schedule), EXIT_FAILED)
        click.echo(status_table(pairs, schedule, now))
        _echo_ledger(ledgers, schedule, now)
        stale = [p for p in pairs if p.stale]
        if stale:
            click.echo(
                f"{len(stale)} of {len(pairs)} account × exchange(s) STALE: no success within "
                f"{2 * schedule.interval} inside an active window.",
                err=True,
            )
            sys.exit(EXIT_FAILED)


@contextmanager
def _unusable() -> Iterator[None]:
    """Say that a database that cannot be used is unusable, and why, in one line (exit 1)."""
    from etl.errors import DatabaseUnavailable

    try:
        yield
    except DatabaseUnavailable as exc:
        _fail(f"the database is unusable (`kiwoom-etl doctor` says more): {exc}", EXIT_FAILED)


@cli.command()
@global_options
@click.pass_obj
def doctor(obj: Context) -> None:
    """Say in one screen what is wrong: the database (SQLite's integrity check, or a PostgreSQL round trip; the
    schema revision; whether it takes writes), the spool (what waits, for which database) and the state directory
    (owner, permissions).

    Reads only: nothing is repaired or written. Needs no Kiwoom key. Exits 0 when all is well, else 1.
    """
    from etl.jobs.doctor import diagnose
    from etl.store.schema import connected

    with _errors():
        settings = obj.settings()
        with connected(settings.database_url, required=False, mode=settings.database_mode) as engine:
            diagnosis = diagnose(engine, settings.state_dir, settings.timezone)
        click.echo("\n".join(_shown(line) for line in diagnosis.lines))  # paths, and targets a file may forge
        if diagnosis.problems:
            sys.exit(EXIT_FAILED)


def _echo_ledger(ledgers: Any, schedule: Any, now: datetime) -> None:
    """The ledger's part of `status`: a table, then what needs the user's eye."""
    from etl.read.status import ledger_table

    if not ledgers:
        return
    # A run's error is masked here too: an older version may have stored it unmasked.
    click.echo("")
    click.echo("Ledger (kt00015) and day totals (kt00017):")
    click.echo(ledger_table(ledgers, schedule, now))
    for ledger in ledgers:
        name = displayable(ledger.account_no)
        if ledger.other:
            click.echo(
                f"{name}: {ledger.other} ledger line(s) match no rule of the mapping (kind other): add "
                "their remark to [ledger.kinds] in the config file, then run `kiwoom-etl ledger --reclassify`."
            )
        if ledger.conflicts:
            click.echo(
                f"{name}: {ledger.conflicts} ledger line(s) came again with different content; the "
                "stored lines were kept: see the table account_transaction_conflicts."
            )
        if ledger.refused:
            click.echo(
                f"{name}: {ledger.refused} ledger run(s) had a page refused, and those months are not "
                "loaded: the run's error names the value; once kiwoom-etl reads it, `kiwoom-etl replay` loads them."
            )
        if ledger.last_status == "failed" and ledger.last_reason != "payload_refused":
            if ledger.last_reason == "not_supported":
                what = "this server does not offer the ledger (snapshots are not affected)"
            else:
                what = "the newest ledger run failed"
            click.echo(f"{name}: {what}: {_shown(ledger.last_error or '')}")
        checks, totals = ledger.disagreements, ledger.totals_run
        if checks is not None and checks.days:
            click.echo(
                f"{name}: on {checks.days} day(s) kt00017's totals disagree with the ledger, newest "
                f"{checks.newest} ({checks.mismatches}): see the view ledger_checks."
            )
        if totals is not None and totals.status == "failed":
            if totals.reason == "not_supported":
                what = "this server does not offer the day totals (kt00017)"
            else:
                what = f"the newest day-totals run (kt00017) failed ({totals.reason})"
            click.echo(f"{name}: {what}: {_shown(totals.error or '')}")


def _echo_spool(spool: Any, schedule: Any) -> None:
    """The spool's line of `status`: how much waits, since when."""
    from etl.clock import local_text

    summary = spool.summary()
    if not summary.count:
        click.echo("Spool: empty.")
        return
    oldest = local_text(summary.oldest, schedule.zone) if summary.oldest else "?"
    click.echo(
        f"Spool: {summary.count} snapshot(s) waiting ({summary.size / 1024:.0f} KiB, the oldest captured "
        f"{oldest}): run `kiwoom-etl flush` (`kiwoom-etl doctor` names the database each was spooled for)."
    )


def _newest_run_words(newest: Any, schedule: Any) -> str:
    """What `status` says when nothing ran in the last week."""
    from etl.clock import local_text

    if newest is None:
        return "no snapshot was ever attempted here: is the daemon running?"
    return (
        f"the newest run is {newest.status}, started {local_text(newest.started_at, schedule.zone)} "
        f"({newest.account_no} {newest.exchange or '-'}): is the daemon running?"
    )


@cli.command("replay")
@global_options
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), help="Only pages received from this date (Seoul).")
@click.option("--account", metavar="ACCOUNT", help="Only this account (its account_no in the tables).")
@click.pass_obj
def replay_command(obj: Context, since: datetime | None, account: str | None) -> None:
    """Rebuild account_snapshots, position_snapshots, the ledger, the day totals and the estimates from
    raw_responses with today's transform.

    For after a parser fix, or into a freshly migrated database holding raw pages. Idempotent: a snapshot that
    already reads the same is left alone, so running it twice changes nothing. Runs whose pages are incomplete,
    or that today's transform refuses, keep what they have. Ledger lines (kt00015) are loaded again as a ledger
    run loads them, with the configured mapping: a line already stored is left alone, a differing one is a conflict.
    """
    from etl.jobs.backfill import replay_estimates
    from etl.jobs.ledger import replay_ledger
    from etl.jobs.replay import replay, runs_to_replay
    from etl.jobs.totals import replay_totals
    from etl.normalize.ledger import Classifier
    from etl.store.schema import connected
    from etl.store.statistics import DAY_TOTALS, ESTIMATES, LEDGER, SNAPSHOTS, analyze

    with _errors():
        settings = obj.settings()
        classifier = Classifier.with_rules(settings.ledger_rules)
        day = since.date() if since else None
        with connected(settings.database_url, mode=settings.database_mode) as engine:
            runs = runs_to_replay(engine, since=day, account=account)
            with _progress(len(runs), "Replaying") as bar:
                report = replay(engine, runs, progress=bar.update)
            ledger = replay_ledger(engine, classifier, since=day, account=account)
            totals, refused = replay_totals(engine, since=day, account=account)
            estimated, unread = replay_estimates(engine, since=day, account=account)
            analyze(engine, (*SNAPSHOTS, *LEDGER, *DAY_TOTALS, *ESTIMATES))
        click.echo(f"{len(runs)} run(s) with raw pages: {report}.")
        if ledger.pages:
            click.echo(f"Ledger: {ledger}.")
        if totals:
            click.echo(f"Day totals: {totals} kt00017 page(s), {refused} refused by today's transform.")
        if estimated:
            click.echo(f"Estimates: {estimated} kt00002 page(s), {unread} refused by today's transform.")


@cli.command("import")
@global_options
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--account", "account_no", metavar="ACCOUNT", help="The account_no to load page files as.")
@click.option("--exchange", type=click.Choice(["KRX", "NXT"]), help="The exchange page files answer for.")
@click.option(
    "--captured-at",
    type=Moment(),
    metavar="TIME",
    help="When page files were received, ISO 8601 (2026-11-20T15:30:00+09:00; no zone means Korean time).",
)
@click.pass_obj
def import_command(
    obj: Context,
    files: tuple[Path, ...],
    account_no: str | None,
    exchange: str | None,
    captured_at: datetime | None,
) -> None:
    """Load raw kt00005 JSON answers kept elsewhere: page files, or JSON Lines files (FILE.jsonl).

    \b
    Page files: one answer a file, in chain order, one snapshot; --account, --exchange and --captured-at are
    required. A FILE.jsonl holds one snapshot a line, {"account_no": ..., "exchange": "KRX", "captured_at":
    "2026-11-20T06:30:00Z", "pages": [answer, ...]}, each line its own run; these options are then refused, as
    each line names its own. Several .jsonl files load one after the other; they cannot be mixed with page files.

    The pages are stored in raw_responses and transformed like fetched ones. Importing the same files again
    changes nothing. A refused line is named by its number and kept as a failed run; the others load, and the
    command exits 1 with the count.
    """
    ctx = click.get_current_context()
    lines = [path for path in files if path.suffix == ".jsonl"]
    options = {"--account": account_no, "--exchange": exchange, "--captured-at": captured_at}
    if lines:
        if len(lines) != len(files):
            raise click.UsageError("a .jsonl file cannot be imported together with page files", ctx)
        given = [name for name, value in options.items() if value is not None]
        if given:
            raise click.UsageError(
                f"{', '.join(given)}: each line of a .jsonl file names its own account, exchange and captured_at", ctx
            )
        _import_lines(obj, lines)
        return
    missing = [name for name, value in options.items() if value is None]
    if missing:
        raise click.UsageError(f"page files need {', '.join(missing)} (only a .jsonl file names its own)", ctx)
    assert account_no is not None and exchange is not None and captured_at is not None
    from etl.jobs.flush import RECORDED_FAILED
    from etl.jobs.replay import import_pages
    from etl.store.schema import connected
    from etl.store.statistics import SNAPSHOTS, analyze

    with _errors():
        settings = obj.settings()
        with connected(settings.database_url, mode=settings.database_mode) as engine:
            outcome = import_pages(
                engine, list(files), account_no=account_no, exchange=exchange, captured_at=captured_at
            )
            analyze(engine, SNAPSHOTS)
        click.echo(f"{len(files)} page(s) for {displayable(str(account_no))} {exchange}: {outcome}.")
        if outcome == RECORDED_FAILED:
            _fail("the pages were kept in raw_responses, but the snapshot was refused: see etl_runs.error", 1)


def _import_lines(obj: Context, files: list[Path]) -> None:
    """kiwoom-etl import FILE.jsonl...: each file in batches, with a progress bar; exit 1 if a line was refused."""
    from etl.jobs.replay import count_lines, import_lines
    from etl.store.schema import connected
    from etl.store.statistics import SNAPSHOTS, analyze

    with _errors():
        settings = obj.settings()
        refused = lines = written = 0
        with connected(settings.database_url, mode=settings.database_mode) as engine:
            for path in files:
                with _progress(count_lines(path), f"Importing {path.name}") as bar:
                    report = import_lines(engine, path, progress=bar.update)
                for refusal in report.refused:
                    click.echo(f"kiwoom-etl: {path}: {displayable(str(refusal))}", err=True)  # it quotes the line
                click.echo(f"{path}: {report}.")
                refused += len(report.refused)
                lines += report.lines
                written += report.loaded + len(report.refused)  # a refused line is kept, as a failed run
            if written:  # a file imported again grew nothing: its statistics stand
                analyze(engine, SNAPSHOTS)
        if refused:
            _fail(f"{refused} of {lines} line(s) refused; they are kept as failed runs in etl_runs", EXIT_FAILED)


@cli.command("returns")
@global_options
@click.option("--account", metavar="ACCOUNT", help="Only this account (its account_no) [default: each one].")
@click.option(
    "--exchange",
    type=click.Choice(["KRX", "NXT"]),
    help="The series measured [default: KRX, or NXT for an account with no KRX snapshot]; never the two summed.",
)
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="The period's start (Seoul): its first day with a value is the base [default: the first day].",
)
@click.option("--until", type=click.DateTime(formats=["%Y-%m-%d"]), help="The period's last day (Seoul).")
@click.pass_obj
def returns_command(
    obj: Context,
    account: str | None,
    exchange: str | None,
    since: datetime | None,
    until: datetime | None,
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
    from etl.read.returns import read_returns, render
    from etl.store.schema import connected

    if since and until and since > until:
        raise click.UsageError(f"--since {since:%Y-%m-%d} is after --until {until:%Y-%m-%d}.")
    with _errors():
        settings = obj.settings()
        with connected(settings.database_url, mode=settings.database_mode) as engine:
            found = read_returns(
                engine,
                account=account,
                exchange=exchange,
                since=since.date() if since else None,
                until=until.date() if until else None,
            )
        if not found:
            _fail(f"no account has snapshots in {settings.safe_database_url}: nothing to measure yet", EXIT_FAILED)
        click.echo("\n\n".join(render(one) for one in found))
        if not any(one.performance for one in found):
            sys.exit(EXIT_FAILED)


@cli.command("report")
@global_options
@click.option("--account", metavar="ACCOUNT", help="Only this account (its account_no) [default: one section each].")
@click.option(
    "--exchange",
    type=click.Choice(["KRX", "NXT"]),
    help="The exchange shown [default: KRX, or NXT for an account with no KRX snapshot]; never the two summed.",
)
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), help="First trade date shown (Seoul).")
@click.option(
    "--until",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Last trade date shown (Seoul); the allocation is the newest close on or before it.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=Path(REPORT_FILE),
    show_default=True,
    help="Where to write the HTML page (an existing file only with --force).",
)
@force_option
@click.pass_obj
def report_command(
    obj: Context,
    account: str | None,
    exchange: str | None,
    since: datetime | None,
    until: datetime | None,
    out: Path,
    force: bool,
) -> None:
    """Write one self-contained HTML page (it opens offline) of the account history, from the analyst views.

    Per account: net assets per day and their change, profit and loss per day, the allocation and the holdings at
    the newest close on or before --until, the position changes of the range's last days, and how fresh the data
    is. Times are shown in the configured time zone.
    """
    from etl.clock import utc_now
    from etl.files import check_output
    from etl.read.report import Selection, read_report
    from etl.read.report_html import write_page
    from etl.store.schema import connected

    if since and until and since > until:
        raise click.UsageError(f"--since {since:%Y-%m-%d} is after --until {until:%Y-%m-%d}.")
    selection = Selection(account, exchange, since.date() if since else None, until.date() if until else None)
    with _errors():
        settings = obj.settings()
        protected = _protected(obj, settings)
        check_output(out, protected, force=force)  # before the database is read
        with connected(settings.database_url, mode=settings.database_mode) as engine:
            report = read_report(
                engine,
                selection,
                timezone=settings.timezone,
                generated_at=utc_now(),
                database=settings.safe_database_url,
            )
        try:
            size = write_page(report, out, protected, force=force)
        except OSError as exc:
            _fail(f"cannot write the report to {out}: {exc.strerror or exc}", EXIT_FAILED)
        for section in report.accounts:
            if not section.days:
                click.echo(f"{displayable(section.account_no)} {section.exchange}: no snapshot in the range.", err=True)
        where = displayable(str(out.resolve()))
        click.echo(f"Report of {len(report.accounts)} account(s) written to {where} ({size / 1024:,.0f} KiB).")


def _export_for_a_tool(
    obj: Context,
    name: str,
    fmt: str,
    since: datetime | None,
    until: datetime | None,
    account: str | None,
    exchange: str | None,
    out: Path | None,
    force: bool,
    raw_text: bool,
) -> None:
    """`export account_transactions --format portfolio-performance|ghostfolio`."""
    from etl import __version__
    from etl.clock import utc_now
    from etl.files import check_output, write_output
    from etl.read.portfolio import ghostfolio, portfolio_performance, read_lines, summary
    from etl.store.schema import connected

    if name != "account_transactions":
        raise click.UsageError(f"--format {fmt} exports the ledger: NAME must be account_transactions, not {name}.")
    if exchange:
        raise click.UsageError("--exchange does not apply to the ledger: its lines cover both exchanges.")
    with _errors():
        settings = obj.settings()
        protected = _protected(obj, settings)
        if out is not None:  # both files, before the database is read: neither is written when one is refused
            check_output(out, protected, force=force)
            if fmt == "portfolio-performance":
                check_output(_deliveries(out), protected, force=force, option="--out's sibling")
        with connected(settings.database_url, mode=settings.database_mode) as engine:
            lines = read_lines(
                engine, account=account, since=since.date() if since else None, until=until.date() if until else None
            )
        if fmt == "ghostfolio":
            text, done = ghostfolio(lines, exported_at=utc_now(), version=__version__)
            written = [(out, text)]
        else:
            text, deliveries, done = portfolio_performance(lines, raw_text=raw_text)
            if deliveries and out is None:
                raise click.UsageError(
                    f"{done.deliveries} transfer(s) of securities go to a second file: "
                    "--format portfolio-performance needs --out FILE."
                )
            written = [(out, text)]
            if deliveries and out is not None:
                written.append((_deliveries(out), deliveries))
        for (path, content), option in zip(written, ("--out", "--out's sibling"), strict=False):
            if path is None:
                sys.stdout.write(content)
                continue
            try:
                write_output(path, content.encode("utf-8"), protected, force=force, option=option)
            except OSError as exc:
                _fail(f"cannot write {path}: {exc.strerror or exc}", EXIT_FAILED)
        if out is not None:
            click.echo(f"{done.rows} row(s) of account_transactions written to {displayable(str(out))} ({fmt}).")
        if len(written) > 1:
            click.echo(
                f"{done.deliveries} transfer(s) of securities written to {displayable(str(written[1][0]))}: "
                "import that file as Portfolio Transactions."
            )
        for words in summary(done):
            click.echo(words, err=True)


def _deliveries(out: Path) -> Path:
    """Where Portfolio Performance's transfers of securities go, beside --out."""
    return out.with_name(f"{out.stem}-deliveries.csv")


@cli.command("export")
@global_options
@click.argument("name", metavar="NAME")
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), help="From this Seoul date on (inclusive).")
@click.option("--until", type=click.DateTime(formats=["%Y-%m-%d"]), help="Up to this Seoul date (inclusive).")
@click.option("--account", metavar="ACCOUNT", help="Only this account (its account_no in the tables).")
@click.option("--exchange", type=click.Choice(["KRX", "NXT"]), help="Only this exchange.")
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
    since: datetime | None,
    until: datetime | None,
    account: str | None,
    exchange: str | None,
    fmt: str,
    out: Path | None,
    force: bool,
    raw_text: bool,
) -> None:
    """Export the view or table NAME to CSV or Parquet, with every value exact; or the ledger for a portfolio tool.

    NAME is an analyst view (account_history, latest_accounts, latest_positions, account_daily, position_daily,
    position_changes, etl_freshness, ledger_checks, account_flows_daily, account_returns_daily) or a table
    (etl_runs, account_snapshots, position_snapshots, raw_responses, account_transactions,
    account_transaction_conflicts, account_day_totals, account_daily_estimates). --since/--until are Seoul dates,
    on trade_date (settlement_date for the ledger) where NAME has one, else on its time (captured_at; started_at
    for etl_runs; received_at for raw_responses). Parquet needs the parquet extra.

    --format portfolio-performance and --format ghostfolio take NAME account_transactions: Portfolio
    Performance's CSV import (English column and type names) and Ghostfolio's import JSON. Lines those tools
    have no type for (loan, other) are left out and counted.

    CSV (plain and portfolio-performance) is for spreadsheets: a text cell starting with =, +, -, @, a tab or a
    carriage return is written with a ' before it, so that no name or remark runs as a formula (--raw-text: as
    stored); numbers stay numbers. Parquet and ghostfolio keep every value literal. --out never replaces the
    database, its -wal/-shm/-journal files or anything in the state directory, and an existing file only with --force.
    """
    from etl.files import check_output
    from etl.read.export import NAMES, FilterNotApplicable, Filters, export, query, require_pyarrow
    from etl.store.schema import connected

    if name not in NAMES:
        raise click.BadParameter(f"unknown view or table {name!r}; one of: {', '.join(NAMES)}.", param_hint="NAME")
    if since and until and since > until:
        raise click.UsageError(f"--since {since:%Y-%m-%d} is after --until {until:%Y-%m-%d}.")
    if fmt in ("portfolio-performance", "ghostfolio"):
        _export_for_a_tool(obj, name, fmt, since, until, account, exchange, out, force, raw_text)
        return
    filters = Filters(since.date() if since else None, until.date() if until else None, account, exchange)
    try:
        query(name, filters)
    except FilterNotApplicable as exc:
        raise click.UsageError(f"{exc}.") from None
    if fmt == "parquet" and out is None:
        raise click.UsageError("--format parquet needs --out FILE (Parquet is not written to stdout).")
    with _errors():
        if fmt == "parquet":
            require_pyarrow()
        settings = obj.settings()
        protected = _protected(obj, settings)
        if out is not None:
            check_output(out, protected, force=force)  # before the database is read
        with connected(settings.database_url, mode=settings.database_mode) as engine:
            count = export(
                engine,
                name,
                filters,
                fmt=fmt,
                out=out,
                stdout=sys.stdout.buffer,
                protected=protected,
                force=force,
                raw_text=raw_text,
            )
    if out is not None:
        click.echo(f"{count} row(s) of {name} written to {displayable(str(out))}.")  # a name may hold a newline


@cli.command()
@global_options
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535), help="Port (0: any free).")
@click.option("--accounts", default=2, show_default=True, type=click.IntRange(1, 10000), help="How many accounts.")
@click.option(
    "--positions",
    default=12,
    show_default=True,
    type=click.IntRange(0, 100000),
    help="Holdings of each account on KRX (NXT gets a third).",
)
@click.option("--page-size", default=20, show_default=True, type=click.IntRange(1), help="Positions per page.")
@click.option(
    "--rate",
    default=1.0,
    show_default=True,
    type=click.FloatRange(min=0.01),
    help="Requests a second allowed per app key and api-id before HTTP 429.",
)
@click.option("--burst", default=2, show_default=True, type=click.IntRange(1), help="Burst allowed at once.")
@click.option(
    "--latency",
    default=0.0,
    show_default=True,
    type=click.FloatRange(min=0.0),
    help="Seconds each API request waits before its answer, as a distant server's would.",
)
@click.option(
    "--fault-token",
    metavar="TOKEN",
    default=None,
    help="Let any address inject faults with header X-Sim-Token: TOKEN (without it: loopback clients only).",
)
@click.pass_obj
def simulate(
    obj: Context,
    host: str,
    port: int,
    accounts: int,
    positions: int,
    page_size: int,
    rate: float,
    burst: int,
    latency: float,
    fault_token: str | None,
) -> None:
    """Run the local Kiwoom API simulator in the foreground (Ctrl-C stops it).

    It speaks au10001, au10002, ka00001, kt00005, kt00015, kt00017 and kt00002 like the real API. The first
    account has six weeks of ledger ending today (deposits, a withdrawal, trades with fees and taxes, a dividend,
    a credit line, a transfer in, a remark no mapping knows), from which all of its answers come, so that
    `ledger`, `backfill` and `returns` have something to show; the others hold positions only. Point kiwoom-etl
    at it with
    KIWOOM_BASE_URL=http://HOST:PORT and the printed keys. Faults for tests: POST a JSON list of
    {"kind": ..., "api_id": ..., "count": ...} to /_sim/faults (kinds: see etl.sim.faults.Fault); an
    unknown kind or field is answered 400. Only loopback clients may inject faults, unless --fault-token is
    given: then every such request, from any address, must carry the header X-Sim-Token with that token (403
    otherwise).
    """
    from datetime import timedelta

    from etl.clock import KST, utc_now
    from etl.sim.accounts import make_account
    from etl.sim.history import make_history
    from etl.sim.simulator import Simulator, bind

    obj.logging(None)
    made = [make_account(i, positions) for i in range(1, accounts + 1)]
    today = utc_now().astimezone(KST).date()
    made[0].history = make_history(today - timedelta(days=41), 42)  # the history answers as of each day's date
    simulator = Simulator(
        accounts=made,
        page_size=page_size,
        rate_per_second=rate,
        burst=burst,
        latency=latency,
        fault_token=fault_token,
    )
    try:
        server = bind(simulator, host, port)
    except OSError as exc:
        _fail(f"cannot listen on {host}:{port}: {exc.strerror}", EXIT_FAILED)
    click.echo(f"Kiwoom simulator on http://{host}:{server.server_address[1]} — accounts (made-up keys):")
    for account in simulator.accounts:
        ledger = "  (with a ledger)" if account.history else ""
        click.echo(
            f"  KIWOOM_APPKEY={account.appkey} KIWOOM_SECRETKEY={account.secretkey}  → {account.acct_no}{ledger}"
        )
    with server:
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            click.echo("stopped")


@cli.command()
@global_options
@click.option(
    "--days",
    default=20,
    show_default=True,
    type=click.IntRange(3, 250),
    help="Trading days of history, ending today (3 snapshots each).",
)
@click.option("--seed", default=0, show_default=True, type=int, help="Another seed, another (repeatable) market.")
@click.option(
    "--report",
    "report_path",
    default="kiwoom-etl-report.html",
    show_default=True,
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Where to write the HTML report of the demo's history (as `kiwoom-etl report` writes it); it replaces a"
    " kiwoom-etl report there, another file only with --force.",
)
@force_option
@click.pass_obj
def demo(obj: Context, days: int, seed: int, report_path: Path, force: bool) -> None:
    """Try kiwoom-etl without an account: a few weeks of made-up history, answers from the views, a report.

    A local simulator plays a seeded market in which two made-up accounts trade between days; every past slot
    (09:30, 12:30, 15:45 KST) of every trading day is snapshotted through the real path, a closed weekday is
    recorded as skipped. The same seed gives the same numbers on every run; a second run replaces the first's
    history and its report. Needs no key and touches no real API. It refuses, before changing anything, a database
    that holds real (non-demo) snapshots or runs. It writes to --database-url, else to the SQLite file kiwoom_etl.db
    in this directory, never to the configured database. Times are printed in the `timezone` setting.
    """
    from etl.settings import default_database_url, normalize_database_url
    from etl.sim.demo import run_demo

    with _errors():
        settings = obj.settings()
        # --database-url, else kiwoom_etl.db here: never the configured database, which may hold real history
        url = normalize_database_url(obj.database_url, "--database-url") if obj.database_url else default_database_url()
        ok = run_demo(
            url,
            days=days,
            seed=seed,
            zone=settings.timezone,
            echo=click.echo,
            report=report_path,
            corrections=settings.calendar,
            protected=_protected(obj, settings, url),
            force=force,
        )
    if not ok:
        sys.exit(EXIT_FAILED)


@cli.command("revoke-token")
@global_options
@click.pass_obj
def revoke_token(obj: Context) -> None:
    """Revoke (au10002) and forget the cached access token of every configured account."""
    from etl.kiwoom.fetcher import Fetcher

    with _errors():
        settings = obj.settings()
        fetcher = Fetcher(settings)
        try:
            for account in settings.require_accounts():
                revoked = fetcher.client(account).revoke_token()
                said = "token revoked" if revoked else "no cached token"
                click.echo(f"{displayable(account.label)}: {said}")  # the config's name, as the status table shows it
        finally:
            fetcher.close()


def main(argv: list[str] | None = None) -> Any:
    """Console-script entry point."""
    run: Callable[..., Any] = cli.main
    return run(args=argv, prog_name="kiwoom-etl")
