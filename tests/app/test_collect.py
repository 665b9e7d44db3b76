"""etl.app.collect: the account's day (the ledger and the realised profit, then the day's totals when due) and the
backfill (estimates of the accounts asked, the ledger and the realised profit of all), against the simulator over
HTTP into a real database; and the rows of a slot that did not run."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine, delete, select

from etl.apis.realized import REALIZED, AccountRealizedDaily
from etl.app.collect import DayJobs, backfill, run_day
from etl.clock import KST, krx_calendar
from etl.jobs.replay import replay_rows
from etl.read.views import REALIZED_CHECKS
from etl.sim.accounts import make_account
from etl.sim.history import make_history
from etl.sim.simulator import Simulator, serve
from etl.store.models import EtlRun
from tests.support import Clock, make_settings, sim_accounts

START = date(2026, 10, 19)  # a Monday
END = date(2026, 11, 20)  # a Friday
SATURDAY = date(2026, 11, 21)


def ledger_simulator(accounts: int = 1) -> Simulator:
    """`accounts` accounts, each with a seeded ledger from START to the Saturday after END."""
    made = [make_account(i, 3) for i in range(1, accounts + 1)]
    for i, account in enumerate(made):
        account.history = make_history(START, (SATURDAY - START).days + 1, seed=3 + i)
    return Simulator(accounts=made, today=lambda: END, retry_after=None, rate_per_second=1000, burst=100)


def test_the_day_s_totals_are_taken_after_the_close_of_a_trading_day_or_when_forced(
    engine: Engine, tmp_path: Path
) -> None:
    simulator = ledger_simulator()
    clock = Clock(datetime.combine(END, time(12, 0), tzinfo=KST))
    calendar = krx_calendar()
    with serve(simulator) as url:
        settings = make_settings(url, str(engine.url), tmp_path / "state", sim_accounts(simulator))
        jobs = DayJobs(settings, engine, clock=clock)
        try:
            noon = run_day(jobs, calendar, since=START)
            forced = run_day(jobs, calendar, force_totals=True)
            clock.now = datetime.combine(END, time(21, 0), tzinfo=KST)
            evening = run_day(jobs, calendar)
            clock.now = datetime.combine(SATURDAY, time(21, 0), tzinfo=KST)
            saturday = run_day(jobs, calendar)
        finally:
            jobs.close()
    assert [r.ok for r in noon.ledger] == [True] and noon.added > 0
    assert noon.totals == () and noon.not_due is not None and "after the close" in noon.not_due
    assert noon.ok is (noon.other == 0)  # a line no rule knows makes the day not ok
    assert forced.not_due is None and [r.ok for r in forced.totals] == [True]
    assert forced.added == 0  # the ledger again: every line already loaded
    assert evening.not_due is None and [(r.ok, r.trade_date) for r in evening.totals] == [(True, END)]
    assert saturday.totals == () and saturday.not_due is not None and "no KRX trading day" in saturday.not_due


def test_the_day_claims_its_slots_so_that_a_replica_takes_neither_half_twice(engine: Engine, tmp_path: Path) -> None:
    simulator = ledger_simulator()
    evening = datetime.combine(END, time(20, 15), tzinfo=KST)
    clock = Clock(evening.replace(hour=21))
    with serve(simulator) as url:
        settings = make_settings(url, str(engine.url), tmp_path / "state", sim_accounts(simulator))
        days = [DayJobs(settings, engine, clock=clock) for _ in range(2)]  # two daemons on one database
        try:
            first, replica = (
                run_day(jobs, krx_calendar(), trigger="scheduled", ledger_slot=evening, totals_slot=evening)
                for jobs in days
            )
        finally:
            for jobs in days:
                jobs.close()
    assert len(first.ledger) == 1 and len(first.realized) == 1 and len(first.totals) == 1
    assert replica.ledger == () and replica.realized == () and replica.totals == ()  # the first's: left to it
    with engine.connect() as connection:
        runs = connection.execute(select(EtlRun.api_id).order_by(EtlRun.id)).scalars().all()
    assert runs == ["kt00015", "ka10074", "kt00017"]


def test_backfill_estimates_the_accounts_asked_and_loads_the_ledger_of_all(engine: Engine, tmp_path: Path) -> None:
    simulator = ledger_simulator(accounts=2)
    clock = Clock(datetime.combine(END, time(12, 0), tzinfo=KST))
    with serve(simulator) as url:
        settings = make_settings(url, str(engine.url), tmp_path / "state", sim_accounts(simulator))
        one = backfill(settings, engine, START, date(2026, 10, 30), clock=clock, estimated=settings.accounts[:1])
        both = backfill(settings, engine, START, date(2026, 10, 30), clock=clock)
    assert [len(one.estimates), len(one.ledger)] == [1, 2]
    assert one.ok and one.estimates[0].days == 10  # two weeks of weekdays
    assert dict(one.first_snapshots) == {one.estimates[0].account: None}  # no snapshot yet
    assert [len(both.estimates), len(both.ledger)] == [2, 2] and both.ok
    assert set(both.first_snapshots) == {r.account for r in both.estimates}


def test_backfill_loads_kiwoom_s_realised_profit_of_the_days_with_a_sale(engine: Engine, tmp_path: Path) -> None:
    simulator = ledger_simulator()
    history = simulator.accounts[0].history
    assert history is not None
    clock = Clock(datetime.combine(END, time(12, 0), tzinfo=KST))
    with serve(simulator) as url:
        settings = make_settings(url, str(engine.url), tmp_path / "state", sim_accounts(simulator))
        filled = backfill(settings, engine, START, clock=clock)
    assert filled.ok and [r.days for r in filled.realized] == [len(history.realized(END))]
    table = AccountRealizedDaily.__table__
    with engine.connect() as connection:
        stored = connection.execute(select(table).order_by(table.c.trade_date)).all()
        view = REALIZED_CHECKS.table()
        checks = connection.execute(select(view).order_by(view.c.trade_date)).all()
    expected = [(d.day, d.bought, d.sold, Decimal(d.profit), d.commission, d.tax) for d in history.realized(END)]
    assert len(expected) >= 2  # the story sells on two days, on KRX and NXT
    assert [
        (r.trade_date, r.buy_amount, r.sell_amount, r.realized_pnl, r.commission, r.tax) for r in stored
    ] == expected
    # Kiwoom's amounts, commissions and taxes are the ledger's own: every day agrees.
    assert [(c.trade_date, c.result, c.mismatches) for c in checks] == [(d[0], "agrees", None) for d in expected]
    # Its raw pages are kept: replay rebuilds the table from them alone.
    with engine.begin() as connection:
        connection.execute(delete(table))
    assert replay_rows(engine, REALIZED)[1] == 0
    with engine.connect() as connection:
        assert connection.execute(select(table).order_by(table.c.trade_date)).all() == stored
