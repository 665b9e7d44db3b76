"""The simulator's account model: the cash and the holdings of a day, from the account's own figures or from its
history."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from etl.sim.accounts import make_account, served_accounts
from etl.sim.history import make_history

START = date(2025, 3, 3)  # a Monday


def test_without_a_history_the_cash_is_the_accounts_own() -> None:
    account = make_account(1, 2)
    assert account.cash(START) == (17534, 17534 - 84, 17534 - 4984)
    assert replace(account, deposit_d1=5, deposit_d2=6).cash(START) == (17534, 5, 6)


def test_without_a_history_every_exchanges_holdings_are_held() -> None:
    account = make_account(1, 3)
    held = account.held(START)
    assert held == account.holdings["KRX"] + account.holdings["NXT"] and len(held) == 4


def test_with_a_history_the_cash_and_holdings_are_the_days() -> None:
    history = make_history(START, 42)
    account = replace(make_account(1, 3), history=history)
    day = START + timedelta(days=30)
    assert account.cash(day) == (history.cash(day), history.cash(day, 1), history.cash(day, 2))
    held = account.held(day)
    positions = history.positions(day)
    assert held and [h.code for h in held] == [p.code for p in positions]
    assert [h.price for h in held] == [history.price(p.code, day) for p in positions]
    assert [(h.quantity, h.settled) for h in held] == [(p.quantity, p.settled) for p in positions]


def test_simulate_serves_the_first_account_six_weeks_of_ledger_ending_today() -> None:
    first, second, third = served_accounts(3, 4, today=START)
    assert first.history is not None and second.history is None and third.history is None
    assert first.history.start == START - timedelta(days=41)
    assert [len(a.holdings["KRX"]) for a in (first, second, third)] == [4, 4, 4]
