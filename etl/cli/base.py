"""What every command shares: the group and its global options (declared once, accepted before or after the command
name), the settings built from them, errors turned into one line and an exit code, and the options' types."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, NoReturn

import click

from etl import __version__
from etl.errors import ConfigError, DatabaseUnavailable, EtlError
from etl.text import displayable

if TYPE_CHECKING:  # the rest is imported where it is used: `--help` loads click and the commands' modules only
    from pathlib import Path

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

    def settings(self, default_level: str = "WARNING", *, interval: str | None = None) -> Settings:
        """The settings, with --database-url and a command's --interval (`interval`) in place."""
        from etl.clock import parse_duration
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
        if interval:
            return self._settings.with_overrides(interval=parse_duration(interval, "--interval"))
        return self._settings

    def protected(self, settings: Settings, *database_urls: str) -> Protected:
        """What no output of this command may replace: the files of its database and of the configured one (which
        --database-url may have replaced for this command), the state directory and the config file."""
        from etl.files import Protected

        urls = (self.configured_database_url or settings.database_url, settings.database_url, *database_urls)
        return Protected.of(urls, settings.state_dir, settings.config_file)

    def writing(self, out: Path | None, *, force: bool) -> tuple[Settings, Protected]:
        """The settings and what no output may replace, for a command that writes `out` (when given): refused here,
        before the database is read, when it may not be written (ConfigError)."""
        from etl.files import check_output

        settings = self.settings()
        protected = self.protected(settings)
        if out is not None:
            check_output(out, protected, force=force)
        return settings, protected


def shown(text: str) -> str:
    """Text from anywhere (an error, the data) as it may be printed: URLs' secrets masked, on one visible line."""
    from etl.redact import mask_urls

    return displayable(mask_urls(text))


def fail(message: str, code: int) -> NoReturn:
    """Say what went wrong in one line on stderr, and exit with `code`."""
    click.echo(f"kiwoom-etl: error: {shown(message)}", err=True)
    sys.exit(code)


@contextmanager
def errors() -> Iterator[None]:
    """Turn the errors a user can act on into one clear line and an exit code, never a traceback; a bug too."""
    try:
        yield
    except ConfigError as exc:
        fail(str(exc), EXIT_CONFIG)
    except EtlError as exc:
        fail(str(exc), EXIT_FAILED)
    except KeyboardInterrupt:
        fail("interrupted", 130)
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
            f"kiwoom-etl: internal error: {type(exc).__name__}: {shown(str(exc))} "
            "(run with --log-level DEBUG for the traceback)",
            err=True,
        )
        sys.exit(EXIT_FAILED)


@contextmanager
def unusable() -> Iterator[None]:
    """Say that a database that cannot be used is unusable, and why, in one line (exit 1)."""
    try:
        yield
    except DatabaseUnavailable as exc:
        fail(f"the database is unusable (`kiwoom-etl doctor` says more): {exc}", EXIT_FAILED)


@contextmanager
def progress(length: int, label: str) -> Iterator[Callable[[int], None]]:
    """A progress bar on a terminal; nothing at all when stderr is a log."""
    with click.progressbar(length=length, label=label, file=sys.stderr, hidden=not sys.stderr.isatty()) as bar:
        yield bar.update


def period(since: date | None, until: date | None) -> None:
    """A usage error when the period ends before it starts."""
    if since is not None and until is not None and since > until:
        raise click.UsageError(f"--since {since:%Y-%m-%d} is after --until {until:%Y-%m-%d}.")


class Day(click.DateTime):
    """A Seoul date, YYYY-MM-DD (a date, not a time at midnight)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
        return super().convert(value, param, ctx).date()


DAY = Day(formats=["%Y-%m-%d"])


class Moment(click.ParamType[datetime]):
    """An ISO 8601 time (no zone: Korean time); a bad one is a usage error, like a bad --since."""

    name = "TIME"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        from etl.clock import parse_moment

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


def since_option(help: str, *, required: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """--since, a Seoul date; `help` says what of the command's it bounds."""
    return click.option("--since", type=DAY, required=required, help=help)


def until_option(help: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """--until, a Seoul date, inclusive."""
    return click.option("--until", type=DAY, help=help)


def account_option(help: str, *, name: str = "account") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """--account ACCOUNT, an account_no as the tables name it, passed as `name`."""
    return click.option("--account", name, metavar="ACCOUNT", help=help)


def exchange_option(help: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """--exchange, KRX or NXT."""
    return click.option("--exchange", type=click.Choice(["KRX", "NXT"]), help=help)


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


def main(argv: list[str] | None = None) -> Any:
    """Console-script entry point."""
    run: Callable[..., Any] = cli.main
    return run(args=argv, prog_name="kiwoom-etl")
