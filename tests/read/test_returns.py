"""The returns views and `kiwoom-etl returns`, against hand-computed examples: a securities transfer valued at the
day's close, a deposit in a rising market, a dividend and a withdrawal on a day without a snapshot before a fall,
a deposit on a flat day (no return), the same flows on the NXT series, a first day worth nothing, the first deposit
into an empty account; TWR, XIRR, drawdown and the period's dividends, fees and taxes."""

from __future__ import annotations

import math
import re
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from etl.clock import KST
from etl.read.returns import YEAR, Day, performance, render, xirr
from etl.read.views import ACCOUNT_FLOWS_DAILY, ACCOUNT_RETURNS_DAILY
from tests.support import kiwoom_etl
from tests.support.books import Book, Line, import_books
from tests.support.schema import migrated
from tests.support.story import ACCOUNT, at, ledger_line, load

D1, D2, D3, D4, D5, D6 = (date(2026, 11, d) for d in (2, 3, 4, 5, 6, 9))  # Monday 2 … Monday 9; no snapshot on D4


def samsung(price: int) -> Line:
    return Line("005930", "삼성전자", 100, price, 70000)


def hynix(price: int) -> Line:
    return Line("000660", "SK하이닉스", 10, price, 150000)


# The books, as the story goes (KRX); NXT prices every stock 1 % lower and holds the same cash.
KRX_BOOKS = [
    (D1, 2_000_000, (samsung(80000),)),  # 10,000,000
    (D2, 2_000_000, (samsung(88000), hynix(150000))),  # +10 %, and 10 shares transferred in: 12,300,000
    (D3, 7_000_000, (samsung(96800), hynix(150000))),  # a deposit of 5,000,000, +10 %: 18,180,000
    # D4: no snapshot; a dividend of 100,000 (15,400 withheld) and a withdrawal of 3,000,000
    (D5, 4_083_600, (samsung(87120), hynix(135000))),  # −10 %, and a fee of 1,000: 14,145,600
    (D6, 5_083_600, (samsung(87120), hynix(135000))),  # a deposit of 1,000,000, prices flat: 15,145,600
]


LEDGER = [
    ledger_line(D2, 1, "대체입고", 0, stk_cd="A000660", stk_nm="SK하이닉스", trde_qty_jwa_cnt="10"),
    ledger_line(D3, 1, "이체입금", 5_000_000),
    ledger_line(D4, 1, "배당금입금", 100_000, stk_cd="A005930", incm_resi_tax="15400"),
    ledger_line(D4, 2, "이체출금", 3_000_000),
    ledger_line(D5, 1, "기타수수료", 1_000),
    ledger_line(D6, 1, "이체입금", 1_000_000),
]


def story() -> list[Book]:
    books = []
    for day, cash, lines in KRX_BOOKS:
        books.append(Book(ACCOUNT, "KRX", at(day), lines, deposit_d2=cash))
        nxt = tuple(Line(x.code, x.name, x.quantity, x.price * 99 // 100, x.cost) for x in lines)
        books.append(Book(ACCOUNT, "NXT", at(day) + timedelta(hours=4), nxt, deposit_d2=cash))
    return books


def read(engine: Engine, view: object, exchange: str | None = None) -> list[object]:
    table = view.table()  # type: ignore[attr-defined]
    query = select(table).where(table.c.account_no == ACCOUNT).order_by(table.c.trade_date)
    if exchange:
        query = query.where(table.c.exchange == exchange)
    with engine.connect() as connection:
        return list(connection.execute(query))


def test_flows_are_external_only_and_a_transfer_is_valued_at_the_day_s_close(engine: Engine, tmp_path: Path) -> None:
    load(engine, tmp_path, story(), LEDGER)
    flows = {row.trade_date: row for row in read(engine, ACCOUNT_FLOWS_DAILY)}
    assert sorted(flows) == [D2, D3, D4, D5, D6]
    assert flows[D2].securities_in == 10 * 150000 and flows[D2].external_flow == 1_500_000  # KRX's close price
    assert (flows[D3].deposits, flows[D3].external_flow) == (5_000_000, 5_000_000)
    assert (flows[D4].withdrawals, flows[D4].external_flow, flows[D4].dividends) == (3_000_000, -3_000_000, 100_000)
    assert (flows[D4].taxes, flows[D5].fees, flows[D5].external_flow) == (15_400, 1_000, 0)  # part of the return
    assert all(row.unvalued_transfers == 0 for row in flows.values())


def krx_by_hand() -> dict[date, tuple[int, int, float | None]]:
    """(net_assets, external_flow, daily_return) per KRX day, each return written out as its definition says."""
    return {
        D1: (10_000_000, 0, None),
        D2: (12_300_000, 1_500_000, (12_300_000 - 1_500_000) / 10_000_000 - 1),
        D3: (18_180_000, 5_000_000, (18_180_000 - 5_000_000) / 12_300_000 - 1),
        D5: (14_145_600, -3_000_000, (14_145_600 + 3_000_000) / 18_180_000 - 1),  # D4's flows join D5
        D6: (15_145_600, 1_000_000, (15_145_600 - 1_000_000) / 14_145_600 - 1),
    }


def test_the_daily_returns_the_cumulative_twr_and_the_drawdown_are_the_hand_computed_ones(
    engine: Engine, tmp_path: Path
) -> None:
    load(engine, tmp_path, story(), LEDGER)
    rows = read(engine, ACCOUNT_RETURNS_DAILY, "KRX")
    hand = krx_by_hand()
    assert [r.trade_date for r in rows] == list(hand)
    growth = peak = 1.0
    for row in rows:
        net, flow, daily = hand[row.trade_date]
        assert (row.net_assets, row.external_flow, row.source) == (net, flow, "snapshot")
        if daily is None:
            assert row.daily_return is None
        else:
            assert row.daily_return == pytest.approx(daily, rel=1e-12, abs=1e-15)
            growth *= 1 + daily
        peak = max(peak, growth)
        assert row.twr_cumulative == pytest.approx(growth - 1, rel=1e-12, abs=1e-15)
        assert row.drawdown == pytest.approx(growth / peak - 1, rel=1e-12, abs=1e-15) and row.drawdown <= 0
    assert rows[-1].daily_return == 0  # a deposit on a flat day is no return
    assert rows[2].daily_return == pytest.approx(0.0715447154, abs=1e-10)  # the deposit day shows the market only
    assert rows[3].dividends == 100_000  # the dividend is in the return, not in the flow
    nxt = read(engine, ACCOUNT_RETURNS_DAILY, "NXT")
    assert [r.external_flow for r in nxt] == [flow for _, flow, _ in hand.values()]  # the same flows, alike
    assert [r.net_assets for r in nxt] != [r.net_assets for r in rows]  # never combined: NXT's own values


def test_a_day_after_one_worth_nothing_has_no_return_and_the_index_carries_over(engine: Engine, tmp_path: Path) -> None:
    books = [
        Book(ACCOUNT, "KRX", at(D1), (), deposit_d2=0),
        Book(ACCOUNT, "KRX", at(D2), (), deposit_d2=1_000_000),
        Book(ACCOUNT, "KRX", at(D3), (samsung(1000),), deposit_d2=1_000_000),  # 1,100,000
    ]
    load(engine, tmp_path, books, [ledger_line(D2, 1, "이체입금", 1_000_000)])
    rows = read(engine, ACCOUNT_RETURNS_DAILY, "KRX")
    assert [(r.daily_return, r.twr_cumulative) for r in rows[:2]] == [(None, 0), (None, 0)]
    assert rows[2].daily_return == pytest.approx(0.1) and rows[2].twr_cumulative == pytest.approx(0.1)


def test_the_first_deposit_into_an_empty_account_counts_from_the_start_of_its_day(
    engine: Engine, tmp_path: Path
) -> None:
    """10,000,000 deposited into an empty account (the cash after the line is its amount), 7,000,000 of it in 100
    shares that close at 71,000 then 72,000: the first day earns 1 %, not nothing."""
    books = [
        Book(ACCOUNT, "KRX", at(D1), (samsung(71000),), deposit_d2=3_000_000),  # 10,100,000
        Book(ACCOUNT, "KRX", at(D2), (samsung(72000),), deposit_d2=3_000_000),  # 10,200,000
    ]
    load(engine, tmp_path, books, [ledger_line(D1, 1, "이체입금", 10_000_000, entra_remn="000000010000000")])
    rows = read(engine, ACCOUNT_RETURNS_DAILY, "KRX")
    assert rows[0].external_flow == 10_000_000
    assert rows[0].daily_return == pytest.approx(10_100_000 / 10_000_000 - 1, rel=1e-12)
    assert rows[0].twr_cumulative == pytest.approx(0.01, rel=1e-12) and rows[0].drawdown == 0
    assert rows[1].daily_return == pytest.approx(10_200_000 / 10_100_000 - 1, rel=1e-12)
    assert rows[1].twr_cumulative == pytest.approx(10_200_000 / 10_000_000 - 1, rel=1e-12)  # nothing lost


def test_returns_over_the_account_s_whole_life_counts_the_first_deposit_day_as_the_view_does(
    sqlite_url: str, tmp_path: Path
) -> None:
    """`returns` from the account's first day (10,000,000 into an empty account, 10,100,000, 10,200,000 and
    10,300,000 at the closes) starts from nothing: +3 %, as twr_cumulative; from the second day, that day is the base:
    +0.98 %. The index is measured over the same interval: from its close before the first day."""
    from etl.store.engine import make_engine
    from etl.store.schema import migrate

    engine = make_engine(sqlite_url)
    migrate(engine)
    books = [
        Book(ACCOUNT, "KRX", at(D2), (samsung(71000),), deposit_d2=3_000_000),
        Book(ACCOUNT, "KRX", at(D3), (samsung(72000),), deposit_d2=3_000_000),
        Book(ACCOUNT, "KRX", at(D5), (samsung(73000),), deposit_d2=3_000_000),
    ]
    load(engine, tmp_path, books, [ledger_line(D2, 1, "이체입금", 10_000_000, entra_remn="000000010000000")])
    with_kospi(engine)
    (last,) = read(engine, ACCOUNT_RETURNS_DAILY, "KRX")[-1:]
    engine.dispose()
    env = {"KIWOOM_ETL_DATABASE_URL": sqlite_url}
    whole = kiwoom_etl("returns", "--account", ACCOUNT, "--benchmark", "001", env=env)
    assert whole.returncode == 0, whole.stderr
    assert f"time-weighted return     {last.twr_cumulative * 100:+.2f} %" in whole.stdout and "+3.00 %" in whole.stdout
    assert "start equity             0 KRW" in whole.stdout, whole.stdout
    assert "net external flows       +10,000,000 KRW" in whole.stdout
    assert "from the first's start, the account's first deposit" in whole.stdout
    index = 2499.24 / 2500 - 1  # D1's close to D5's: the account's interval
    assert f"KOSPI (001) return       {index * 100:+.2f} %" in whole.stdout, whole.stdout
    assert f"excess over it           {(0.03 - index) * 100:+.2f} %" in whole.stdout
    later = kiwoom_etl("returns", "--account", ACCOUNT, "--since", str(D3), env=env)
    assert f"time-weighted return     {(10_300_000 / 10_200_000 - 1) * 100:+.2f} %" in later.stdout, later.stdout
    assert "start equity             10,200,000 KRW" in later.stdout and "the first is the base" in later.stdout
    same = kiwoom_etl("returns", "--account", ACCOUNT, "--since", str(D1), env=env)
    assert "+3.00 %" in same.stdout  # D2 is still the account's first day


def test_a_first_day_whose_deposit_found_cash_in_the_account_has_no_return(engine: Engine, tmp_path: Path) -> None:
    """The same day, but the deposit's line says cash was there before it: what the account held at the day's start
    is unknown, so the day has no return, as any first day."""
    books = [Book(ACCOUNT, "KRX", at(D1), (samsung(71000),), deposit_d2=3_000_000)]
    load(engine, tmp_path, books, [ledger_line(D1, 1, "이체입금", 10_000_000, entra_remn="000000012000000")])
    (row,) = read(engine, ACCOUNT_RETURNS_DAILY, "KRX")
    assert (row.external_flow, row.daily_return, row.twr_cumulative) == (10_000_000, None, 0)


def npv(rate: float, cash: list[tuple[date, float]]) -> float:
    return sum(amount / (1 + rate) ** ((day - cash[0][0]).days / 365) for day, amount in cash)


def newton(cash: list[tuple[date, float]], guess: float = 0.1) -> float:
    """An XIRR found another way than the module's bisection."""
    rate = guess
    for _ in range(100):
        step = 1e-7
        slope = (npv(rate + step, cash) - npv(rate - step, cash)) / (2 * step)
        rate -= npv(rate, cash) / slope
    return rate


def test_returns_prints_the_period_s_twr_xirr_drawdown_and_totals(sqlite_url: str, tmp_path: Path) -> None:
    from etl.store.engine import make_engine

    engine = make_engine(sqlite_url)
    migrated(engine)
    load(engine, tmp_path, story(), LEDGER)
    engine.dispose()
    shown = kiwoom_etl("returns", "--account", ACCOUNT, env={"KIWOOM_ETL_DATABASE_URL": sqlite_url})
    assert shown.returncode == 0, shown.stderr
    hand = krx_by_hand()
    twr = math.prod(1 + r for _, _, r in hand.values() if r is not None) - 1
    cash = [(D1, -10_000_000.0), (D2, -1_500_000.0), (D3, -5_000_000.0), (D4, 3_000_000.0), (D6, -1_000_000.0)]
    cash.append((D6, 15_145_600.0))
    rate = newton(cash)
    assert abs(npv(rate, cash)) < 1e-3
    out = shown.stdout
    assert f"{ACCOUNT} · KRX · {D1} – {D6}" in out
    assert f"time-weighted return     {twr * 100:+.2f} %" in out
    assert f"money-weighted (XIRR)    {rate * 100:+.2f} % a year" in out
    drawdown = (14_145_600 + 3_000_000) / 18_180_000 - 1
    assert f"max drawdown             {drawdown * 100:+.2f} % ({D3} → {D5})" in out
    assert f"best day                 {0.08 * 100:+.2f} % ({D2})" in out
    assert "dividends                100,000 KRW" in out and "taxes                    15,400 KRW" in out
    assert "fees                     1,000 KRW" in out
    assert "annualised TWR           — (periods of 365 days or more)" in out


def test_performance_annualises_a_year_or_more_and_says_when_there_is_no_xirr() -> None:
    start = date(2025, 1, 1)
    days = [Day(start, 1000, 0, None), Day(start + timedelta(days=400), 1210, 0, 0.21)]
    long = performance(days, [])
    assert long.annualised_twr == pytest.approx(1.21 ** (365 / 400) - 1)
    assert long.xirr == pytest.approx(1.21 ** (365 / 400) - 1, rel=1e-9)  # no flows: the two agree
    short = performance([days[0], Day(start + timedelta(days=100), 1210, 0, 0.21)], [])
    assert short.annualised_twr is None
    nothing = performance([Day(start, 0, 0, None), Day(start + timedelta(days=10), 0, 0, None)], [])
    assert nothing.twr is None and nothing.xirr is None
    assert nothing.xirr_problem is not None and "no money-weighted return" in nothing.xirr_problem
    assert xirr([(start, 100.0), (start + timedelta(days=30), 50.0)])[0] is None


def test_returns_without_a_ledger_says_so_and_a_period_of_one_day_fails_in_words(
    sqlite_url: str, tmp_path: Path
) -> None:
    from etl.store.engine import make_engine

    engine = make_engine(sqlite_url)
    migrated(engine)
    import_books(engine, [b for b in story() if b.exchange == "NXT"], tmp_path / "books")  # NXT only, no ledger
    engine.dispose()
    env = {"KIWOOM_ETL_DATABASE_URL": sqlite_url}
    shown = kiwoom_etl("returns", env=env)
    assert shown.returncode == 0, shown.stderr
    assert f"{ACCOUNT} · NXT" in shown.stdout and "this account has no KRX snapshot" in shown.stdout
    assert "No ledger has been read for this account: every deposit counts as return here" in shown.stdout
    for figure in ("net external flows", "dividends", "fees", "taxes"):  # unknown, not 0
        assert re.search(rf"^\s*{figure}\s+— \(no ledger read\)$", shown.stdout, re.M), (figure, shown.stdout)
    one_day = kiwoom_etl("returns", "--since", f"{D6}", env=env)
    assert one_day.returncode == 1 and "1 day(s) with a value in the period" in one_day.stdout
    backwards = kiwoom_etl("returns", "--since", f"{D6}", "--until", f"{D1}", env=env)
    assert backwards.returncode == 2 and "is after --until" in backwards.stderr and "Traceback" not in backwards.stderr


def test_a_fall_below_nothing_gives_the_same_index_on_both_backends(engine: Engine, tmp_path: Path) -> None:
    books = [
        Book(ACCOUNT, "KRX", at(D1), (), deposit_d2=1_000_000),
        Book(ACCOUNT, "KRX", at(D2), (), deposit_d2=1_000_000, credit_loan=1_500_000),  # equity −500,000
        Book(ACCOUNT, "KRX", at(D3), (), deposit_d2=1_000_000, credit_loan=1_250_000),  # after a day ≤ 0: none
        Book(ACCOUNT, "KRX", at(D5), (), deposit_d2=1_000_000),
    ]
    load(engine, tmp_path, books, [])
    rows = read(engine, ACCOUNT_RETURNS_DAILY, "KRX")
    assert [r.daily_return for r in rows] == [None, pytest.approx(-1.5), None, None]
    assert [r.twr_cumulative for r in rows] == [0, pytest.approx(-1.5), pytest.approx(-1.5), pytest.approx(-1.5)]
    assert [r.drawdown for r in rows] == [0, pytest.approx(-1.5), pytest.approx(-1.5), pytest.approx(-1.5)]


def test_a_named_account_s_ledger_and_snapshots_share_its_name_so_the_returns_see_its_flows(
    engine: Engine, tmp_path: Path
) -> None:
    from etl.jobs.ledger import LedgerJob
    from etl.jobs.snapshot import Snapshotter
    from etl.sim.accounts import make_account
    from etl.sim.history import make_history
    from etl.sim.simulator import Simulator, serve
    from tests.support import Clock, make_settings, sim_accounts

    start, end = date(2026, 10, 19), date(2026, 11, 20)
    account = make_account(1, 3)
    account.history = make_history(start, (end - start).days + 1, seed=3)
    days = [start, end]
    simulator = Simulator(accounts=[account], today=lambda: days[0], rate_per_second=1000, burst=100)
    clock = Clock(datetime.combine(start, time(15, 40), tzinfo=KST))
    with serve(simulator) as url:
        named = sim_accounts(simulator, **{account.acct_no: "main"})
        settings = make_settings(url, str(engine.url), tmp_path / "state", named)
        snapshots = Snapshotter(settings, engine, clock=clock)
        snapshots.take()
        days[0], clock.now = end, datetime.combine(end, time(15, 40), tzinfo=KST)
        snapshots.take()
        (ledger,) = LedgerJob(settings, engine, snapshots.fetcher, clock=clock).run(since=start)
        snapshots.close()
    assert ledger.ok and ledger.account == "main"
    table = ACCOUNT_RETURNS_DAILY.table()
    with engine.connect() as connection:
        rows = list(connection.execute(select(table).where(table.c.exchange == "KRX").order_by(table.c.trade_date)))
    deposited = sum(e.amount for e in account.history.events if start < e.day <= end and e.kind == "deposit")
    assert [r.account_no for r in rows] == ["main", "main"] and rows[1].external_flow != 0
    assert deposited > 0


# KOSPI over the story's days (D4 has a bar, the account no value): the index as ka20006 gives it, ×100.
KOSPI = {D1: "2500.00", D2: "2525.00", D3: "2550.25", D4: "2600.00", D5: "2499.24", D6: "2474.25"}


def with_kospi(engine: Engine, more: dict[date, str] | None = None) -> None:
    """KOSPI's bars of the story's days (and `more`) in index_daily."""
    from etl.apis.charts import IndexDaily
    from etl.store.runs import start_run

    now = datetime.combine(D6, time(18, 30), tzinfo=KST)
    run = start_run(engine, trigger="manual", started_at=now, account_no=None, exchange=None, api_id="ka20006")
    with engine.begin() as connection:
        connection.execute(
            IndexDaily.__table__.insert(),
            [
                {"index_code": "001", "trade_date": day, "close": Decimal(close), "run_id": run.id, "captured_at": now}
                for day, close in (KOSPI | (more or {})).items()
            ],
        )


def test_the_benchmark_view_sets_each_day_beside_the_index_from_the_account_s_first_day(
    engine: Engine, tmp_path: Path
) -> None:
    from etl.read.views import ACCOUNT_BENCHMARK_DAILY

    load(engine, tmp_path, story(), LEDGER)
    with_kospi(engine)
    rows = read(engine, ACCOUNT_BENCHMARK_DAILY, "KRX")
    returns = {r.trade_date: r.twr_cumulative for r in read(engine, ACCOUNT_RETURNS_DAILY, "KRX")}
    assert [r.trade_date for r in rows] == list(krx_by_hand())  # the account's days: D4 has no value of its own
    for row in rows:
        index = float(Decimal(KOSPI[row.trade_date]) / Decimal("2500.00")) - 1
        assert (row.index_code, row.index_close) == ("001", Decimal(KOSPI[row.trade_date]))
        assert row.index_cumulative == pytest.approx(index, rel=1e-12, abs=1e-15)
        assert row.excess == pytest.approx(returns[row.trade_date] - index, rel=1e-12, abs=1e-15)
    nxt = read(engine, ACCOUNT_BENCHMARK_DAILY, "NXT")
    assert [r.twr_cumulative for r in nxt] != [r.twr_cumulative for r in rows]  # each exchange its own series


def test_the_benchmark_of_a_first_deposit_day_starts_from_the_index_s_close_before_it(
    engine: Engine, tmp_path: Path
) -> None:
    """The first deposit into an empty account counts from its day's start (+1 % on D2): the index is measured from
    its close before that day (D1's), so that the account and the index cover the same days."""
    from etl.read.views import ACCOUNT_BENCHMARK_DAILY

    books = [
        Book(ACCOUNT, "KRX", at(D2), (samsung(71000),), deposit_d2=3_000_000),  # 10,100,000
        Book(ACCOUNT, "KRX", at(D3), (samsung(72000),), deposit_d2=3_000_000),  # 10,200,000
    ]
    load(engine, tmp_path, books, [ledger_line(D2, 1, "이체입금", 10_000_000, entra_remn="000000010000000")])
    with_kospi(engine)
    first, second = read(engine, ACCOUNT_BENCHMARK_DAILY, "KRX")
    assert first.twr_cumulative == pytest.approx(0.01, rel=1e-12)
    assert first.index_cumulative == pytest.approx(2525 / 2500 - 1, rel=1e-12)  # D1's close to D2's
    assert second.index_cumulative == pytest.approx(2550.25 / 2500 - 1, rel=1e-12)
    assert second.excess == pytest.approx((10_200_000 / 10_000_000 - 1) - (2550.25 / 2500 - 1), rel=1e-12)


def test_returns_with_a_benchmark_adds_the_index_s_return_and_the_excess(sqlite_url: str, tmp_path: Path) -> None:
    from etl.store.engine import make_engine

    engine = make_engine(sqlite_url)
    migrated(engine)
    load(engine, tmp_path, story(), LEDGER)
    with_kospi(engine)
    engine.dispose()
    env = {"KIWOOM_ETL_DATABASE_URL": sqlite_url}
    shown = kiwoom_etl("returns", "--account", ACCOUNT, "--benchmark", "001", env=env)
    assert shown.returncode == 0, shown.stderr
    hand = krx_by_hand()
    twr = math.prod(1 + r for _, _, r in hand.values() if r is not None) - 1
    index = 2474.25 / 2500 - 1
    assert f"KOSPI (001) return       {index * 100:+.2f} %" in shown.stdout
    assert f"excess over it           {(twr - index) * 100:+.2f} %" in shown.stdout
    assert "beta                     — (4 common day(s); 20 needed)" in shown.stdout
    kosdaq = kiwoom_etl("returns", "--account", ACCOUNT, "--benchmark", "101", env=env)
    assert f"KOSDAQ (101)             no bar in index_daily from {D1} to {D6}: add 101 to [benchmarks]" in kosdaq.stdout
    wrong = kiwoom_etl("returns", "--benchmark", "KOSPI", env=env)
    assert wrong.returncode == 2 and "three-digit index code such as 001 (KOSPI)" in wrong.stderr


def test_the_benchmark_of_a_first_deposit_booked_before_the_first_valued_day_starts_before_the_deposit(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    """10,000,000 into an empty account on Monday D1, the first snapshot on Tuesday D2 (no estimate on D1: the NXT
    series never has one): the account's first return counts from D1's start (10,100,000 / 10,000,000), so the index
    is measured from its close before D1 (Friday's), not from D1's close — the same days for both."""
    from etl.read.returns import read_returns
    from etl.read.views import ACCOUNT_BENCHMARK_DAILY

    friday = D1 - timedelta(days=3)
    books = [
        Book(ACCOUNT, "KRX", at(D2), (samsung(71000),), deposit_d2=3_000_000),  # 10,100,000
        Book(ACCOUNT, "KRX", at(D3), (samsung(72000),), deposit_d2=3_000_000),  # 10,200,000
    ]
    load(engine, tmp_path, books, [ledger_line(D1, 1, "이체입금", 10_000_000, entra_remn="000000010000000")])
    with_kospi(engine, {friday: "2400.00"})
    first, second = read(engine, ACCOUNT_BENCHMARK_DAILY, "KRX")
    assert first.twr_cumulative == pytest.approx(0.01, rel=1e-12)  # from D1's start
    assert first.index_cumulative == pytest.approx(2525 / 2400 - 1, rel=1e-12)  # Friday's close to D2's
    assert second.index_cumulative == pytest.approx(2550.25 / 2400 - 1, rel=1e-12)
    (returns,) = read_returns(engine, account=ACCOUNT, benchmark="001")
    assert returns.performance is not None and returns.performance.from_start
    assert returns.benchmark is not None
    assert returns.benchmark.index_return == pytest.approx(2550.25 / 2400 - 1, rel=1e-12)
    assert returns.benchmark.excess == pytest.approx((10_200_000 / 10_000_000 - 1) - (2550.25 / 2400 - 1), rel=1e-12)
    # The period is D1's: the money-weighted return dates the deposit on D1 (10,000,000 grown to 10,200,000 over
    # D1 → D3), not on D2, and the period printed starts there.
    p = returns.performance
    assert (p.first, p.last) == (D1, D3)
    assert p.xirr == pytest.approx(1.02 ** (YEAR / (D3 - D1).days) - 1, rel=1e-9)
    assert render(returns).startswith(f"{ACCOUNT} · KRX · {D1} – {D3} (")


def test_returns_beta_and_correlation_over_enough_days_are_those_of_the_paired_daily_returns(
    engine: Engine, tmp_path: Path
) -> None:
    """30 weekdays of KOSPI; the account has a close on each but two (a gap joins two index days into one pair) and a
    Saturday close (no bar: the index stands at Friday's close). Beta and correlation recomputed here from the
    definitions (sample covariance / variance; Pearson) over the pairs, each over the same interval."""
    from etl.apis.charts import IndexDaily
    from etl.read.returns import read_returns
    from etl.store.runs import start_run

    start = date(2026, 9, 7)  # a Monday
    weekdays = [start + timedelta(days=n) for n in range(45) if (start + timedelta(days=n)).weekday() < 5][:30]
    closes = {day: Decimal(2500) + Decimal(n * 7 % 23) * Decimal("3.17") - n for n, day in enumerate(weekdays)}
    saturday = weekdays[9] + timedelta(days=1)
    valued = [d for i, d in enumerate(weekdays) if i not in (5, 17)] + [saturday]
    valued.sort()
    books = [
        Book(ACCOUNT, "KRX", at(day), (samsung(70000 + (n * 13 % 29) * 150 + n * 40),), deposit_d2=1_000_000)
        for n, day in enumerate(valued)
    ]
    load(engine, tmp_path, books, [])
    now = datetime.combine(weekdays[-1], time(18, 30), tzinfo=KST)
    run = start_run(engine, trigger="manual", started_at=now, account_no=None, exchange=None, api_id="ka20006")
    with engine.begin() as connection:
        connection.execute(
            IndexDaily.__table__.insert(),
            [
                {"index_code": "001", "trade_date": d, "close": c, "run_id": run.id, "captured_at": now}
                for d, c in closes.items()
            ],
        )
    equity = {day: 1_000_000 + 100 * (70000 + (n * 13 % 29) * 150 + n * 40) for n, day in enumerate(valued)}
    level = closes | {saturday: closes[saturday - timedelta(days=1)]}
    pairs = [
        (equity[day] / equity[before] - 1, float(level[day] / level[before]) - 1)
        for before, day in zip(valued, valued[1:], strict=False)
    ]
    n = len(pairs)
    assert n == len(valued) - 1  # every day pairs, the Saturday's with the index's 0 since Friday
    xs, ys = [p[0] for p in pairs], [p[1] for p in pairs]
    mx, my = math.fsum(xs) / n, math.fsum(ys) / n
    cov = math.fsum((x - mx) * (y - my) for x, y in pairs) / (n - 1)
    vx = math.fsum((x - mx) ** 2 for x in xs) / (n - 1)
    vy = math.fsum((y - my) ** 2 for y in ys) / (n - 1)
    (returns,) = read_returns(engine, account=ACCOUNT, benchmark="001")
    b = returns.benchmark
    assert b is not None and b.common_days == n
    assert b.beta == pytest.approx(cov / vy, abs=1e-9)
    assert b.correlation == pytest.approx(cov / math.sqrt(vx * vy), abs=1e-9)
    assert b.index_return == pytest.approx(float(closes[valued[-1]] / closes[valued[0]]) - 1, abs=1e-12)
    twr = math.prod(1 + x for x in [equity[d] / equity[p] - 1 for p, d in zip(valued, valued[1:], strict=False)]) - 1
    assert b.excess == pytest.approx(twr - b.index_return, abs=1e-12)


def test_returns_benchmark_over_a_period_that_starts_or_ends_on_a_weekend_snapshot_uses_the_index_s_last_close(
    engine: Engine, tmp_path: Path
) -> None:
    """A snapshot taken on Saturday (`--all-hours`) is a valued day like the others, but no index has a bar on a
    Saturday: the index stands at Friday's close, so a period ending on it is measured to Friday's close, and one
    starting on it from Friday's close (as account_benchmark_daily bases it) — not refused with "load it with
    `kiwoom-etl backfill`", which could never load a bar for a Saturday."""
    from etl.read.returns import read_returns

    saturday, sunday = D6 - timedelta(days=2), D6 - timedelta(days=1)
    books = [Book(ACCOUNT, "KRX", at(day), (samsung(70000 + 100 * n),)) for n, day in enumerate((D5, saturday, D6))]
    load(engine, tmp_path, books, [])
    with_kospi(engine)
    (ending,) = read_returns(engine, account=ACCOUNT, until=sunday, benchmark="001")
    assert ending.benchmark is not None and ending.benchmark.problem is None
    assert ending.benchmark.index_return == pytest.approx(0.0, abs=1e-15)  # D5's close to D5's (Friday's)
    (starting,) = read_returns(engine, account=ACCOUNT, since=saturday, benchmark="001")
    assert starting.benchmark is not None and starting.benchmark.problem is None
    assert starting.benchmark.index_return == pytest.approx(2474.25 / 2499.24 - 1, rel=1e-12)  # Friday's to D6's
    from etl.read.views import ACCOUNT_BENCHMARK_DAILY

    view = {r.trade_date: r for r in read(engine, ACCOUNT_BENCHMARK_DAILY)}
    assert view[saturday].index_close is None  # the view: no bar that day, as its column says


def test_an_index_without_bars_is_not_said_to_have_failed_for_another_index_s_error(
    engine: Engine, tmp_path: Path
) -> None:
    """The newest ka20006 run failed for KOSDAQ (101) alone, its error quoting a next-key that holds 001 (a date,
    20261001): `returns --benchmark 001`, an index never collected, must not be told that run failed for it."""
    from sqlalchemy import update

    from etl.read.returns import read_returns
    from etl.store.models import EtlRun, Reason, RunStatus
    from etl.store.runs import start_run

    load(engine, tmp_path, story(), LEDGER)
    now = datetime.combine(D6, time(18, 30), tzinfo=KST)
    run = start_run(engine, trigger="manual", started_at=now, account_no=None, exchange=None, api_id="ka20006")
    error = "101: ka20006: next-key '20261001' repeats at page 3: the continuation chain loops"
    with engine.begin() as connection:
        connection.execute(
            update(EtlRun)
            .where(EtlRun.id == run.id)
            .values(status=RunStatus.FAILED, reason=Reason.API_ERROR, error=error, finished_at=now)
        )
    (returns,) = read_returns(engine, account=ACCOUNT, benchmark="001")
    assert returns.benchmark is not None and returns.benchmark.problem is not None
    assert "add 001 to [benchmarks]" in returns.benchmark.problem
    assert "failed" not in returns.benchmark.problem, returns.benchmark.problem


def test_flows_booked_on_several_days_before_the_first_value_do_not_start_the_period_from_nothing(
    engine: Engine, tmp_path: Path
) -> None:
    """1,000,000 into an empty account in January 2024 (a ledger read back years), 9,000,000 more on D1, the first
    snapshot on D2 (10,100,000). equity / Σ flows − 1 is no time-weighted return from 2024: it weighs the 9,000,000
    as if it had been there since, and KOSPI measured from before 2024 (+26 %) set the account 25 points behind on
    its first day though nine tenths of its money came the day before. Flows on more than one day before the first
    value: the first day is the base (its close), for the account and the index alike."""
    from etl.read.returns import read_returns
    from etl.read.views import ACCOUNT_BENCHMARK_DAILY

    opened = date(2024, 1, 3)
    books = [
        Book(ACCOUNT, "KRX", at(D2), (samsung(71000),), deposit_d2=3_000_000),  # 10,100,000
        Book(ACCOUNT, "KRX", at(D3), (samsung(72000),), deposit_d2=3_000_000),  # 10,200,000
    ]
    lines = [
        ledger_line(opened, 1, "이체입금", 1_000_000, entra_remn="000000001000000"),
        ledger_line(D1, 1, "이체입금", 9_000_000, entra_remn="000000010000000"),
    ]
    load(engine, tmp_path, books, lines)
    with_kospi(engine, {date(2024, 1, 2): "2000.00"})
    first, second = read(engine, ACCOUNT_BENCHMARK_DAILY, "KRX")
    assert first.twr_cumulative == 0 and first.index_cumulative == 0, (first.twr_cumulative, first.index_cumulative)
    assert second.index_cumulative == pytest.approx(2550.25 / 2525 - 1, rel=1e-12)
    (returns,) = read_returns(engine, account=ACCOUNT, benchmark="001")
    assert returns.performance is not None and not returns.performance.from_start and returns.started is None
    assert returns.benchmark is not None
    assert returns.benchmark.index_return == pytest.approx(2550.25 / 2525 - 1, rel=1e-12)
