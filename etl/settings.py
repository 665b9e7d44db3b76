"""Settings: built once at the edge (the CLI) from the environment and an optional TOML file, then passed along.

Environment variables win over the file, the file over the defaults. Secrets are held in `Secret`, whose repr
and str never show the value; an `env:` reference to an unset variable is kept as a missing secret, an error only
for the commands that call Kiwoom (`Settings.require_accounts`), so that reading the tables needs no keys.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from etl.clock import KRX_SESSION, KST, CalendarCorrections, Window, parse_clock, parse_duration
from etl.errors import ConfigError
from etl.redact import mask_urls

REAL_BASE_URL = "https://api.kiwoom.com"
MOCK_BASE_URL = "https://mockapi.kiwoom.com"
REAL_FEED_URL = "wss://api.kiwoom.com:10000/api/dostk/websocket"
MOCK_FEED_URL = "wss://mockapi.kiwoom.com:10000/api/dostk/websocket"
EXCHANGES = ("KRX", "NXT")
DEFAULT_DATABASE_FILE = "kiwoom_etl.db"
DEFAULT_WINDOWS = {"KRX": "08:30-18:10", "NXT": "07:50-20:10"}
DEFAULT_END_OF_DAY = {"KRX": "15:45", "NXT": "20:05"}

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Secret:
    """A credential: compares and hashes by value, but never shows it."""

    _value: str = field(repr=False)
    missing: str = ""  # instead of a value: why there is none (an env: reference to an unset variable)

    @classmethod
    def unset(cls, why: str) -> Secret:
        """A secret whose value is not available here; revealing it raises ConfigError(`why`)."""
        return cls("", missing=why)

    def reveal(self) -> str:
        """The value itself, for the one place that sends it; ConfigError when it is missing."""
        if self.missing:
            raise ConfigError(self.missing)
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    def __str__(self) -> str:
        return "***"


@dataclass(frozen=True)
class Account:
    """One Kiwoom app key pair and the exchanges to snapshot with it."""

    appkey: Secret
    secretkey: Secret
    name: str | None = None
    exchanges: tuple[str, ...] = EXCHANGES
    source: str = "account"  # where it was configured: "accounts[1]", "KIWOOM_APPKEY"

    @property
    def label(self) -> str:
        """How to name the account before its number is known: its name, else where it was configured."""
        return self.name or self.source


@dataclass(frozen=True)
class Settings:
    """Everything kiwoom-etl is configured with."""

    base_url: str = REAL_BASE_URL
    database_url: str = ""
    config_file: Path | None = None  # the TOML file read, if any: it may hold keys, so no output replaces it
    state_dir: Path = field(default_factory=lambda: Path("~/.local/state/kiwoom-etl").expanduser())
    http_timeout: float = 10.0
    accounts: tuple[Account, ...] = ()
    rate_per_second: float = 1.0
    rate_burst: int = 2
    retry_attempts: int = 5
    retry_backoff: float = 0.5
    retry_max_wait: float = 60.0
    page_cap: int = 1000
    mock: bool = False
    interval: timedelta = timedelta(minutes=5)
    timezone: str = "Asia/Seoul"
    windows: Mapping[str, Window] = field(
        default_factory=lambda: {x: Window.parse(w, "windows") for x, w in DEFAULT_WINDOWS.items()}
    )
    end_of_day: Mapping[str, time] = field(
        default_factory=lambda: {x: parse_clock(t, "end_of_day") for x, t in DEFAULT_END_OF_DAY.items()}
    )
    workers: int | None = None  # at most this many accounts at once; None (auto): as the accounts and pacing call for
    database_mode: int = 0o600  # a SQLite file kiwoom-etl creates; 0o640 lets a BI tool's group read it
    ledger_lookback_days: int = 7  # kt00015 is read again from this many days before the newest line loaded
    ledger_first_days: int = 90  # how far back the first ledger run of an account reaches
    ledger_at: time = time(20, 15)  # the daily ledger run, in `timezone`: after NXT closes
    ledger_rules: tuple[tuple[str, str], ...] = ()  # [ledger.kinds]: (keyword, kind), before the defaults
    calendar: CalendarCorrections = field(default_factory=CalendarCorrections)  # [calendar]: on top of XKRX's
    benchmark_indexes: tuple[str, ...] = ("001", "101")  # [benchmarks] indexes: ka20006 업종코드, KOSPI and KOSDAQ
    market_instruments_at: time = time(8, 0)  # [market] instruments_at: the daily instrument list, before the open
    market_at: time = time(18, 30)  # [market] at: the day's index and stock bars, after the close
    # [realtime]: the WebSocket feed (etl.daemon.realtime). Off until tried against the real API: its session rules
    # are partly unconfirmed (docs/realtime.md).
    realtime_enabled: bool = False
    realtime_url: str = REAL_FEED_URL
    realtime_settle: timedelta = timedelta(seconds=3)  # quiet after a push before its snapshot: a burst is one
    realtime_min_gap: timedelta = timedelta(seconds=10)  # between two event snapshots of one account × exchange

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with some settings replaced (command-line options)."""
        return replace(self, **changes)

    def __repr__(self) -> str:
        # The URLs can hold passwords, the accounts hold keys: show neither.
        return (
            f"Settings(base_url={self.safe_base_url!r}, database_url={self.safe_database_url!r}, "
            f"state_dir={str(self.state_dir)!r}, accounts={len(self.accounts)})"
        )

    @property
    def safe_realtime_url(self) -> str:
        """The feed's URL with any token in its query masked."""
        return mask_urls(self.realtime_url)

    @property
    def safe_base_url(self) -> str:
        """The API base URL with any token in its query masked."""
        return mask_urls(self.base_url)

    @property
    def safe_database_url(self) -> str:
        """The database URL with its password (in the user information or the query) masked, for messages and logs."""
        return mask_urls(self.database_url)

    def require_market_after_close(self) -> None:
        """For the daemon, which takes the day's bars at `[market] at`: ConfigError when that falls before KRX's close
        of the day it takes, in `timezone` (checked in winter and summer, as the zone's offset to KST may change with
        daylight saving). The run asks that day alone, so a bar taken mid-session would stand as the day's close."""
        for day in (date(2026, 1, 15), date(2026, 7, 15)):
            local = datetime.combine(day, self.market_at, tzinfo=ZoneInfo(self.timezone))
            if local < datetime.combine(day, KRX_SESSION.end, tzinfo=KST):
                raise ConfigError(
                    f"[market] at (KIWOOM_ETL_MARKET_AT) {self.market_at:%H:%M} in {self.timezone} is "
                    f"{local.astimezone(KST):%H:%M} KST, before KRX's close ({KRX_SESSION.end:%H:%M} KST): the day's "
                    "bars would be taken mid-session and never again; set it after the close"
                )

    def require_accounts(self) -> tuple[Account, ...]:
        """The configured accounts with their keys, for a command that calls Kiwoom; ConfigError when any is missing."""
        if not self.accounts:
            raise ConfigError(
                "no account configured: set KIWOOM_APPKEY and KIWOOM_SECRETKEY, "
                "or add [[accounts]] to the config file (--config / KIWOOM_ETL_CONFIG)"
            )
        for account in self.accounts:
            account.appkey.reveal()
            account.secretkey.reveal()
        return self.accounts

    def secret_values(self) -> list[str]:
        """Every key that is known, for the log filter to redact."""
        secrets = (s for a in self.accounts for s in (a.appkey, a.secretkey))
        return [s.reveal() for s in secrets if not s.missing]


def default_database_url(cwd: Path | None = None) -> str:
    """The embedded default: a SQLite file kiwoom_etl.db in the working directory."""
    return f"sqlite:///{(cwd or Path.cwd()) / DEFAULT_DATABASE_FILE}"


def normalize_database_url(url: str, setting: str) -> str:
    """Check a database URL and give PostgreSQL URLs the psycopg 3 driver."""
    from sqlalchemy.engine import make_url  # here: the CLI's --help must not pay for SQLAlchemy
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(f"{setting}: not a database URL (expected e.g. postgresql://user@host/db)") from None
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ConfigError(f"{setting}: {parsed.get_backend_name()} is not supported (use sqlite or postgresql)")
    return parsed.render_as_string(hide_password=False)


def check_database_place(settings: Settings) -> None:
    """ConfigError when the SQLite database is inside the spool or the token cache: the spool takes every *.json
    there for a spooled snapshot (and `doctor` would say to move it away), and both are kiwoom-etl's to empty."""
    from etl.files import sqlite_path

    database = sqlite_path(settings.database_url)
    if database is None:
        return
    for folder, what in (("spool", "the spool"), ("tokens", "the token cache")):
        inside = Path(os.path.realpath(settings.state_dir / folder))
        if Path(os.path.realpath(database)).is_relative_to(inside):
            raise ConfigError(
                f"the database {database} is inside {what} {inside}: kiwoom-etl keeps its own files there; "
                "choose another place (the state directory itself will do)"
            )


# setting → (environment variable, TOML key)
_SCALARS: dict[str, tuple[str, str]] = {
    "base_url": ("KIWOOM_BASE_URL", "base_url"),
    "database_url": ("KIWOOM_ETL_DATABASE_URL", "database_url"),
    "state_dir": ("KIWOOM_ETL_STATE_DIR", "state_dir"),
    "http_timeout": ("KIWOOM_ETL_HTTP_TIMEOUT", "http_timeout"),
    "rate_per_second": ("KIWOOM_ETL_RATE_PER_SECOND", "rate_per_second"),
    "rate_burst": ("KIWOOM_ETL_RATE_BURST", "rate_burst"),
    "retry_attempts": ("KIWOOM_ETL_RETRY_ATTEMPTS", "retry_attempts"),
    "retry_backoff": ("KIWOOM_ETL_RETRY_BACKOFF", "retry_backoff"),
    "page_cap": ("KIWOOM_ETL_PAGE_CAP", "page_cap"),
    "interval": ("KIWOOM_ETL_INTERVAL", "interval"),
    "timezone": ("KIWOOM_ETL_TIMEZONE", "timezone"),
    "workers": ("KIWOOM_ETL_WORKERS", "workers"),
    "database_mode": ("KIWOOM_ETL_DATABASE_MODE", "database_mode"),
}
_TABLES = {"env", "accounts", "windows", "end_of_day", "ledger", "calendar", "benchmarks", "market", "realtime"}
# [ledger] key → (environment variable, Settings field)
_LEDGER_SCALARS = {
    "lookback_days": ("KIWOOM_ETL_LEDGER_LOOKBACK_DAYS", "ledger_lookback_days"),
    "first_days": ("KIWOOM_ETL_LEDGER_FIRST_DAYS", "ledger_first_days"),
    "at": ("KIWOOM_ETL_LEDGER_AT", "ledger_at"),
}


def load_settings(config_file: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Build the settings from the environment and the TOML file (`config_file`, else KIWOOM_ETL_CONFIG)."""
    env = os.environ if environ is None else environ
    path = config_file or env.get("KIWOOM_ETL_CONFIG") or None
    document = _read_toml(Path(path)) if path else {}
    if path:
        _check_private(Path(path), document)
    unknown = set(document) - {key for _, key in _SCALARS.values()} - _TABLES
    if unknown:
        raise ConfigError(f"{path}: unknown setting(s) {', '.join(sorted(unknown))} (see the README)")

    def pick(name: str) -> tuple[Any, str] | None:
        var, key = _SCALARS[name]
        if env.get(var, "") != "":
            return env[var], var
        if key in document:
            return document[key], f"{path}: {key}"
        return None

    env_name = env.get("KIWOOM_ENV") or document.get("env") or "real"
    if env_name not in ("real", "mock"):
        raise ConfigError(f"KIWOOM_ENV: expected 'real' or 'mock', got {env_name!r}")
    mock = env_name == "mock"

    base = pick("base_url")
    base_url = _url(*base) if base else (MOCK_BASE_URL if mock else REAL_BASE_URL)
    database = pick("database_url")
    database_url = normalize_database_url(str(database[0]), database[1]) if database else default_database_url()
    state = pick("state_dir")
    state_dir: dict[str, Any] = {"state_dir": Path(str(state[0])).expanduser()} if state else {}

    numbers = _numbers(pick)
    schedule = _schedule(pick, document, path)
    ledger = _ledger(env, document.get("ledger", {}), path)
    calendar = _calendar(document.get("calendar", {}), path)
    market = _market(env, document.get("benchmarks", {}), document.get("market", {}), path)
    realtime = _realtime(env, document.get("realtime", {}), path, mock)

    default_exchanges = ("KRX",) if mock else EXCHANGES
    if "accounts" in document:
        accounts = _accounts(document["accounts"], str(path), env, default_exchanges, mock)
    else:
        accounts = _env_account(env, default_exchanges)

    return Settings(
        base_url=base_url,
        database_url=database_url,
        config_file=Path(path) if path else None,
        accounts=accounts,
        mock=mock,
        **state_dir,
        **numbers,
        **schedule,
        **ledger,
        **calendar,
        **market,
        **realtime,
    )


Pick = Callable[[str], "tuple[Any, str] | None"]  # a setting's value and where it came from, or None when not set


def _numbers(pick: Pick) -> dict[str, Any]:
    """The numeric settings that are given (database_mode, timeouts, pacing, retries, page cap, workers)."""
    numbers: dict[str, Any] = {}
    mode = pick("database_mode")
    if mode is not None:
        numbers["database_mode"] = _database_mode(mode[0], mode[1])
    for name, kind, minimum in (
        ("http_timeout", float, 0.001),
        ("rate_per_second", float, 0.001),
        ("rate_burst", int, 1),
        ("retry_attempts", int, 1),
        ("retry_backoff", float, 0.0),
        ("page_cap", int, 1),
    ):
        given = pick(name)
        if given is not None:
            numbers[name] = _number(given[0], given[1], kind, minimum)
    workers = pick("workers")
    if workers is not None:
        numbers["workers"] = parse_workers(workers[0], workers[1])
    return numbers


def parse_workers(value: Any, setting: str) -> int | None:
    """The `workers` setting: "auto" (None), or an upper bound of at least 1."""
    if isinstance(value, str) and value.strip().lower() == "auto":
        return None
    try:
        return int(_number(value, setting, int, 1))
    except ConfigError:
        raise ConfigError(f'{setting}: expected "auto" or a whole number of at least 1, got {value!r}') from None


def _schedule(pick: Pick, document: Mapping[str, Any], path: object) -> dict[str, Any]:
    """The schedule settings that are given: interval, time zone, windows, end-of-day times."""
    schedule: dict[str, Any] = {}
    interval = pick("interval")
    if interval is not None:
        schedule["interval"] = parse_duration(str(interval[0]), interval[1])
    zone = pick("timezone")
    if zone is not None:
        schedule["timezone"] = _zone(str(zone[0]), zone[1])
    if "windows" in document:
        schedule["windows"] = _per_exchange(document["windows"], f"{path}: windows", Window.parse, DEFAULT_WINDOWS)
    if "end_of_day" in document:
        schedule["end_of_day"] = _per_exchange(
            document["end_of_day"], f"{path}: end_of_day", parse_clock, DEFAULT_END_OF_DAY
        )
    return schedule


def _given(
    env: Mapping[str, str], table: Mapping[str, Any], keys: Mapping[str, tuple[str, str]], where: str
) -> Iterator[tuple[str, str, Any, str]]:
    """The keys of a table ([ledger], [realtime]) that are given — key → (environment variable, Settings field) —
    as (key, field, value, where it was set): the variable wins over `where`'s key."""
    for key, (var, name) in keys.items():
        if env.get(var, "") != "":
            yield key, name, env[var], var
        elif key in table:
            yield key, name, table[key], f"{where}.{key}"


def _ledger(env: Mapping[str, str], table: Any, path: object) -> dict[str, Any]:
    """The [ledger] settings that are given: lookback_days, first_days, at, and the kinds mapping."""
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: ledger must be a table ([ledger])")
    unknown = set(table) - set(_LEDGER_SCALARS) - {"kinds"}
    if unknown:
        raise ConfigError(f"{path}: unknown [ledger] setting(s) {', '.join(sorted(unknown))} (see the README)")
    ledger: dict[str, Any] = {}
    for key, name, value, setting in _given(env, table, _LEDGER_SCALARS, f"{path}: ledger"):
        ledger[name] = parse_clock(str(value), setting) if key == "at" else _number(value, setting, int, 1)
    kinds = table.get("kinds", {})
    if not isinstance(kinds, dict) or not all(isinstance(v, str) for v in kinds.values()):
        raise ConfigError(f'{path}: ledger.kinds must be a table of "keyword" = "kind"')
    if kinds:
        ledger["ledger_rules"] = tuple(kinds.items())  # in the file's order: the first match decides
    return ledger


# [market] key → (environment variable, Settings field)
_MARKET_TIMES = {
    "instruments_at": ("KIWOOM_ETL_MARKET_INSTRUMENTS_AT", "market_instruments_at"),
    "at": ("KIWOOM_ETL_MARKET_AT", "market_at"),
}
_INDEX_CODE = re.compile(r"[0-9]{3}")


def _market(env: Mapping[str, str], benchmarks: Any, market: Any, path: object) -> dict[str, Any]:
    """The [benchmarks] and [market] settings that are given: the index codes (ka20006's three-digit 업종코드), and
    when the daemon takes the instrument list and the day's bars."""
    for name, table in (("benchmarks", benchmarks), ("market", market)):
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: {name} must be a table ([{name}])")
    unknown = set(benchmarks) - {"indexes"}
    if unknown:
        raise ConfigError(f"{path}: unknown [benchmarks] setting(s) {', '.join(sorted(unknown))} (see the README)")
    unknown = set(market) - set(_MARKET_TIMES)
    if unknown:
        raise ConfigError(f"{path}: unknown [market] setting(s) {', '.join(sorted(unknown))} (see the README)")
    settings: dict[str, Any] = {}
    var = "KIWOOM_ETL_BENCHMARKS_INDEXES"
    if env.get(var, "") != "":
        settings["benchmark_indexes"] = parse_index_codes(env[var].split(","), var)
    elif "indexes" in benchmarks:
        settings["benchmark_indexes"] = parse_index_codes(benchmarks["indexes"], f"{path}: benchmarks.indexes")
    for key, (var, name) in _MARKET_TIMES.items():
        if env.get(var, "") != "":
            settings[name] = parse_clock(env[var], var)
        elif key in market:
            settings[name] = parse_clock(str(market[key]), f"{path}: market.{key}")
    return settings


# [realtime] key → (environment variable, Settings field)
_REALTIME = {
    "enabled": ("KIWOOM_ETL_REALTIME_ENABLED", "realtime_enabled"),
    "url": ("KIWOOM_ETL_REALTIME_URL", "realtime_url"),
    "settle": ("KIWOOM_ETL_REALTIME_SETTLE", "realtime_settle"),
    "min_gap": ("KIWOOM_ETL_REALTIME_MIN_GAP", "realtime_min_gap"),
}
_TRUE, _FALSE = {"true", "1", "yes", "on"}, {"false", "0", "no", "off"}


def _realtime(env: Mapping[str, str], table: Any, path: object, mock: bool) -> dict[str, Any]:
    """The [realtime] settings: whether the daemon listens to the feed, where, and how event snapshots are spaced;
    the URL defaults to the real or the mock feed by `env`."""
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: realtime must be a table ([realtime])")
    unknown = set(table) - set(_REALTIME)
    if unknown:
        raise ConfigError(f"{path}: unknown [realtime] setting(s) {', '.join(sorted(unknown))} (see the README)")
    settings: dict[str, Any] = {"realtime_url": MOCK_FEED_URL if mock else REAL_FEED_URL}
    for key, name, value, setting in _given(env, table, _REALTIME, f"{path}: realtime"):
        if key == "enabled":
            settings[name] = _flag(value, setting)
        elif key == "url":
            settings[name] = _url(value, setting, secure="wss", plain="ws")
        else:
            settings[name] = parse_duration(str(value), setting)
    return settings


def _flag(value: Any, setting: str) -> bool:
    """true/false in the file; true, false, 1, 0, yes, no, on, off in an environment variable."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE | _FALSE:
        return text in _TRUE
    raise ConfigError(f"{setting}: expected true or false, got {value!r}")


def parse_index_codes(value: Any, setting: str) -> tuple[str, ...]:
    """Index codes as ka20006 takes them ("001" KOSPI, "101" KOSDAQ): three digits each, in order, once each."""
    if not isinstance(value, list | tuple) or not value:
        raise ConfigError(f'{setting}: expected a list of three-digit index codes such as ["001", "101"]')
    codes: list[str] = []
    for item in value:
        code = item.strip() if isinstance(item, str) else item
        if not isinstance(code, str) or not _INDEX_CODE.fullmatch(code):
            raise ConfigError(f'{setting}: expected three-digit index codes such as "001" (KOSPI), got {item!r}')
        if code not in codes:
            codes.append(code)
    return tuple(codes)


_DATE = re.compile(r"\d{4}-\d\d-\d\d")


def _calendar(table: Any, path: object) -> dict[str, Any]:
    """The [calendar] corrections, when given: declared holidays (a list of dates, or a table of date = name),
    trading days (a list of dates) and sessions (a table of date = "HH:MM-HH:MM"); in the file only, as lists."""
    where = f"{path}: calendar"
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: calendar must be a table ([calendar])")
    unknown = set(table) - {"holidays", "trading_days", "sessions"}
    if unknown:
        raise ConfigError(f"{path}: unknown [calendar] setting(s) {', '.join(sorted(unknown))} (see the README)")
    given = table.get("holidays", [])
    if isinstance(given, list):
        holidays = {_trading_date(v, f"{where}.holidays[{i}]"): "" for i, v in enumerate(given)}
    elif isinstance(given, dict) and all(isinstance(v, str) for v in given.values()):
        holidays = {_trading_date(k, f"{where}.holidays.{k}"): v.strip() for k, v in given.items()}
    else:
        raise ConfigError(f'{where}.holidays: expected a list of dates or a table of "YYYY-MM-DD" = "name"')
    listed = table.get("trading_days", [])
    if not isinstance(listed, list):
        raise ConfigError(f'{where}.trading_days: expected a list of dates such as ["2026-06-03"]')
    trading_days = frozenset(_trading_date(v, f"{where}.trading_days[{i}]") for i, v in enumerate(listed))
    sessions_table = table.get("sessions", {})
    if not isinstance(sessions_table, dict):
        raise ConfigError(f'{where}.sessions: expected a table such as {{ "2026-11-19" = "10:00-16:30" }}')
    sessions = {
        _trading_date(k, f"{where}.sessions.{k}"): Window.parse(v, f"{where}.sessions.{k}", session=True)
        for k, v in sessions_table.items()
    }
    for day in sorted(holidays.keys() & (trading_days | sessions.keys())):
        other = "trading_days" if day in trading_days else "sessions"
        raise ConfigError(f"{where}: {day} is both in holidays and in {other}: a day is closed or it trades")
    corrections = CalendarCorrections(holidays, trading_days, sessions)
    return {"calendar": corrections} if corrections else {}


def _trading_date(value: Any, setting: str) -> date:
    """A weekday, written YYYY-MM-DD (or a TOML date): the only days a [calendar] entry can change."""
    day = value if isinstance(value, date) and not isinstance(value, datetime) else None
    if isinstance(value, str) and _DATE.fullmatch(value.strip()):
        with contextlib.suppress(ValueError):  # 2026-02-30
            day = date.fromisoformat(value.strip())
    if day is None:
        raise ConfigError(f"{setting}: expected a date YYYY-MM-DD, got {value!r}")
    if day.weekday() >= 5:
        raise ConfigError(f"{setting}: {day} is a {day:%A}, and KRX never trades on weekends")
    return day


DATABASE_MODES = {"0600": 0o600, "0640": 0o640}


def _database_mode(value: Any, setting: str) -> int:
    """The SQLite file's permission bits: "0600" (the owner only) or "0640" (its group may read it too)."""
    if not isinstance(value, str) or value not in DATABASE_MODES:
        raise ConfigError(f'{setting}: expected "0600" or "0640", got {value!r}')
    return DATABASE_MODES[value]


def _zone(name: str, setting: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{setting}: unknown time zone {name!r} (e.g. Asia/Seoul)") from None
    return name


def _per_exchange(table: Any, setting: str, parse: Any, defaults: Mapping[str, str]) -> dict[str, Any]:
    """A TOML table keyed by exchange, each value parsed; an exchange it does not name keeps its default."""
    if not isinstance(table, dict):
        raise ConfigError(f"{setting}: expected a table such as {{ KRX = ..., NXT = ... }}")
    unknown = set(table) - set(EXCHANGES)
    if unknown:
        raise ConfigError(f"{setting}: unknown exchange(s) {', '.join(sorted(unknown))} (expected KRX, NXT)")
    return {x: parse(str(table[x]), f"{setting}.{x}") if x in table else parse(defaults[x], setting) for x in EXCHANGES}


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None


def _check_private(path: Path, document: Mapping[str, Any]) -> None:
    """Refuse a config file that others can write, or that holds a literal key others can read; warn for the group.

    As ssh treats a private key and libpq a password or key file: whoever can write the file can point base_url
    elsewhere and receive the keys; whoever can read a literal key has it. A file root owns may be read by its group
    (libpq's rule for key files): that is how the service's files are installed (docs/deploy).
    """
    if os.name == "nt":  # no POSIX permission bits to judge
        return
    status = path.stat()
    mode = status.st_mode & 0o777
    entries = document.get("accounts")
    literal = isinstance(entries, list) and any(
        isinstance(entry, dict) and isinstance(entry.get(key), str) and entry[key] and not entry[key].startswith("env:")
        for entry in entries
        for key in ("appkey", "secretkey")
    )
    if literal and mode & 0o004:
        raise ConfigError(
            f"config file {path} holds an app key or secret key and others can read it (mode {mode:04o}): "
            f"chmod 600 {path}, or give the keys as env:VARIABLE"
        )
    if mode & 0o002:
        raise ConfigError(
            f"config file {path} can be written by others (mode {mode:04o}), who could send the keys elsewhere: "
            f"chmod 600 {path}"
        )
    if literal and mode & 0o040 and status.st_uid != 0:
        log.warning(
            "config file %s holds an app key or secret key and its group can read it (mode %04o): chmod 600 %s",
            path,
            mode,
            path,
        )


def _url(value: Any, setting: str, *, secure: str = "https", plain: str = "http") -> str:
    """A Kiwoom URL: `secure`:// anywhere, `plain`:// to a loopback host only (the simulator), never a user:password."""
    text = str(value).rstrip("/")
    if not text.startswith((f"{secure}://", f"{plain}://")):
        article = "an" if plain == "http" else "a"  # "an http://", "a ws://"
        raise ConfigError(f"{setting}: expected {article} {plain}:// or {secure}:// URL, got {mask_urls(text)!r}")
    if "@" in urlsplit(text).netloc:
        # requests would send it as Basic authentication, which Kiwoom answers with 8005 on every call.
        where = " in ".join(reversed(setting.rsplit(": ", 1)))  # "KIWOOM_BASE_URL", or "base_url in FILE"
        raise ConfigError(f"Kiwoom authenticates with a token; remove user:password from {where}")
    parts = urlsplit(text)
    if parts.scheme == plain and not _loopback(parts.hostname):
        # The token request carries the keys, the feed's LOGIN the token: in clear, anyone on the path could take them.
        sent = "the app key and secret key" if plain == "http" else "the access token"
        raise ConfigError(
            f"{setting}: {plain}:// would send {sent} unencrypted to {parts.hostname!r}; "
            f"use {secure}:// (plain {plain}:// is for a loopback host only, such as `kiwoom-etl simulate`)"
        )
    return text


def _loopback(host: str | None) -> bool:
    """Whether `host` names this machine: localhost, 127.0.0.0/8 or ::1."""
    import ipaddress

    if host is None:
        return False
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _number(value: Any, setting: str, kind: type, minimum: float) -> Any:
    try:
        if isinstance(value, bool):
            raise ValueError
        number = kind(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{setting}: expected a {kind.__name__}, got {value!r}") from None
    if not math.isfinite(number) or number < minimum:
        raise ConfigError(f"{setting}: must be at least {minimum}, got {value!r}")
    return number


def _env_account(env: Mapping[str, str], exchanges: tuple[str, ...]) -> tuple[Account, ...]:
    appkey, secretkey = env.get("KIWOOM_APPKEY", ""), env.get("KIWOOM_SECRETKEY", "")
    if not appkey and not secretkey:
        return ()
    if not appkey:
        raise ConfigError("KIWOOM_APPKEY is not set (KIWOOM_SECRETKEY is)")
    if not secretkey:
        raise ConfigError("KIWOOM_SECRETKEY is not set (KIWOOM_APPKEY is)")
    return (Account(appkey=Secret(appkey), secretkey=Secret(secretkey), exchanges=exchanges, source="KIWOOM_APPKEY"),)


def _accounts(
    entries: Any, path: str, env: Mapping[str, str], default_exchanges: tuple[str, ...], mock: bool
) -> tuple[Account, ...]:
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{path}: accounts must be a non-empty list of [[accounts]] tables")
    accounts = []
    names: set[str] = set()
    for index, entry in enumerate(entries):
        where = f"{path}: accounts[{index}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: expected a table")
        unknown = set(entry) - {"name", "appkey", "secretkey", "exchanges"}
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        name = entry.get("name")
        if name is not None and (not isinstance(name, str) or not name.strip()):
            raise ConfigError(f"{where}.name: expected a non-empty string")
        if name in names:
            raise ConfigError(f"{where}.name: {name!r} is used twice")
        if name:
            names.add(name)
        exchanges = _exchanges(entry.get("exchanges", list(default_exchanges)), f"{where}.exchanges", mock)
        accounts.append(
            Account(
                appkey=_secret(entry.get("appkey"), f"{where}.appkey", env),
                secretkey=_secret(entry.get("secretkey"), f"{where}.secretkey", env),
                name=name,
                exchanges=exchanges,
                source=f"accounts[{index}]",
            )
        )
    return tuple(accounts)


def _secret(value: Any, setting: str, env: Mapping[str, str]) -> Secret:
    if value is not None and not isinstance(value, str):
        kind = type(value).__name__
        raise ConfigError(f'{setting}: expected a string in quotes ("..." or "env:VARIABLE"), got a {kind}')
    if not value:
        raise ConfigError(f"{setting}: missing (give the value, or env:VARIABLE to read it from the environment)")
    if value.startswith("env:"):
        var = value[4:]
        if not env.get(var):
            # Not an error yet: only the commands that call Kiwoom need it (Settings.require_accounts).
            return Secret.unset(f"{setting}: environment variable {var} is not set")
        return Secret(env[var])
    return Secret(value)


def _exchanges(value: Any, setting: str, mock: bool) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(item, str) for item in value):
        raise ConfigError(f'{setting}: expected a list such as ["KRX", "NXT"]')
    exchanges = tuple(dict.fromkeys(item.upper() for item in value))
    bad = [item for item in exchanges if item not in EXCHANGES]
    if bad:
        raise ConfigError(f"{setting}: unknown exchange {bad[0]!r} (expected KRX or NXT)")
    if mock and "NXT" in exchanges:
        raise ConfigError(f"{setting}: mock trading (KIWOOM_ENV=mock) supports KRX only")
    return exchanges
