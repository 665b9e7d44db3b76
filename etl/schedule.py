"""When snapshots are due: slots aligned to the wall clock, exchange windows, the end-of-day snapshot, the KRX calendar.

Pure: every function takes the time it reasons about. Slots are counted from local midnight in the schedule's time
zone, so with a 5-minute interval they fall on 09:00, 09:05, … whenever the daemon started. On a day with a
declared KRX session ([calendar] sessions), KRX's end-of-day snapshot moves with the day's close, and its window
stretches to hold it; NXT keeps its own hours.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from etl.clock import CalendarCorrections, KrxCalendar, Window, krx_calendar
from etl.errors import ConfigError

SCHEDULED, END_OF_DAY = "scheduled", "end_of_day"
_SEARCH_DAYS = 400  # the longest run of closed days is a few weeks; a year and more means nothing is ever due


@dataclass(frozen=True)
class Due:
    """One exchange due at a slot: why (`scheduled`, `end_of_day`), or why it is skipped (`skip`)."""

    exchange: str
    trigger: str = SCHEDULED
    skip: str | None = None


@dataclass(frozen=True)
class Schedule:
    """The slots of a daemon and what is due at each."""

    @classmethod
    def build(
        cls,
        interval: timedelta,
        zone: str,
        windows: Mapping[str, Window],
        end_of_day: Mapping[str, time],
        *,
        all_hours: bool = False,
        corrections: CalendarCorrections | None = None,
    ) -> Schedule:
        """A schedule on the KRX calendar with the config's [calendar] `corrections`, from settings."""
        from zoneinfo import ZoneInfo

        return cls(interval, ZoneInfo(zone), windows, end_of_day, krx_calendar(corrections), all_hours)

    interval: timedelta
    zone: tzinfo
    windows: Mapping[str, Window]
    end_of_day: Mapping[str, time]
    calendar: KrxCalendar = field(default_factory=KrxCalendar)
    all_hours: bool = False

    @property
    def exchanges(self) -> tuple[str, ...]:
        return tuple(self.windows)

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.zone)

    def _midnight(self, day: date) -> datetime:
        """Local midnight of `day`, in UTC: slot arithmetic is done in UTC, where every hour happens once."""
        return datetime.combine(day, time(0), tzinfo=self.zone).astimezone(UTC)

    def floor(self, moment: datetime) -> datetime:
        """The slot at or before `moment`."""
        local = self.local(moment)
        midnight = self._midnight(local.date())
        elapsed = moment.astimezone(UTC) - midnight
        return self.local(midnight + (elapsed // self.interval) * self.interval)

    def next_slot(self, moment: datetime) -> datetime:
        """The first slot strictly after `moment` (each day's slots restart at local midnight)."""
        local = self.local(moment)
        following = self.floor(local).astimezone(UTC) + self.interval
        tomorrow = self._midnight(local.date() + timedelta(days=1))
        return self.local(min(following, tomorrow))

    def ceil(self, moment: datetime) -> datetime:
        """The slot at or after `moment`."""
        floor = self.floor(moment)
        return floor if floor == moment else self.next_slot(moment)

    def is_trading_day(self, day: date) -> bool:
        return self.calendar.is_trading_day(day)

    def closed_reason(self, day: date) -> str | None:
        """Why the market is closed on `day` (a weekday), or None when it is open."""
        return None if day.weekday() >= 5 else self.calendar.closed_reason(day)

    def closing(self, exchange: str, day: date) -> time | None:
        """When `exchange`'s end-of-day snapshot is due on `day`: the configured time, moved for KRX by as much as
        the day's session closes later or earlier than 15:30 (within the day)."""
        at = self.end_of_day.get(exchange)
        if at is None or exchange != "KRX":
            return at
        moved = datetime.combine(day, at) + self.calendar.close_delay(day)
        return min(max(moved, datetime.combine(day, time(0))), datetime.combine(day, time(23, 59))).time()

    def window(self, exchange: str, day: date) -> Window | None:
        """`exchange`'s window on `day`: the configured one, stretched to hold the day's end-of-day snapshot."""
        window, usual, closing = self.windows.get(exchange), self.end_of_day.get(exchange), self.closing(exchange, day)
        if window is None or closing is None or closing == usual or closing <= window.end:
            return window
        return Window(window.start, closing)

    def is_open(self, exchange: str, moment: datetime) -> bool:
        """Whether `exchange` is inside its window at `moment` on a trading day (always, at all hours): when `status`
        expects fresh snapshots, and when an account's change is worth a snapshot of its own."""
        if self.all_hours:
            return True
        local = self.local(moment)
        window = self.window(exchange, local.date())
        return self.is_trading_day(local.date()) and window is not None and local.time() in window

    def due(self, moment: datetime) -> list[Due]:
        """What is due at `moment`: exchanges in their window at a slot, end-of-day snapshots, holiday skips."""
        local = self.local(moment)
        if self.all_hours:
            return [Due(exchange) for exchange in self.exchanges] if local == self.floor(local) else []
        day, clock = local.date(), local.time()
        if day.weekday() >= 5:
            return []
        closed = self.closed_reason(day)
        due = []
        for exchange, usual in self.windows.items():
            window = self.window(exchange, day) or usual
            at_slot = local == self.floor(local)
            if closed is not None:
                # One row per holiday says why nothing was taken: at the window's first slot.
                if at_slot and local == self.ceil(datetime.combine(day, window.start, tzinfo=self.zone)):
                    due.append(Due(exchange, SCHEDULED, skip=closed))
            elif clock == self.closing(exchange, day):
                due.append(Due(exchange, END_OF_DAY))  # also when a slot falls on it: analysts can pick it out
            elif at_slot and clock in window:
                due.append(Due(exchange, SCHEDULED))
        return due

    def next_fire(self, after: datetime) -> datetime:
        """The first moment strictly after `after` at which something is due."""
        local = self.local(after)
        if self.all_hours:
            return self.next_slot(local)
        for offset in range(_SEARCH_DAYS):
            day = local.date() + timedelta(days=offset)
            if day.weekday() >= 5:
                continue
            candidates = []
            for exchange, usual in self.windows.items():
                window = self.window(exchange, day) or usual
                start = datetime.combine(day, window.start, tzinfo=self.zone)
                end = datetime.combine(day, window.end, tzinfo=self.zone)
                first = self.ceil(start) if local < start else self.next_slot(local)
                if first <= end and first.date() == day:
                    candidates.append(first)
                closing = self.closing(exchange, day)
                if closing is not None:
                    moment = datetime.combine(day, closing, tzinfo=self.zone)
                    if moment > local:
                        candidates.append(moment)
            for candidate in sorted(candidates):
                if self.due(candidate):
                    return candidate
        raise ConfigError("nothing is ever due: check the windows and the calendar")

    def fires_between(self, start: datetime, end: datetime) -> Iterator[datetime]:
        """Every moment strictly between `start` and `end` at which something was due."""
        moment = self.next_fire(start)
        while moment < end:
            yield moment
            moment = self.next_fire(moment)

    def last_fire(self, moment: datetime, lookback: timedelta) -> datetime | None:
        """The latest moment at or before `moment` (and within `lookback`) at which something was due."""
        latest = None
        for fire in self.fires_between(moment - lookback, moment + timedelta(microseconds=1)):
            latest = fire
        return latest
