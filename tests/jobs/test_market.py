"""The market jobs against the simulator over HTTP into a real database: the instrument master (every market list,
then ka10100 for a held code no list had), the index and stock daily bars of a range paged back to its first day,
idempotent, a refused page kept and replayed, and a day claimed once."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from etl.apis import INDEX_DAILY, INSTRUMENTS, STOCK_DAILY
from etl.apis.charts import IndexDaily, StockDaily
from etl.apis.instruments import Instrument
from etl.app.market import MarketData, MarketJobs, daily_bars, refresh_instruments
from etl.clock import KST
from etl.jobs.replay import replay_rows
from etl.jobs.snapshot import Snapshotter
from etl.sim.accounts import Holding, make_account
from etl.sim.bars import index_bar
from etl.sim.history import make_history
from etl.sim.simulator import Simulator, serve
from etl.store.models import EtlRun, RawResponse
from tests.support import Clock, make_settings, sim_accounts

START = date(2026, 10, 19)  # a Monday
END = date(2026, 11, 20)  # a Friday
SINCE = date(2026, 11, 2)


def _simulator() -> Simulator:
    account = make_account(1, 3)
    account.history = make_history(START, (END - START).days + 1, seed=3)
    other = make_account(2, 2, exchanges=("KRX",))
    # A K-OTC code: no market list kiwoom-etl reads holds it, so only ka10100 names it.
    other.holdings["KRX"].append(Holding("950170", "비상장바이오", 10, 8000, 8120))
    # A code no KRX list writes so (a fund's, say): it is held, never asked about.
    other.holdings["KRX"].append(Holding("k\u202e1234", "펀드", 1, 1000, 1000))
    return Simulator(
        accounts=[account, other], page_size=7, today=lambda: END, retry_after=None, rate_per_second=1000, burst=100
    )


def _count(engine: Engine, table: object) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def _evening_bars(engine: Engine, tmp_path: Path, simulator: Simulator, clock: Clock) -> MarketData:
    """The evening's daily bars of [SINCE, END] taken from `simulator` (no snapshot first)."""
    with serve(simulator) as url:
        settings = make_settings(url, str(engine.url), tmp_path / "state", sim_accounts(simulator))
        jobs = MarketJobs(settings, engine, clock=clock)
        try:
            return daily_bars(jobs, SINCE, END)
        finally:
            jobs.close()


def test_instruments_come_from_the_list_that_held_them_and_a_code_no_list_had_is_asked_alone(
    engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    simulator = _simulator()
    clock = Clock(datetime.combine(END, time(8, 0), tzinfo=KST))
    with serve(simulator) as url:
        settings = make_settings(url, str(engine.url), tmp_path / "state", sim_accounts(simulator))
        jobs = MarketJobs(settings, engine, clock=clock)
        assert all(s.ok for s in Snapshotter(settings, engine, jobs.fetcher, clock=clock).take())
        with caplog.at_level(logging.WARNING):
            done = refresh_instruments(jobs)
        again = refresh_instruments(jobs)
        jobs.close()
    assert done.ok and again.ok, [r.error for r in done.results]
    assert [r.api.api_id for r in done.results] == ["ka10099", "ka10100"]
    assert done.singles[0].codes == ("950170",) and again.singles == ()  # known now: not asked again
    with engine.connect() as connection:
        rows = {r.stock_code: r for r in connection.execute(select(Instrument.__table__))}
        runs = connection.execute(select(EtlRun.api_id, EtlRun.account_no).where(EtlRun.api_id.like("ka%")))
        assert {(r.api_id, r.account_no) for r in runs} == {("ka10099", None), ("ka10100", None)}
    assert len(rows) == 13  # ten KOSPI stocks, a KOSDAQ stock, an ETF and the K-OTC code
    assert (rows["005930"].market, rows["005930"].market_name, rows["005930"].sector) == ("KOSPI", "거래소", "전기전자")
    assert rows["247540"].market == "KOSDAQ" and rows["247540"].market_name == "코스닥"
    assert rows["069500"].market == "ETF"  # on KOSPI's list too: the ETF list decides
    assert rows["005930"].listed_on == date(2010, 1, 4)
    assert rows["950170"].market == "OTHER" and rows["950170"].market_name == "K-OTC"
    assert "950170 has marketCode '30'" in caplog.text  # the unconfirmed mapping's guess shows
    assert "so their instruments are not asked for them: 'k\\u202e1234'" in caplog.text  # named, escaped
    assert simulator.count("ka10100") == 1  # 950170 alone


def test_the_bars_of_a_range_page_back_to_its_first_day_once_and_match_the_snapshots_close(
    engine: Engine, tmp_path: Path
) -> None:
    simulator = _simulator()
    clock = Clock(datetime.combine(END, time(18, 30), tzinfo=KST))
    history = simulator.accounts[0].history
    assert history is not None
    with serve(simulator) as url:
        settings = make_settings(url, str(engine.url), tmp_path / "state", sim_accounts(simulator))
        jobs = MarketJobs(settings, engine, clock=clock)
        assert all(s.ok for s in Snapshotter(settings, engine, jobs.fetcher, clock=clock).take())
        slot = datetime.combine(END, time(18, 30), tzinfo=KST).astimezone(UTC)
        taken = daily_bars(jobs, SINCE, END, trigger="schedule", scheduled_for=slot)
        claimed = daily_bars(jobs, SINCE, END, trigger="schedule", scheduled_for=slot)  # the day is taken
        asked = simulator.count("ka20006")
        again = daily_bars(jobs, SINCE, END)
        jobs.close()
    assert taken.ok and again.ok, [r.error for r in taken.results]
    assert claimed.results == ()
    # 15 weekdays of [SINCE, END]; a page holds 7, so the third page reaches before SINCE and paging stops there.
    assert asked == 2 * 3 and taken.indexes[0].pages == 6
    assert taken.indexes[0].codes == ("001", "101")
    with engine.connect() as connection:
        kospi = {
            r.trade_date: r
            for r in connection.execute(select(IndexDaily.__table__).where(IndexDaily.index_code == "001"))
        }
        stocks = {(r.stock_code, r.trade_date): r for r in connection.execute(select(StockDaily.__table__))}
        runs = connection.execute(select(EtlRun.account_no, EtlRun.status).where(EtlRun.api_id == "ka10081")).all()
    assert _count(engine, IndexDaily.__table__) == 2 * 21  # three pages of seven, twice: re-runs add nothing
    bar = index_bar(0, "001", END)
    assert kospi[END].close == Decimal(bar.close) / 100 and isinstance(kospi[END].close, Decimal)
    assert kospi[END].trading_value == bar.value * 1_000_000
    held = {p.code for p in history.positions(END)}
    for code in held:  # a bar's close is what the snapshots show at the day's close
        assert stocks[(code, END)].close == history.price(code, END), code
    assert all(row.account_no is None and row.status == "success" for row in runs)


def test_a_refused_bar_page_is_kept_counted_and_replayed(engine: Engine, tmp_path: Path) -> None:
    simulator = _simulator()
    simulator.inject("bad_value", api_id="ka20006", value="2521.27", after=1)  # a decimal: not ×100
    clock = Clock(datetime.combine(END, time(18, 30), tzinfo=KST))
    done = _evening_bars(engine, tmp_path, simulator, clock)
    (indexes,) = done.indexes
    assert not indexes.ok and indexes.reason == "payload_refused"
    assert "001 page 1: cur_prc" in (indexes.error or "")
    assert _count(engine, IndexDaily.__table__) == 21  # 101 loaded; 001's request refused whole
    with engine.connect() as connection:
        kept = connection.execute(
            select(RawResponse.asked, RawResponse.account_no).where(RawResponse.api_id == "ka20006")
        ).all()
    assert sorted(kept) == [("001", None)] * 3 + [("101", None)] * 3
    # The transform cannot read that page today either; the other pages of the run are loaded by replay.
    read, refused = replay_rows(engine, INDEX_DAILY, clock=clock)
    assert (read, refused) == (6, 1)
    assert _count(engine, IndexDaily.__table__) == 21 + 14
    assert replay_rows(engine, STOCK_DAILY, clock=clock) == (0, 0)
    assert replay_rows(engine, INSTRUMENTS, clock=clock) == (0, 0)


def test_index_points_past_numeric_12_2_refuse_their_page_naming_the_field_and_the_other_index_loads(
    engine: Engine, tmp_path: Path
) -> None:
    # 999,999,999,999,999.99 points passes as an integer but not into NUMERIC(12,2): PostgreSQL would refuse the
    # whole run as a database error, SQLite would keep a rounded REAL. The transform refuses the page instead.
    simulator = _simulator()
    simulator.inject("bad_value", api_id="ka20006", field="cur_prc", value="99999999999999999")  # 001's page 0
    clock = Clock(datetime.combine(END, time(18, 30), tzinfo=KST))
    done = _evening_bars(engine, tmp_path, simulator, clock)
    (indexes,) = done.indexes
    assert indexes.reason == "payload_refused", indexes.error
    assert "001 page 0: cur_prc" in (indexes.error or "") and "NUMERIC(12,2)" in (indexes.error or "")
    assert "'99999999999999999'" in (indexes.error or "")
    with engine.connect() as connection:
        loaded = connection.execute(
            select(IndexDaily.index_code, func.max(IndexDaily.close)).group_by(IndexDaily.index_code)
        )
        assert {code: close < 10_000 for code, close in loaded} == {"101": True}  # 001 loaded nothing


def test_a_continuation_chain_that_loops_for_one_index_names_it_and_the_other_index_still_loads(
    engine: Engine, tmp_path: Path
) -> None:
    # 001's first two pages both say cont-yn Y with the same next-key: its chain loops. That is 001's answer's fault,
    # not the server's: the run names 001 and still asks 101, as it does after a refused page.
    simulator = _simulator()
    simulator.inject("loop_next_key", api_id="ka20006", count=2)
    clock = Clock(datetime.combine(END, time(18, 30), tzinfo=KST))
    done = _evening_bars(engine, tmp_path, simulator, clock)
    (indexes,) = done.indexes
    assert not indexes.ok and indexes.reason == "api_error"
    assert (indexes.error or "").startswith("001: ") and "loops" in (indexes.error or ""), indexes.error
    with engine.connect() as connection:
        kosdaq = connection.execute(select(func.count()).where(IndexDaily.index_code == "101")).scalar_one()
        run = connection.execute(select(EtlRun.status, EtlRun.error).where(EtlRun.api_id == "ka20006")).one()
    assert kosdaq == 21  # 101's three pages of seven
    assert run.status == "failed" and run.error == indexes.error


def test_a_stock_kiwoom_refuses_to_chart_is_named_and_the_other_stocks_still_load(
    engine: Engine, tmp_path: Path
) -> None:
    # ka10081 refuses the first code asked (a delisted or unlisted stock, say: reason 1517). That is
    # that code's answer, not the server's: the others held must not go without bars every evening because of it.
    simulator = _simulator()
    simulator.inject("input_error", api_id="ka10081")
    clock = Clock(datetime.combine(END, time(18, 30), tzinfo=KST))
    with serve(simulator) as url:
        settings = make_settings(url, str(engine.url), tmp_path / "state", sim_accounts(simulator))
        jobs = MarketJobs(settings, engine, clock=clock)
        assert all(s.ok for s in Snapshotter(settings, engine, jobs.fetcher, clock=clock).take())
        done = daily_bars(jobs, SINCE, END)
        jobs.close()
    (stocks,) = done.stocks
    first, *others = stocks.codes
    assert not stocks.ok and stocks.reason == "api_error"
    assert (stocks.error or "").startswith(f"{first}: ka10081: ") and "1517" in (stocks.error or ""), stocks.error
    with engine.connect() as connection:
        charted = set(connection.execute(select(StockDaily.stock_code).distinct()).scalars())
    assert others and charted == set(others)


def test_returns_against_an_index_kiwoom_refused_says_its_run_failed(engine: Engine, tmp_path: Path) -> None:
    """201 (KOSPI 200) in [benchmarks], refused by the server (the simulator charts 001 and 101 only): `returns
    --benchmark 201` says the run failed and why, not only "add it and run backfill", which was just done."""
    from etl.read.returns import read_returns

    simulator = _simulator()
    clock = Clock(datetime.combine(END - timedelta(days=1), time(18, 30), tzinfo=KST))
    with serve(simulator) as url:
        settings = make_settings(url, str(engine.url), tmp_path / "state", sim_accounts(simulator))
        jobs = MarketJobs(settings.with_overrides(benchmark_indexes=("201",)), engine, clock=clock)
        try:
            for day in (END - timedelta(days=1), END):  # two closes: a return to hold against the index
                clock.now = datetime.combine(day, time(18, 30), tzinfo=KST)
                assert all(s.ok for s in Snapshotter(settings, engine, jobs.fetcher, clock=clock).take())
            (indexes,) = daily_bars(jobs, SINCE, END).indexes
        finally:
            jobs.close()
    assert not indexes.ok and (indexes.error or "").startswith("201: ")
    for returns in read_returns(engine, benchmark="201"):
        assert returns.benchmark is not None and returns.benchmark.problem is not None
        assert "add 201 to [benchmarks]" in returns.benchmark.problem
        assert returns.benchmark.problem.endswith(f"its last ka20006 run failed: {indexes.error}")
