"""The schedule with a controlled clock: aligned slots, windows, end of day, weekends, KRX holidays, --all-hours."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from etl.clock import CalendarCorrections, KrxCalendar, Window, parse_clock, parse_duration
from etl.errors import ConfigError
from etl.schedule import END_OF_DAY, SCHEDULED, Due, Schedule, krx_calendar
from etl.settings import DEFAULT_END_OF_DAY, DEFAULT_WINDOWS
from tests.support import kiwoom_etl

SEOUL = ZoneInfo("Asia/Seoul")


def seoul(*args: int) -> datetime:
    return datetime(*args, tzinfo=SEOUL)  # type: ignore[misc]


def schedule(
    interval: str = "5m",
    *,
    all_hours: bool = False,
    corrections: CalendarCorrections | None = None,
    windows: dict[str, str] = DEFAULT_WINDOWS,
    end_of_day: dict[str, str] = DEFAULT_END_OF_DAY,
) -> Schedule:
    return Schedule.build(
        parse_duration(interval, "interval"),
        "Asia/Seoul",
        {x: Window.parse(w, x) for x, w in windows.items()},
        {x: parse_clock(t, x) for x, t in end_of_day.items()},
        all_hours=all_hours,
        corrections=corrections,
    )


# What an operator would declare: a closure the package does not know, a package holiday KRX trades on, and the
# college entrance exam day (수능), on which KRX opens an hour late and closes at 16:30.
CORRECTED = CalendarCorrections(
    holidays={date(2026, 11, 25): "market closure", date(2026, 11, 26): ""},
    trading_days=frozenset({date(2026, 7, 17)}),  # Constitution Day in the package
    sessions={date(2026, 11, 19): Window(time(10, 0), time(16, 30))},
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", timedelta(seconds=30)),
        ("5m", timedelta(minutes=5)),
        ("1h", timedelta(hours=1)),
        ("1h30m", timedelta(minutes=90)),
        ("2s", timedelta(seconds=2)),
        ("24h", timedelta(hours=24)),
    ],
)
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text, "--interval") == expected


@pytest.mark.parametrize("text", ["", "5", "5 m", "0s", "25h", "1d", "-5m", "m5", "5mm"])
def test_bad_durations_name_the_setting(text: str) -> None:
    with pytest.raises(ConfigError, match="--interval"):
        parse_duration(text, "--interval")


@pytest.mark.parametrize("text", ["8:30-18:10", "18:10-08:30", "08:30", "08:30-24:00", "08:60-09:00"])
def test_bad_windows_are_refused(text: str) -> None:
    with pytest.raises(ConfigError, match="windows.KRX"):
        Window.parse(text, "windows.KRX")


def test_slots_are_aligned_to_the_clock_whenever_asked() -> None:
    s = schedule("5m")
    assert s.floor(seoul(2026, 11, 23, 9, 3, 10)) == seoul(2026, 11, 23, 9, 0)
    assert s.next_slot(seoul(2026, 11, 23, 9, 3, 10)) == seoul(2026, 11, 23, 9, 5)
    assert s.next_slot(seoul(2026, 11, 23, 9, 5)) == seoul(2026, 11, 23, 9, 10)
    assert s.ceil(seoul(2026, 11, 23, 9, 5)) == seoul(2026, 11, 23, 9, 5)
    utc = datetime(2026, 11, 23, 0, 3, 10, tzinfo=ZoneInfo("UTC"))  # 09:03:10 in Seoul
    assert s.floor(utc) == seoul(2026, 11, 23, 9, 0)


def test_an_interval_that_does_not_divide_the_day_restarts_at_midnight() -> None:
    s = schedule("7m")
    assert s.next_slot(seoul(2026, 11, 23, 23, 58)) == seoul(2026, 11, 24, 0, 0)
    assert s.floor(seoul(2026, 11, 24, 0, 10)) == seoul(2026, 11, 24, 0, 7)


def test_what_is_due_on_a_trading_day() -> None:
    s = schedule("5m")
    assert s.due(seoul(2026, 11, 23, 7, 45)) == []
    assert s.due(seoul(2026, 11, 23, 7, 50)) == [Due("NXT")]
    assert s.due(seoul(2026, 11, 23, 9, 0)) == [Due("KRX"), Due("NXT")]
    assert s.due(seoul(2026, 11, 23, 9, 1)) == []  # not a slot
    assert s.due(seoul(2026, 11, 23, 18, 10)) == [Due("KRX"), Due("NXT")]  # both ends of a window count
    assert s.due(seoul(2026, 11, 23, 18, 15)) == [Due("NXT")]
    assert s.due(seoul(2026, 11, 23, 20, 15)) == []


def test_end_of_day_snapshots_when_the_interval_misses_the_closing_time() -> None:
    s = schedule("8m")  # 15:45 is 945 minutes after midnight: not a multiple of 8
    assert s.due(seoul(2026, 11, 23, 15, 45)) == [Due("KRX", END_OF_DAY)]  # NXT has no slot there
    assert seoul(2026, 11, 23, 15, 45) in list(
        s.fires_between(seoul(2026, 11, 23, 15, 40), seoul(2026, 11, 23, 15, 50))
    )


def test_weekends_are_skipped_silently() -> None:
    s = schedule("5m")
    friday_night = seoul(2026, 11, 20, 20, 15)
    assert s.next_fire(friday_night) == seoul(2026, 11, 23, 7, 50)  # Monday, the NXT window
    assert s.due(seoul(2026, 11, 21, 9, 0)) == []


def test_krx_holidays_come_from_the_holidays_package() -> None:
    calendar = krx_calendar()
    assert date(2026, 9, 25) in calendar and date(2026, 2, 17) in calendar
    assert date(2026, 11, 23) not in calendar


def test_the_krx_calendar_is_the_packages_xkrx_day_by_day_with_its_names() -> None:
    import holidays

    expected = holidays.financial_holidays("XKRX")
    calendar = krx_calendar()
    days = [date(2024, 1, 1) + timedelta(days=n) for n in range((date(2028, 1, 1) - date(2024, 1, 1)).days)]
    assert [(day in calendar, calendar.get(day)) for day in days] == [
        (day in expected, expected.get(day)) for day in days
    ]
    assert datetime(2026, 9, 25, 10, 0) in calendar and calendar.get(datetime(2026, 9, 25, 10, 0)) == "Chuseok"


def test_a_calendar_that_cannot_be_computed_says_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = tmp_path / "holidays"
    broken.mkdir()
    (broken / "__init__.py").write_text("raise ImportError('this holidays package is broken')\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))  # the child interpreter finds this package first
    calendar = krx_calendar()
    with pytest.raises(ConfigError, match="KRX calendar of 2026: ImportError: this holidays package is broken"):
        calendar.get(date(2026, 9, 25))


def test_a_holiday_is_one_skipped_slot_per_exchange_with_its_name() -> None:
    s = schedule("5m")
    eve = seoul(2026, 9, 23, 20, 15)  # the evening before Chuseok's eve (Thursday 24th) and Chuseok (Friday 25th)
    first = s.next_fire(eve)
    assert first == seoul(2026, 9, 24, 7, 50)
    (nxt,) = s.due(first)
    assert nxt.exchange == "NXT" and nxt.skip is not None and "Chuseok" in nxt.skip
    fires = list(s.fires_between(eve, seoul(2026, 9, 28, 7, 0)))
    assert fires == [
        seoul(2026, 9, 24, 7, 50),
        seoul(2026, 9, 24, 8, 30),
        seoul(2026, 9, 25, 7, 50),
        seoul(2026, 9, 25, 8, 30),
    ]
    assert s.next_fire(seoul(2026, 9, 25, 9, 0)) == seoul(2026, 9, 28, 7, 50)  # Monday, trading again


def test_a_trading_day_has_every_slot_of_its_windows() -> None:
    s = schedule("5m")
    fires = list(s.fires_between(seoul(2026, 11, 23, 0, 0), seoul(2026, 11, 24, 0, 0)))
    assert fires[0] == seoul(2026, 11, 23, 7, 50) and fires[-1] == seoul(2026, 11, 23, 20, 10)
    assert len(fires) == (20 * 60 + 10 - (7 * 60 + 50)) // 5 + 1
    krx = [f for f in fires if any(d.exchange == "KRX" for d in s.due(f))]
    assert len(krx) == (18 * 60 + 10 - (8 * 60 + 30)) // 5 + 1
    triggers = {(f.time(), d.exchange): d.trigger for f in fires for d in s.due(f)}
    assert triggers[(time(15, 45), "KRX")] == END_OF_DAY and triggers[(time(20, 5), "NXT")] == END_OF_DAY
    assert triggers[(time(15, 45), "NXT")] == SCHEDULED
    assert sum(trigger == END_OF_DAY for trigger in triggers.values()) == 2


def test_all_hours_ignores_windows_weekends_and_holidays() -> None:
    s = schedule("2s", all_hours=True)
    sunday_night = seoul(2026, 9, 27, 3, 0, 1)
    assert s.next_fire(sunday_night) == seoul(2026, 9, 27, 3, 0, 2)
    assert s.due(seoul(2026, 9, 27, 3, 0, 2)) == [Due("KRX"), Due("NXT")]
    assert s.due(seoul(2026, 9, 27, 3, 0, 3)) == []


def test_the_last_fire_within_a_grace() -> None:
    s = schedule("5m")
    assert s.last_fire(seoul(2026, 11, 23, 9, 2), timedelta(minutes=2, seconds=30)) == seoul(2026, 11, 23, 9, 0)
    assert s.last_fire(seoul(2026, 11, 23, 9, 3), timedelta(minutes=2, seconds=30)) is None
    assert s.last_fire(seoul(2026, 11, 23, 9, 0), timedelta(seconds=1)) == seoul(2026, 11, 23, 9, 0)


def test_clock_parsing() -> None:
    assert parse_clock("15:45", "end_of_day.KRX") == time(15, 45)
    with pytest.raises(ConfigError, match="end_of_day.KRX"):
        parse_clock("3:45pm", "end_of_day.KRX")


@pytest.mark.parametrize("day", [date(2026, 3, 8), date(2026, 11, 1)])  # New York's clocks change on these days
def test_slots_move_forward_in_real_time_across_a_daylight_saving_change(day: date) -> None:
    new_york = ZoneInfo("America/New_York")
    s = Schedule(timedelta(minutes=30), new_york, {"KRX": Window(time(0, 0), time(23, 59))}, {}, KrxCalendar(known={}))
    start = datetime.combine(day, time(0), tzinfo=new_york)
    fires = list(s.fires_between(start, start + timedelta(hours=26)))
    in_utc = [f.astimezone(ZoneInfo("UTC")) for f in fires]
    assert in_utc == sorted(set(in_utc))  # no moment twice, never backwards
    gaps = {b - a for a, b in zip(in_utc, in_utc[1:], strict=False)}
    assert gaps == {timedelta(minutes=30)}  # and none skipped


def test_an_interval_that_does_not_divide_a_window_stops_inside_it() -> None:
    s = schedule("7m")
    krx = [
        f
        for f in s.fires_between(seoul(2026, 11, 23, 8, 0), seoul(2026, 11, 23, 19, 0))
        if any(d.exchange == "KRX" for d in s.due(f))
    ]
    assert krx[0] == seoul(2026, 11, 23, 8, 31)  # 511 minutes after midnight: the first multiple of 7 after 08:30
    assert krx[-1] == seoul(2026, 11, 23, 18, 5)  # 1085 minutes: the last multiple of 7 before 18:10
    assert seoul(2026, 11, 23, 15, 45) in krx  # the end-of-day snapshot, between two slots


def test_the_daemon_stops_at_start_when_the_calendar_cannot_be_computed(tmp_path: Path) -> None:
    """Not at its first slot, hours later: `run` says why and exits before it connects or fetches anything."""
    broken = tmp_path / "packages" / "holidays"
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text("raise ImportError('this holidays package is broken')\n")
    env = {
        "PYTHONPATH": str(tmp_path / "packages"),
        "KIWOOM_APPKEY": "key",
        "KIWOOM_SECRETKEY": "secret",
        "KIWOOM_ETL_DATABASE_URL": f"sqlite:///{tmp_path / 'never.db'}",
        "KIWOOM_ETL_STATE_DIR": str(tmp_path / "state"),
    }
    done = kiwoom_etl("run", env=env)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "KRX calendar of" in done.stderr and "this holidays package is broken" in done.stderr
    assert not (tmp_path / "never.db").exists()


def test_a_declared_holiday_is_one_skipped_slot_per_exchange_saying_it_was_declared() -> None:
    s = schedule("5m", corrections=CORRECTED)
    assert schedule("5m").due(seoul(2026, 11, 25, 9, 0)) == [Due("KRX"), Due("NXT")]  # the package's: trading
    fires = list(s.fires_between(seoul(2026, 11, 24, 20, 15), seoul(2026, 11, 27, 0, 0)))
    assert [(f, s.due(f)) for f in fires] == [
        (seoul(2026, 11, 25, 7, 50), [Due("NXT", skip="declared holiday (config): market closure")]),
        (seoul(2026, 11, 25, 8, 30), [Due("KRX", skip="declared holiday (config): market closure")]),
        (seoul(2026, 11, 26, 7, 50), [Due("NXT", skip="declared holiday (config)")]),
        (seoul(2026, 11, 26, 8, 30), [Due("KRX", skip="declared holiday (config)")]),
    ]
    assert not s.is_trading_day(date(2026, 11, 25)) and s.calendar.get(date(2026, 11, 25)) == "market closure"


def test_a_trading_day_entry_opens_a_day_the_package_calls_a_holiday() -> None:
    day = date(2026, 7, 17)
    assert schedule("5m").closed_reason(day) == "KRX holiday: Constitution Day"
    s = schedule("5m", corrections=CORRECTED)
    assert s.is_trading_day(day) and s.closed_reason(day) is None and day not in s.calendar
    fires = list(s.fires_between(seoul(2026, 7, 17, 0, 0), seoul(2026, 7, 18, 0, 0)))
    assert len(fires) == (20 * 60 + 10 - (7 * 60 + 50)) // 5 + 1 and all(
        d.skip is None for f in fires for d in s.due(f)
    )
    assert s.due(seoul(2026, 7, 17, 15, 45)) == [Due("KRX", END_OF_DAY), Due("NXT")]


def test_on_a_session_day_the_end_of_day_snapshot_is_taken_at_the_close_plus_15_minutes() -> None:
    s = schedule("5m", corrections=CORRECTED)
    assert s.due(seoul(2026, 11, 19, 15, 45)) == [Due("KRX"), Due("NXT")]  # mid-session: an ordinary slot
    assert s.due(seoul(2026, 11, 19, 16, 45)) == [Due("KRX", END_OF_DAY), Due("NXT")]
    assert s.due(seoul(2026, 11, 19, 20, 5)) == [Due("NXT", END_OF_DAY)]  # NXT keeps its own hours
    assert s.due(seoul(2026, 11, 20, 15, 45)) == [Due("KRX", END_OF_DAY), Due("NXT")]  # the next day is usual
    fires = list(s.fires_between(seoul(2026, 11, 19, 0, 0), seoul(2026, 11, 20, 0, 0)))
    triggers = [(f.time(), d.exchange) for f in fires for d in s.due(f) if d.trigger == END_OF_DAY]
    assert triggers == [(time(16, 45), "KRX"), (time(20, 5), "NXT")]
    odd = schedule("8m", corrections=CORRECTED)  # no slot at 15:45 nor at 16:45: the end of day is a fire of its own
    assert odd.due(seoul(2026, 11, 19, 15, 45)) == []
    assert odd.next_fire(seoul(2026, 11, 19, 16, 40)) == seoul(2026, 11, 19, 16, 45)
    assert odd.due(seoul(2026, 11, 19, 16, 45)) == [Due("KRX", END_OF_DAY)]


def test_a_session_moves_the_configured_end_of_day_and_stretches_a_window_too_short_for_it() -> None:
    s = schedule(
        "5m",
        corrections=CORRECTED,
        windows={"KRX": "08:30-16:00", "NXT": "07:50-20:10"},
        end_of_day={"KRX": "15:50", "NXT": "20:05"},  # 20 minutes after the usual close: 16:50 on the exam day
    )
    assert s.closing("KRX", date(2026, 11, 19)) == time(16, 50) and s.closing("KRX", date(2026, 11, 20)) == time(15, 50)
    assert s.window("KRX", date(2026, 11, 19)) == Window(time(8, 30), time(16, 50))
    assert s.window("KRX", date(2026, 11, 20)) == Window(time(8, 30), time(16, 0))
    assert s.due(seoul(2026, 11, 19, 16, 40)) == [Due("KRX"), Due("NXT")]
    assert s.due(seoul(2026, 11, 20, 16, 40)) == [Due("NXT")]
    early = schedule("5m", corrections=CalendarCorrections(sessions={date(2026, 12, 30): Window(time(9), time(13))}))
    assert early.closing("KRX", date(2026, 12, 30)) == time(13, 15)
    assert early.window("KRX", date(2026, 12, 30)) == Window(time(8, 30), time(18, 10))  # never narrowed
