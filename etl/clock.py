"""Time: the UTC clock every timestamp comes from, Korean Standard Time (Kiwoom's), and the durations, times of day
and windows that settings are made of."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, timezone

from etl.errors import ConfigError

KST = timezone(timedelta(hours=9), "KST")  # Korea has kept UTC+9 without daylight saving since 1988
_DURATION = re.compile(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
_CLOCK = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")


def utc_now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


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
