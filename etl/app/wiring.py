"""What the use cases are given: the database the settings name, and the schedule they describe."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine

from etl.clock import utc_now
from etl.schedule import Schedule
from etl.settings import Settings
from etl.store.schema import connected


@contextmanager
def open_database(settings: Settings, *, migrated: bool = True, required: bool = True) -> Iterator[Engine]:
    """An engine on the settings' database, disposed afterwards (`required`: usable now, else raised here)."""
    with connected(settings.database_url, migrated=migrated, required=required, mode=settings.database_mode) as engine:
        yield engine


def build_schedule(settings: Settings, *, all_hours: bool = False, check_calendar: bool = False) -> Schedule:
    """The schedule the settings describe, on the KRX calendar with the config's [calendar] corrections.

    With `check_calendar`, a calendar that cannot be computed raises here (a daemon stops at once, not at its first
    slot).
    """
    schedule = Schedule.build(
        settings.interval,
        settings.timezone,
        settings.windows,
        settings.end_of_day,
        all_hours=all_hours,
        corrections=settings.calendar,
    )
    if check_calendar and not all_hours:
        schedule.calendar.get(utc_now().date())
    return schedule
