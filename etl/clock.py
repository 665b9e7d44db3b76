"""Time: the UTC clock every timestamp comes from, Korean Standard Time (Kiwoom's), the KRX calendar, times as a
person reads them, and the durations, times of day and windows that settings are made of."""

from __future__ import annotations

import re
from collections.abc import Container
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

from etl.errors import ConfigError

KST = timezone(timedelta(hours=9), "KST")  # Korea has kept UTC+9 without daylight saving since 1988
_DURATION = re.compile(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
_CLOCK = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")


def utc_now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def krx_calendar() -> Container[date]:
    """The KRX trading holidays (the `holidays` package's XKRX calendar), filled in year by year as asked."""
    import holidays  # imported here: loading its calendars is not free, and only the daemon and the demo need them

    return holidays.financial_holidays("XKRX")


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
    def parse(cls, text: str, setting: str) -> Window:
        start, sep, end = text.partition("-")
        if not sep:
            raise ConfigError(f"{setting}: expected HH:MM-HH:MM, got {text!r}")
        window = cls(parse_clock(start, setting), parse_clock(end, setting))
        if window.end <= window.start:
            raise ConfigError(f"{setting}: the window must end after it starts, got {text!r}")
        return window

    def __contains__(self, moment: time) -> bool:
        return self.start <= moment <= self.end
