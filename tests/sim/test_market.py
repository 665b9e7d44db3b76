"""The demo's market: seeded numbers per trading-day index, cash that settles two days later, its calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from etl.clock import KST, CalendarCorrections, KrxCalendar, Window
from etl.sim.market import MADE_UP_HOLIDAY, DemoMarket, demo_calendar, slot_times
from etl.sim.stocks import tick

XKRX_2026 = {date(2026, 9, 24): "The day preceding Chuseok", date(2026, 9, 25): "Chuseok"}


def weekdays(first: date, count: int) -> list[date]:
    days, day = [], first
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def numbers(market: DemoMarket, days: int) -> list[object]:
    """Every quantity, price, loan and cash figure the simulator would answer, day by day and slot by slot."""
    return [
        [
            (a.deposit, a.deposit_d1, a.deposit_d2)
            + tuple(
                (h.code, h.quantity, h.price, h.purchase_price, h.loan) for x in ("KRX", "NXT") for h in a.holdings[x]
            )
            for a in market.accounts(day, slot)
        ]
        for day in range(days)
        for slot in range(3)
    ]


def test_the_numbers_depend_on_the_seed_and_the_day_index_never_on_the_dates() -> None:
    november, march = weekdays(date(2026, 11, 2), 20), weekdays(date(2027, 3, 1), 20)
    assert numbers(DemoMarket(november), 20) == numbers(DemoMarket(march), 20)
    assert numbers(DemoMarket(november, seed=1), 20) != numbers(DemoMarket(november), 20)


def test_cash_moves_with_each_trade_and_settles_two_days_later() -> None:
    market = DemoMarket(weekdays(date(2026, 11, 2), 12))
    (account, executed), *_ = market.trades(3)  # account 2 buys a new stock before day 3 opens
    before, after = market.book(account, 2), market.book(account, 3)
    assert executed.cash < 0
    assert after.cash_on(3, 0) == before.cash_on(2, 0) + executed.cash  # entr_d2 at once
    assert market.book(account, 4).cash_on(4, 1) == after.cash_on(3, 0)  # entr_d1 a day later
    assert after.cash_on(3, 2) == before.cash_on(2, 2) and market.book(account, 5).cash_on(5, 2) == after.cash_on(3, 0)


def test_a_credit_line_owes_part_of_its_price_and_selling_some_repays_in_proportion() -> None:
    market = DemoMarket(weekdays(date(2026, 11, 2), 14))
    credit = [line for line in market.book(1, 6).lines if line.credit]
    assert len(credit) == 1 and credit[0].loan > 0 and credit[0].quantity == 30
    (later,) = [line for line in market.book(1, 13).lines if line.credit]
    assert later.quantity == 20 and later.loan == credit[0].loan - credit[0].loan * 10 // 30


def test_prices_stay_on_the_krx_tick() -> None:
    market = DemoMarket(weekdays(date(2026, 11, 2), 20))
    for code in ("005930", "0001A0", "373220"):
        for day in range(20):
            price = market.price(code, day, 2)
            assert price % tick(price) == 0 and price > 0


def test_the_calendar_skips_weekends_and_xkrx_holidays_and_names_them() -> None:
    now = datetime(2026, 10, 2, 7, 0, tzinfo=UTC)  # 16:00 in Seoul, a Friday
    calendar = demo_calendar(now, 10, KrxCalendar(known=XKRX_2026))
    assert calendar.trading[-1] == date(2026, 10, 2) and len(calendar.trading) == 10
    assert calendar.closed == {
        date(2026, 9, 24): "KRX holiday: The day preceding Chuseok",
        date(2026, 9, 25): "KRX holiday: Chuseok",
    }
    assert all(d.weekday() < 5 for d in calendar.all_days())


def test_weeks_without_a_holiday_get_one_made_up_weekday_closed() -> None:
    now = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)
    calendar = demo_calendar(now, 10, KrxCalendar(known={}))
    assert len(calendar.trading) == 10 and list(calendar.closed.values()) == [MADE_UP_HOLIDAY]
    (closed,) = calendar.closed
    assert calendar.trading[0] < closed < calendar.trading[-1] and closed.weekday() < 5


@pytest.mark.parametrize(
    ("hour_utc", "last", "slots"), [(0, date(2026, 11, 23), 3), (1, date(2026, 11, 24), 1), (7, date(2026, 11, 24), 3)]
)
def test_the_last_day_is_the_latest_with_a_slot_passed_and_only_passed_slots_count(
    hour_utc: int, last: date, slots: int
) -> None:
    now = datetime(2026, 11, 24, hour_utc, 0, tzinfo=UTC)  # 09:00, 10:00 and 16:00 in Seoul
    calendar = demo_calendar(now, 5, KrxCalendar(known={}))
    assert calendar.trading[-1] == last
    assert len(slot_times(last, now)) == slots


def test_the_demo_follows_the_configs_calendar_corrections() -> None:
    corrections = CalendarCorrections(
        holidays={date(2026, 11, 25): "market closure"},
        trading_days=frozenset({date(2026, 11, 23)}),
        sessions={date(2026, 11, 19): Window(time(10, 0), time(16, 30))},
    )
    krx = KrxCalendar(corrections, known={date(2026, 11, 23): "a holiday the package has wrong"})
    now = datetime(2026, 11, 27, 7, 0, tzinfo=UTC)  # 16:00 in Seoul, a Friday
    calendar = demo_calendar(now, 8, krx)
    assert calendar.closed == {date(2026, 11, 25): "declared holiday (config): market closure"}
    assert date(2026, 11, 23) in calendar.trading and date(2026, 11, 19) in calendar.trading
    assert calendar.delays == {date(2026, 11, 19): timedelta(hours=1)}
    last = slot_times(date(2026, 11, 19), now, delay=calendar.delays[date(2026, 11, 19)])[-1]
    assert last.astimezone(KST).time() == time(16, 45)  # the close's snapshot: 16:30 and 15 minutes
