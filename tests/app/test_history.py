"""etl.app.history: replaying everything is four replays (snapshots, ledger, day totals, estimates) behind one
progress bar, and reclassifying the ledger gives the stored lines the kinds the configured mapping finds now."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, time
from pathlib import Path

from sqlalchemy import Engine

from etl.apis import DAY_TOTALS, ESTIMATES, REALIZED
from etl.app.collect import DayJobs, backfill, run_day, take_snapshots
from etl.app.history import reclassify_ledger, replay_everything
from etl.clock import KST, krx_calendar
from etl.sim.accounts import make_account
from etl.sim.history import make_history
from etl.sim.simulator import Simulator, serve
from tests.support import Clock, kiwoom_etl, make_settings, sim_accounts

START = date(2026, 10, 19)  # a Monday
END = date(2026, 11, 20)  # a Friday


def test_replaying_everything_replays_the_snapshots_the_ledger_the_totals_the_estimates_and_realised_profit(
    engine: Engine, tmp_path: Path
) -> None:
    account = make_account(1, 3)
    account.history = make_history(START, (END - START).days + 1, seed=3)
    simulator = Simulator(accounts=[account], today=lambda: END, retry_after=None, rate_per_second=1000, burst=100)
    clock = Clock(datetime.combine(END, time(21, 0), tzinfo=KST))
    with serve(simulator) as url:
        settings = make_settings(url, str(engine.url), tmp_path / "state", sim_accounts(simulator))
        taken = take_snapshots(settings, engine)
        jobs = DayJobs(settings, engine, clock=clock)
        try:
            day = run_day(jobs, krx_calendar(), since=START)
        finally:
            jobs.close()
        filled = backfill(settings, engine, START, date(2026, 10, 30), clock=clock)
    assert taken.loaded == 2 and [r.ok for r in day.totals] == [True] and filled.ok
    bars: list[tuple[int, str, list[int]]] = []

    @contextmanager
    def bar(length: int, label: str) -> Iterator[Callable[[int], None]]:
        done: list[int] = []
        bars.append((length, label, done))
        yield done.append

    replayed = replay_everything(settings, engine, bar=bar)
    assert replayed.runs == 2 and replayed.snapshots.unchanged == 2  # the same transform: the same rows
    assert bars == [(2, "Replaying", [2])]
    assert replayed.ledger.pages >= 2 and replayed.ledger.load.conflicts == 0
    assert sum(replayed.ledger.load.added.values()) == 0  # every line is stored already
    replayed_by = {rows.api: rows for rows in replayed.rows}
    totals, estimates = replayed_by[DAY_TOTALS], replayed_by[ESTIMATES]
    assert (totals.pages, totals.refused) == (1, 0)
    assert estimates.pages == sum(r.pages for r in filled.estimates) and estimates.refused == 0
    realized = replayed_by[REALIZED]  # the evening's run and the backfill's
    assert realized.pages == sum(r.pages for r in (*day.realized, *filled.realized)) > 0 and realized.refused == 0
    database = {"KIWOOM_ETL_DATABASE_URL": engine.url.render_as_string(hide_password=False)}
    shown = kiwoom_etl("replay", env=database | {"KIWOOM_ETL_STATE_DIR": str(tmp_path / "state")})
    assert shown.returncode == 0, shown.stderr
    assert "Day totals: 1 kt00017 page(s), 0 refused by today's transform." in shown.stdout
    assert f"Estimates: {estimates.pages} kt00002 page(s), 0 refused by today's transform." in shown.stdout
    assert f"Realised profit: {realized.pages} ka10074 page(s), 0 refused by today's transform." in shown.stdout
    nothing = replay_everything(settings, engine, since=END, account="someone else")
    assert nothing.runs == nothing.ledger.pages == 0
    assert [rows.pages for rows in nothing.rows] == [0] * len(nothing.rows)  # a market page is no account's either


def test_reclassifying_moves_the_lines_the_mapping_now_knows(engine: Engine, tmp_path: Path) -> None:
    account = make_account(1, 3)
    account.history = make_history(START, (END - START).days + 1, seed=3)
    simulator = Simulator(accounts=[account], today=lambda: END, retry_after=None, rate_per_second=1000, burst=100)
    clock = Clock(datetime.combine(END, time(12, 0), tzinfo=KST))
    with serve(simulator) as url:
        settings = make_settings(url, str(engine.url), tmp_path / "state", sim_accounts(simulator))
        jobs = DayJobs(settings, engine, clock=clock)
        try:
            day = run_day(jobs, krx_calendar(), since=START)
        finally:
            jobs.close()
    assert day.other > 0  # the history books a remark no mapping knows (기타정산금)
    unchanged = reclassify_ledger(settings, engine)
    assert (unchanged.count, unchanged.other) == (0, day.other)
    mapped = reclassify_ledger(settings.with_overrides(ledger_rules=(("기타정산금", "fee"),)), engine)
    assert mapped.moved == {("other", "fee"): day.other} and mapped.count == day.other and mapped.other == 0
