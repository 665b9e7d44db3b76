"""The seeded market's bars: pure (the same on every run, in any order of asking), well formed, and closing where
they are told to."""

from __future__ import annotations

from datetime import date

from etl.sim.bars import ORIGIN, index_bar, stock_bar, weekdays_back

DAYS = weekdays_back(date(2026, 11, 20), 30)


def test_a_bar_is_the_same_whatever_was_asked_before() -> None:
    late_first = [stock_bar(7, "247540", day) for day in DAYS]  # newest first: the walk grows in one go
    assert [stock_bar(7, "247540", day) for day in reversed(DAYS)] == list(reversed(late_first))
    assert index_bar(7, "101", DAYS[0]) == index_bar(7, "101", DAYS[0])
    assert stock_bar(8, "247540", DAYS[0]) != late_first[0]  # another seed, another market


def test_every_bar_is_well_formed_and_a_given_close_is_kept() -> None:
    for day in DAYS:
        for bar in (stock_bar(0, "069500", day), index_bar(0, "001", day), stock_bar(0, "005930", day, close=70100)):
            assert bar.low <= min(bar.open, bar.close) <= max(bar.open, bar.close) <= bar.high
            assert bar.volume > 0 and bar.day == day
        assert stock_bar(0, "005930", day, close=70100).close == 70100


def test_the_weekdays_back_are_newest_first_and_stop_at_the_origin() -> None:
    assert DAYS[0] == date(2026, 11, 20) and all(d.weekday() < 5 for d in DAYS) and DAYS == sorted(DAYS, reverse=True)
    assert weekdays_back(ORIGIN, 5) == [ORIGIN]
