"""The command line: kiwoom-etl migrate | snapshot | simulate | demo | revoke-token."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import click

from etl import __version__
from etl.errors import ConfigError, EtlError
from etl.settings import Settings, default_database_url, load_settings, normalize_database_url

log = logging.getLogger("etl")

LOG_LEVELS = click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False)
EXIT_FAILED = 1
EXIT_CONFIG = 2

CONFIG_HELP = """
\b
Configuration (environment variables win over the --config TOML file):
  KIWOOM_APPKEY, KIWOOM_SECRETKEY   one account's app key and secret key
  KIWOOM_ENV=mock                   use the mock-trading server (KRX only)
  KIWOOM_BASE_URL                   API base URL (default https://api.kiwoom.com)
  KIWOOM_ETL_DATABASE_URL           SQLAlchemy URL (default: sqlite file kiwoom_etl.db here)
  KIWOOM_ETL_STATE_DIR              token cache (default ~/.local/state/kiwoom-etl)
  KIWOOM_ETL_HTTP_TIMEOUT           seconds per request (default 10)
  KIWOOM_ETL_CONFIG                 the TOML file, instead of --config
See the README for the TOML file, several accounts and the pacing settings.
"""


class Context:
    """What the group options give every command: the settings, built once."""

    def __init__(self, config: str | None, log_level: str) -> None:
        self.config = config
        self.log_level = log_level.upper()
        self._settings: Settings | None = None

    def settings(self, database_url: str | None = None) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config)
            _configure_logging(self.log_level, self._settings)
        if database_url:
            return self._settings.with_overrides(database_url=normalize_database_url(database_url, "--database-url"))
        return self._settings


def _configure_logging(level: str, settings: Settings | None) -> None:
    from etl.logs import configure_logging

    secrets = [s.reveal() for a in (settings.accounts if settings else ()) for s in (a.appkey, a.secretkey)]
    configure_logging(level, secrets)


def _fail(message: str, code: int) -> NoReturn:
    click.echo(f"kiwoom-etl: error: {message}", err=True)
    sys.exit(code)


@contextmanager
def _errors() -> Iterator[None]:
    """Turn the errors a user can act on into one clear line and an exit code, never a traceback."""
    try:
        yield
    except ConfigError as exc:
        _fail(str(exc), EXIT_CONFIG)
    except EtlError as exc:
        _fail(str(exc), EXIT_FAILED)
    except KeyboardInterrupt:
        _fail("interrupted", 130)


database_option = click.option(
    "--database-url", metavar="URL", help="Database to use instead of KIWOOM_ETL_DATABASE_URL / the config file."
)


@click.group(epilog=CONFIG_HELP, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kiwoom-etl")
@click.option(
    "--config",
    "config",
    metavar="FILE",
    envvar="KIWOOM_ETL_CONFIG",
    help="TOML settings file (accounts, database, pacing). Also KIWOOM_ETL_CONFIG.",
)
@click.option("--log-level", default="WARNING", show_default=True, type=LOG_LEVELS, help="Logging detail on stderr.")
@click.pass_context
def cli(ctx: click.Context, config: str | None, log_level: str) -> None:
    """Snapshots of a Kiwoom Securities account (kt00005), loaded exactly into SQL history tables."""
    ctx.obj = Context(config, log_level)


@cli.command()
@database_option
@click.pass_obj
def migrate(obj: Context, database_url: str | None) -> None:
    """Create or upgrade the tables (Alembic, to the newest revision). Safe to run again."""
    from etl.db import make_engine
    from etl.db import migrate as upgrade

    with _errors():
        settings = obj.settings(database_url)
        engine = make_engine(settings.database_url)
        try:
            before, after = upgrade(engine)
        finally:
            engine.dispose()
        if before == after:
            click.echo(f"{settings.safe_database_url} is up to date (revision {after}).")
        else:
            click.echo(f"Migrated {settings.safe_database_url}: {before or 'empty'} → {after}.")


@cli.command()
@database_option
@click.pass_obj
def snapshot(obj: Context, database_url: str | None) -> None:
    """Take one snapshot of every configured account × exchange and load it.

    Prints what was loaded. Exits 0 only when every snapshot succeeded; one account's failure does not stop the
    others. The database must be migrated first (`kiwoom-etl migrate`): snapshot never changes the schema itself.
    """
    from etl.db import make_engine, require_current_schema
    from etl.report import results_table
    from etl.snapshot import Fetcher, snapshot_all

    with _errors():
        settings = obj.settings(database_url)
        settings.require_accounts()
        engine = make_engine(settings.database_url)
        fetcher = Fetcher(settings)
        try:
            require_current_schema(engine)
            results = snapshot_all(settings, engine, fetcher)
        finally:
            fetcher.close()
            engine.dispose()
        click.echo(results_table(results))  # why a snapshot failed is on stderr, in the log
        loaded = sum(r.ok for r in results)
        click.echo(f"{loaded} of {len(results)} snapshot(s) loaded into {settings.safe_database_url}.")
        if loaded != len(results):
            sys.exit(EXIT_FAILED)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535), help="Port (0: any free).")
@click.option("--accounts", default=2, show_default=True, type=click.IntRange(1, 50), help="How many accounts.")
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
@click.pass_obj
def simulate(
    obj: Context, host: str, port: int, accounts: int, positions: int, page_size: int, rate: float, burst: int
) -> None:
    """Run the local Kiwoom API simulator in the foreground (Ctrl-C stops it).

    It speaks au10001, au10002, ka00001 and kt00005 like the real API. Point kiwoom-etl at it with
    KIWOOM_BASE_URL=http://HOST:PORT and the printed keys. Faults for tests: POST a JSON list of
    {"kind": ..., "api_id": ..., "count": ...} to /_sim/faults (kinds: see etl.simulator.Fault).
    """
    from etl.simulator import Simulator, bind, make_account

    _configure_logging(obj.log_level, None)
    simulator = Simulator(
        accounts=[make_account(i, positions) for i in range(1, accounts + 1)],
        page_size=page_size,
        rate_per_second=rate,
        burst=burst,
    )
    try:
        server = bind(simulator, host, port)
    except OSError as exc:
        _fail(f"cannot listen on {host}:{port}: {exc.strerror}", EXIT_FAILED)
    click.echo(f"Kiwoom simulator on http://{host}:{server.server_address[1]} — accounts (made-up keys):")
    for account in simulator.accounts:
        click.echo(f"  KIWOOM_APPKEY={account.appkey} KIWOOM_SECRETKEY={account.secretkey}  → {account.acct_no}")
    with server:
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            click.echo("stopped")


@cli.command()
@click.option(
    "--database-url",
    metavar="URL",
    default=None,
    help="Where the demo writes (default: the SQLite file kiwoom_etl.db in this directory).",
)
@click.option("--snapshots", default=3, show_default=True, type=click.IntRange(1, 100), help="How many rounds.")
@click.option("--interval", default=2.0, show_default=True, type=click.FloatRange(min=0), help="Seconds between.")
@click.pass_obj
def demo(obj: Context, database_url: str | None, snapshots: int, interval: float) -> None:
    """Try kiwoom-etl without an account: simulator, migration, snapshots and example SQL, then exit.

    Needs no key and touches no real API. It refuses a database that already holds real (non-demo) snapshots.
    """
    from etl.demo import run_demo

    _configure_logging(obj.log_level, None)
    with _errors():
        url = normalize_database_url(database_url, "--database-url") if database_url else default_database_url()
        ok = run_demo(url, snapshots=snapshots, interval=interval, echo=click.echo)
    if not ok:
        sys.exit(EXIT_FAILED)


@cli.command("revoke-token")
@click.pass_obj
def revoke_token(obj: Context) -> None:
    """Revoke (au10002) and forget the cached access token of every configured account."""
    from etl.snapshot import Fetcher

    with _errors():
        settings = obj.settings()
        fetcher = Fetcher(settings)
        try:
            for account in settings.require_accounts():
                revoked = fetcher.client(account).revoke_token()
                click.echo(f"{account.label}: {'token revoked' if revoked else 'no cached token'}")
        finally:
            fetcher.close()


def main(argv: list[str] | None = None) -> Any:
    """Console-script entry point."""
    run: Callable[..., Any] = cli.main
    return run(args=argv, prog_name="kiwoom-etl")
