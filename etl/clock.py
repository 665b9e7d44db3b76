"""Time: the UTC clock every timestamp comes from, Korean Standard Time (Kiwoom's), the KRX calendar, times as a
person reads them, and the durations, times of day and windows that settings are made of."""

from __future__ import annotations

import os
import re
import sys
import threading
from collections.abc import Container, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

from etl.errors import ConfigError, EtlError

KST = timezone(timedelta(hours=9), "KST")  # Korea has kept UTC+9 without daylight saving since 1988
_DURATION = re.compile(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
_CLOCK = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")


def utc_now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


# Run by a child interpreter: the `holidays` package's XKRX calendar of the years in argv, as {ISO date: name}.
_XKRX_CHILD = """
import json, sys
import holidays
calendar = holidays.financial_holidays("XKRX", years=[int(year) for year in sys.argv[1:]])
json.dump({day.isoformat(): name for day, name in calendar.items()}, sys.stdout)
"""
_XKRX_TIMEOUT = 120.0  # seconds; the child takes about a quarter of a second


class KrxCalendar(Container[date]):
    """The KRX trading holidays, by day, with their names, and each day's session: the `holidays` package's XKRX
    calendar (`holidays.financial_holidays("XKRX")`), filled in year by year as asked, like the package's own, with
    the config's [calendar] corrections on top — the one place that says whether KRX trades on a day, and when.

    Each year is computed by a short-lived child interpreter, which hands back its days and names: the package
    imports its 280 country calendars with XKRX whichever way XKRX is imported, about 11 MB that a daemon running
    for months would otherwise keep for the one calendar it reads. The child has the environment as it was when
    the calendar was made (the package names holidays in the language of LANGUAGE, LC_ALL, LC_MESSAGES or LANG),
    without the KIWOOM_* variables (credentials, the database URL), which it has no use for.
    """

    def __init__(self, corrections: CalendarCorrections | None = None, known: Mapping[date, str] | None = None) -> None:
        """`known`: the package's holidays of every year, when already known; else computed year by year."""
        self.corrections = corrections or CalendarCorrections()
        self._environment = {k: v for k, v in os.environ.items() if not k.startswith("KIWOOM_")}
        self._names: dict[date, str] = dict(known or {})
        self._years: set[int] | None = None if known is not None else set()
        self._lock = threading.Lock()

    def _year(self, day: date) -> dict[date, str]:
        """The package's holidays known once `day`'s year is filled in."""
        with self._lock:
            if self._years is None:
                return self._names
            if day.year not in self._years:
                self._names.update(self._compute(day.year))
                self._years.add(day.year)
            return self._names

    def _compute(self, year: int) -> dict[date, str]:
        import json
        import subprocess

        if not sys.executable:
            raise ConfigError(f"the KRX calendar of {year}: no Python interpreter to compute it (sys.executable)")
        # -P: the child's sys.path is the interpreter's and PYTHONPATH's, never the working directory.
        child = subprocess.run(
            [sys.executable, "-P", "-c", _XKRX_CHILD, str(year)],
            env=self._environment,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=_XKRX_TIMEOUT,
            check=False,
        )
        if child.returncode != 0:
            error = child.stderr.decode(errors="replace").strip().splitlines()
            problem = error[-1] if error else f"exit {child.returncode}"
            raise ConfigError(f"the KRX calendar of {year}: {problem} (is the holidays package installed whole?)")
        return {date.fromisoformat(day): name for day, name in json.loads(child.stdout).items()}

    def get(self, day: date, default: str | None = None) -> str | None:
        """The holiday's name ("Chuseok"; several joined by "; "; a declared one's own, else "declared holiday"),
        or `default` on a day the market is open."""
        day = day.date() if isinstance(day, datetime) else day
        fixed = self.corrections
        if day in fixed.holidays:
            return fixed.holidays[day] or "declared holiday"
        if day in fixed.trading_days or day in fixed.sessions:
            return default
        return self._year(day).get(day, default)

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.get(day) is not None

    def closed_reason(self, day: date) -> str | None:
        """Why KRX is closed on `day` (weekends aside), as a skipped run's detail says it, or None when it trades."""
        name = self.get(day)
        if name is None:
            return None
        if day in self.corrections.holidays:
            own = self.corrections.holidays[day]
            return f"{DECLARED}: {own}" if own else DECLARED
        return f"KRX holiday: {name}"

    def is_trading_day(self, day: date) -> bool:
        """Whether KRX trades on `day`: a weekday that is no holiday (after the corrections)."""
        return day.weekday() < 5 and day not in self

    def session(self, day: date) -> Window:
        """KRX's regular session on `day`, in Korean time: declared in [calendar] sessions, else 09:00-15:30."""
        return self.corrections.sessions.get(day, KRX_SESSION)

    def close_delay(self, day: date) -> timedelta:
        """How much later than on a usual day KRX closes on `day` (negative when earlier): the end-of-day
        snapshot moves by as much, so that it stays as long after the close as it is configured to be."""
        at = self.session(day).end
        return datetime.combine(day, at) - datetime.combine(day, KRX_SESSION.end)


def krx_calendar(corrections: CalendarCorrections | None = None) -> KrxCalendar:
    """The KRX trading holidays (the `holidays` package's XKRX calendar), filled in year by year as asked, with
    the config's [calendar] `corrections` on top."""
    return KrxCalendar(corrections)


def zone_name(zone: str | tzinfo, moment: datetime) -> str:
    """How a person names `zone` at `moment`: its abbreviation (KST), or its key when it has none (Asia/Dubai)."""
    tz = ZoneInfo(zone) if isinstance(zone, str) else zone
    name = moment.astimezone(tz).tzname() or ""
    if not name or name[0] in "+-":  # tzdata gives many zones only an offset such as "+04": the key says more
        return str(getattr(tz, "key", None) or name or "UTC")
    return name


def local_text(moment: datetime, zone: str | tzinfo) -> str:
    """An aware time as a person reads it: in `zone` (a settings' `timezone`), to the second, the zone named
    ("2026-11-24 15:45:00 KST"). Tables and logs keep UTC; this is for what is printed or shown."""
    tz = ZoneInfo(zone) if isinstance(zone, str) else zone
    return f"{moment.astimezone(tz):%Y-%m-%d %H:%M:%S} {zone_name(tz, moment)}"


def utc_text(moment: datetime) -> str:
    """An aware time as logs write it: UTC, ISO 8601 with a Z ("2026-11-24T06:45:00Z"), whatever the zone."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_duration(text: str, setting: str) -> timedelta:
    """ "30s", "5m", "1h", "1h30m" → a timedelta between 1 second and 24 hours."""
    match = _DURATION.fullmatch(text.strip())
    if not text.strip() or match is None:
        raise ConfigError(f"{setting}: expected a duration such as 30s, 5m or 1h, got {text!r}")
    hours, minutes, seconds = (int(part or 0) for part in match.groups())
    duration = timedelta(hours=hours, minutes=minutes, seconds=seconds)
    if not timedelta(seconds=1) <= duration <= timedelta(hours=24):
        raise ConfigError(f"{setting}: must be between 1s and 24h, got {text!r}")
    return duration


def parse_moment(text: str, option: str) -> datetime:
    """An ISO 8601 time; without a zone it is read as Korean time (Kiwoom's)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise EtlError(f"{option}: expected a time such as 2026-11-20T15:30:00+09:00, got {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=KST)


def parse_clock(text: str, setting: str) -> time:
    """ "15:45" → time(15, 45)."""
    match = _CLOCK.fullmatch(text.strip())
    if match is None:
        raise ConfigError(f"{setting}: expected a time HH:MM, got {text!r}")
    return time(int(match.group(1)), int(match.group(2)))


@dataclass(frozen=True)
class Window:
    """The part of a day in which an exchange is snapshotted, both ends included."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: object, setting: str, *, session: bool = False) -> Window:
        """The window `text` says as HH:MM-HH:MM, ending after it starts (a KRX `session`: closing after it opens);
        ConfigError naming `setting` otherwise."""
        start, sep, end = text.partition("-") if isinstance(text, str) else ("", "", "")
        if not sep:
            raise ConfigError(f"{setting}: expected {'a session ' if session else ''}HH:MM-HH:MM, got {text!r}")
        window = cls(parse_clock(start, setting), parse_clock(end, setting))
        if window.end <= window.start:
            order = "session must close after it opens" if session else "window must end after it starts"
            raise ConfigError(f"{setting}: the {order}, got {text!r}")
        return window

    def __contains__(self, moment: time) -> bool:
        return self.start <= moment <= self.end


KRX_SESSION = Window(time(9, 0), time(15, 30))  # KRX's regular session, in Korean time
DECLARED = "declared holiday (config)"  # a skipped run's detail on a day [calendar] holidays closes


@dataclass(frozen=True)
class CalendarCorrections:
    """The config's [calendar]: what KRX announced after the installed `holidays` release, or what it has wrong.

    `holidays`: days declared closed, each with its name ("" when none is given); `trading_days`: days the package
    calls holidays on which KRX trades; `sessions`: days whose regular session is not 09:00-15:30 (a day with a
    session trades), such as the college entrance exam day's 10:00-16:30.
    """

    holidays: Mapping[date, str] = field(default_factory=dict)
    trading_days: frozenset[date] = frozenset()
    sessions: Mapping[date, Window] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.holidays or self.trading_days or self.sessions)
