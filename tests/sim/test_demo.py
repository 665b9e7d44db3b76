"""The demo: weeks of history through the real path, closed days recorded as skipped, trades between days that the
tables show, the same numbers on every run, times printed with their zone, and no mixing with real accounts."""

from __future__ import annotations

import json
import re
import stat
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from html import escape
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from etl.clock import KST, krx_calendar
from etl.read.report_labels import KO
from etl.read.views import REALIZED_CHECKS, REALIZED_PNL
from etl.sim.demo import run_demo
from etl.sim.simulator import Simulator
from etl.store.engine import make_engine
from etl.store.models import AccountSnapshot, EtlRun, Execution, PositionSnapshot, RawResponse
from tests.support import Clock, account_env, assert_nothing_partial, kiwoom_etl

NOVEMBER = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)  # 16:00 in Seoul, a Tuesday; the weeks before hold no holiday
CHUSEOK = datetime(2026, 10, 2, 7, 0, tzinfo=UTC)  # the Friday after Chuseok (24 and 25 September)
DAYS = 15
LIVE = 2 + 4  # the last morning's live snapshots of demo-3: a catch-up and two event snapshots, on KRX and NXT
UNZONED = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:\.\d+)?(?! ?[A-Z+])")


@dataclass
class Built:
    engine: Engine
    output: str
    ok: bool


def build(path: Path, now: datetime, days: int = DAYS, seed: int = 0, zone: str = "Asia/Seoul") -> Built:
    lines: list[str] = []
    url = f"sqlite:///{path}"
    ok = run_demo(url, days=days, seed=seed, zone=zone, echo=lines.append, now=Clock(now))
    return Built(make_engine(url), "\n".join(lines), ok)


@pytest.fixture(scope="module")
def november(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    built = build(tmp_path_factory.mktemp("demo") / "november.db", NOVEMBER)
    yield built
    built.engine.dispose()


MARKET_ACCOUNTS = ("demo-1", "demo-2")  # the seeded market's; demo-3's book is its ledger's history


def closes(
    engine: Engine, exchange: str = "KRX"
) -> dict[str, list[tuple[date, int, dict[str, list[tuple[str, int]]]]]]:
    """Per market account, each day's close: (trade_date, snapshot id, stock code → its lines' (credit_type,
    quantity))."""
    with engine.connect() as connection:
        snapshots = connection.execute(
            select(AccountSnapshot.id, AccountSnapshot.account_no, AccountSnapshot.trade_date)
            .where(AccountSnapshot.exchange == exchange, AccountSnapshot.account_no.in_(MARKET_ACCOUNTS))
            .order_by(AccountSnapshot.captured_at, AccountSnapshot.id)
        ).all()
        last: dict[tuple[str, date], int] = {}
        for snapshot_id, account_no, trade_date in snapshots:
            last[(account_no, trade_date)] = snapshot_id  # the newest of the day wins
        lines = connection.execute(
            select(PositionSnapshot.snapshot_id, PositionSnapshot.stock_code, PositionSnapshot.credit_type)
            .add_columns(PositionSnapshot.quantity)
            .where(PositionSnapshot.snapshot_id.in_(list(last.values())))
            .order_by(PositionSnapshot.line_no)
        ).all()
    by_snapshot: dict[int, dict[str, list[tuple[str, int]]]] = defaultdict(lambda: defaultdict(list))
    for snapshot_id, code, credit_type, quantity in lines:
        by_snapshot[snapshot_id][code].append((credit_type, quantity))
    result: dict[str, list[tuple[date, int, dict[str, list[tuple[str, int]]]]]] = defaultdict(list)
    for (account_no, trade_date), snapshot_id in sorted(last.items()):
        result[account_no].append((trade_date, snapshot_id, dict(by_snapshot[snapshot_id])))
    return result


def held(stocks: dict[str, list[tuple[str, int]]]) -> dict[str, int]:
    return {code: sum(q for _, q in lines) for code, lines in stocks.items() if sum(q for _, q in lines)}


def test_weeks_of_trading_days_with_three_snapshots_each_at_the_past_slots(november: Built) -> None:
    assert november.ok
    with november.engine.connect() as connection:
        rows = connection.execute(
            select(
                AccountSnapshot.account_no,
                AccountSnapshot.exchange,
                AccountSnapshot.trade_date,
                AccountSnapshot.captured_at,
                AccountSnapshot.scheduled_for,
            ).where(AccountSnapshot.scheduled_for.is_not(None))  # the slots' (the last morning's live ones aside)
        ).all()
        snapshot_pages = (
            select(RawResponse.received_at)
            .join(EtlRun, EtlRun.id == RawResponse.run_id)
            .where(RawResponse.api_id == "kt00005", EtlRun.scheduled_for.is_not(None))
        )
        received = set(connection.execute(snapshot_pages).scalars())
    days = sorted({row.trade_date for row in rows})
    assert len(days) == DAYS and days[-1] == date(2026, 11, 24) and days[-1] - days[0] >= timedelta(days=20)
    assert all(day.weekday() < 5 for day in days)
    per_day: dict[tuple[str, str, date], set[time]] = defaultdict(set)
    for row in rows:
        local = row.captured_at.astimezone(KST)
        assert row.trade_date == local.date() and row.scheduled_for == row.captured_at
        per_day[(row.account_no, row.exchange, row.trade_date)].add(local.time())
    assert {a for a, _, _ in per_day} == {"demo-1", "demo-2", "demo-3"} and {x for _, x, _ in per_day} == {"KRX", "NXT"}
    assert len(per_day) == 6 * DAYS
    assert all(slots == {time(9, 30), time(12, 30), time(15, 45)} for slots in per_day.values())
    assert received == {row.captured_at for row in rows}  # pages "arrived" at the past slot: the clock was in control
    assert assert_nothing_partial(november.engine) == len(rows) + LIVE == 6 * 3 * DAYS + LIVE


def test_a_weekday_is_closed_with_skipped_runs_and_no_snapshot_when_the_weeks_hold_no_holiday(
    november: Built,
) -> None:
    with november.engine.connect() as connection:
        skipped = connection.execute(
            select(EtlRun.account_no, EtlRun.exchange, EtlRun.scheduled_for, EtlRun.reason, EtlRun.detail).where(
                EtlRun.status == "skipped"
            )
        ).all()
        dates = set(connection.execute(select(AccountSnapshot.trade_date)).scalars())
    (closed,) = {row.scheduled_for.astimezone(KST).date() for row in skipped}
    assert closed.weekday() < 5 and closed not in dates and min(dates) < closed < max(dates)
    assert closed not in krx_calendar()
    assert {(row.account_no, row.exchange) for row in skipped} == {
        (a, x) for a in ("demo-1", "demo-2", "demo-3") for x in ("KRX", "NXT")
    }
    assert {row.reason for row in skipped} == {"market_closed"} and all("made-up" in row.detail for row in skipped)


def test_an_xkrx_holiday_in_the_weeks_is_skipped_with_its_name(tmp_path: Path) -> None:
    built = build(tmp_path / "chuseok.db", CHUSEOK, days=7)
    try:
        with built.engine.connect() as connection:
            skipped = connection.execute(
                select(EtlRun.scheduled_for, EtlRun.detail).where(EtlRun.status == "skipped")
            ).all()
            dates = set(connection.execute(select(AccountSnapshot.trade_date)).scalars())
    finally:
        built.engine.dispose()
    calendar = krx_calendar()
    expected = {min(dates) + timedelta(days=n) for n in range((max(dates) - min(dates)).days)}
    holidays = {day for day in expected if day.weekday() < 5 and day in calendar}
    assert holidays and len(dates) == 7
    assert {row.scheduled_for.astimezone(KST).date() for row in skipped} == holidays
    assert not holidays & dates
    assert all(row.detail.startswith("KRX holiday: ") and "made-up" not in row.detail for row in skipped)


def test_the_demo_follows_the_configs_calendar_corrections(tmp_path: Path) -> None:
    from etl.clock import CalendarCorrections, Window

    url = f"sqlite:///{tmp_path / 'corrected.db'}"
    corrections = CalendarCorrections(
        holidays={date(2026, 11, 23): "market closure"},
        sessions={date(2026, 11, 19): Window(time(10, 0), time(16, 30))},  # the exam day
    )
    lines: list[str] = []
    assert run_demo(
        url, days=3, seed=0, zone="Asia/Seoul", echo=lines.append, now=Clock(NOVEMBER), corrections=corrections
    )
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            skipped = connection.execute(select(EtlRun.scheduled_for, EtlRun.detail).where(EtlRun.status == "skipped"))
            closes = connection.execute(
                select(EtlRun.scheduled_for).where(EtlRun.trigger == "end_of_day", EtlRun.status == "success")
            )
            closed = {(row.scheduled_for.astimezone(KST).date(), row.detail) for row in skipped}
            close_times = {(at.astimezone(KST).date(), at.astimezone(KST).time()) for at in closes.scalars()}
    finally:
        engine.dispose()
    assert closed == {(date(2026, 11, 23), "declared holiday (config): market closure")}  # no made-up one
    assert close_times == {
        (date(2026, 11, 19), time(16, 45)),
        (date(2026, 11, 20), time(15, 45)),
        (date(2026, 11, 24), time(15, 45)),
    }


def test_between_days_the_accounts_buy_sell_part_open_close_reopen_and_borrow(november: Built) -> None:
    kinds: set[str] = set()
    reopened = False
    for days in closes(november.engine).values():
        ever_closed: set[str] = set()
        for (_, _, before), (_, _, after) in zip(days, days[1:], strict=False):
            was, now = held(before), held(after)
            for code in was.keys() | now.keys():
                old, new = was.get(code, 0), now.get(code, 0)
                if old and new > old:
                    kinds.add("bought more")
                elif 0 < new < old:
                    kinds.add("sold part")
                elif not old and new:
                    kinds.add("opened")
                    reopened = reopened or code in ever_closed
                elif old and not new:
                    kinds.add("closed")
                    ever_closed.add(code)
    assert kinds == {"bought more", "sold part", "opened", "closed"} and reopened


def test_a_credit_line_sits_beside_a_cash_line_and_its_loan_is_in_the_summary(november: Built) -> None:
    with november.engine.connect() as connection:
        loans = {row.id: row.credit_loan_total for row in connection.execute(select(AccountSnapshot.__table__))}
    with_credit = []
    for days in closes(november.engine).values():
        for _, snapshot_id, stocks in days:
            both = [code for code, lines in stocks.items() if {t for t, _ in lines} > {"00"}]  # cash and credit
            credit = any(t != "00" for lines in stocks.values() for t, _ in lines)
            assert (loans[snapshot_id] > 0) == credit  # a loan exactly while a credit line is held
            with_credit += both
    assert with_credit  # the same stock on a cash line and a credit line


def test_every_summary_agrees_with_its_lines_and_cash_moves_with_the_trades(november: Built) -> None:
    with november.engine.connect() as connection:
        summaries = connection.execute(select(AccountSnapshot.__table__)).all()
        lines: dict[int, list[Any]] = defaultdict(list)
        for line in connection.execute(select(PositionSnapshot.__table__)):
            lines[line.snapshot_id].append(line)
    for s in summaries:
        mine = lines[s.id]
        assert s.position_count == len(mine)
        assert s.total_purchase_amount == sum(p.purchase_amount or 0 for p in mine)
        assert s.total_evaluation_amount == sum(p.evaluation_amount or 0 for p in mine)
        assert s.total_profit_loss == sum(p.profit_loss or 0 for p in mine)
    d2 = {s.id: s.deposit_d2 for s in summaries}
    moved = 0
    for days in closes(november.engine).values():
        for (_, first, before), (_, second, after) in zip(days, days[1:], strict=False):
            traded = held(before) != held(after)
            assert (d2[first] != d2[second]) == traded  # cash (D+2) moves on a trading day, and only then
            moved += traded
    assert moved >= 8


def numbers(engine: Engine) -> list[tuple[object, ...]]:
    """Every amount of every snapshot and line, in order, without the dates."""
    with engine.connect() as connection:
        accounts = connection.execute(
            select(
                AccountSnapshot.account_no,
                AccountSnapshot.exchange,
                AccountSnapshot.deposit,
                AccountSnapshot.deposit_d2,
                AccountSnapshot.total_evaluation_amount,
                AccountSnapshot.total_profit_loss_rate,
                AccountSnapshot.credit_loan_total,
            ).order_by(AccountSnapshot.captured_at, AccountSnapshot.account_no, AccountSnapshot.exchange)
        ).all()
        positions = connection.execute(
            select(
                PositionSnapshot.stock_code,
                PositionSnapshot.quantity,
                PositionSnapshot.current_price,
                PositionSnapshot.purchase_amount,
                PositionSnapshot.profit_loss_rate,
            ).order_by(
                PositionSnapshot.captured_at,
                PositionSnapshot.account_no,
                PositionSnapshot.exchange,
                PositionSnapshot.line_no,
            )
        ).all()
    return [tuple(row) for row in (*accounts, *positions)]


def test_the_numbers_are_the_same_on_every_run_whatever_the_dates(november: Built, tmp_path: Path) -> None:
    again = build(tmp_path / "again.db", NOVEMBER)
    a_week_later = build(tmp_path / "later.db", NOVEMBER + timedelta(days=7))
    other_seed = build(tmp_path / "seed.db", NOVEMBER, seed=7)
    try:
        expected = numbers(november.engine)
        assert numbers(again.engine) == expected
        assert numbers(a_week_later.engine) == expected
        assert numbers(other_seed.engine) != expected
    finally:
        for built in (again, a_week_later, other_seed):
            built.engine.dispose()


def test_printed_times_name_their_zone(november: Built) -> None:
    assert "2026-11-24 15:45:00 KST" in november.output  # the newest close, in Seoul time
    assert not UNZONED.findall(november.output)
    assert "net_assets" in november.output and "position_changes" in november.output


def test_the_command_prints_in_the_configured_zone_and_a_second_run_replaces_the_first(tmp_path: Path) -> None:
    env = {"KIWOOM_ETL_TIMEZONE": "UTC"}
    first = kiwoom_etl("demo", "--days", "3", cwd=tmp_path, env=env)
    assert first.returncode == 0, first.stderr
    assert stat.S_IMODE((tmp_path / "kiwoom_etl.db").stat().st_mode) == 0o600
    assert re.search(r"\d{4}-\d\d-\d\d 06:45:00 UTC", first.stdout) and not UNZONED.findall(first.stdout)
    second = kiwoom_etl("demo", "--days", "3", cwd=tmp_path, env=env)
    assert second.returncode == 0, second.stderr
    assert "of an earlier demo run were replaced" in second.stdout
    engine = make_engine(f"sqlite:///{tmp_path / 'kiwoom_etl.db'}")
    try:
        with engine.connect() as connection:
            days = set(connection.execute(select(AccountSnapshot.trade_date)).scalars())
        assert len(days) == 3 and assert_nothing_partial(engine) <= 3 * 3 * 6 + LIVE  # not twice over
    finally:
        engine.dispose()


def test_the_old_options_are_gone() -> None:
    result = kiwoom_etl("demo", "--snapshots", "3")
    assert result.returncode == 2 and "No such option" in result.stderr


def test_demo_refuses_a_database_with_real_history(
    sqlite_url: str, sim_url: str, simulator: Simulator, tmp_path: Path
) -> None:
    env = account_env(simulator, sim_url, sqlite_url, tmp_path)
    assert kiwoom_etl("migrate", env=env).returncode == 0
    assert kiwoom_etl("snapshot", env=env).returncode == 0
    database = tmp_path / "kiwoom_etl.db"
    before = database.read_bytes()
    result = kiwoom_etl("demo", "--database-url", sqlite_url)
    assert result.returncode == 1 and "already holds real snapshots" in result.stderr
    assert "Traceback" not in result.stderr
    assert database.read_bytes() == before  # refused before it wrote anything


def test_demo_refuses_an_older_database_with_a_real_run_before_migrating_it(tmp_path: Path) -> None:
    from alembic import command
    from sqlalchemy import text

    from etl.store.schema import alembic_config, current_revision

    database = tmp_path / "old.db"
    url = f"sqlite:///{database}"
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "0001")
            connection.execute(
                text(
                    "INSERT INTO etl_runs (id, trigger, status, account_no, exchange, started_at) "
                    "VALUES (1, 'cli', 'failed', '5012345678', 'KRX', '2026-11-20 06:30:00')"
                )
            )
    finally:
        engine.dispose()
    before = database.read_bytes()
    result = kiwoom_etl("demo", "--database-url", url)
    assert result.returncode == 1 and "already holds real runs (account 5012345678)" in result.stderr
    assert database.read_bytes() == before
    engine = make_engine(url)
    try:
        assert current_revision(engine) == "0001"  # not migrated
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_on_postgresql_the_demo_writes_the_same_numbers_as_on_sqlite(postgres_url: str, tmp_path: Path) -> None:
    lines: list[str] = []
    assert run_demo(postgres_url, days=4, seed=0, zone="Asia/Seoul", echo=lines.append, now=Clock(NOVEMBER))
    postgres, sqlite = make_engine(postgres_url), build(tmp_path / "small.db", NOVEMBER, days=4)
    try:
        assert numbers(postgres) == numbers(sqlite.engine) and assert_nothing_partial(postgres) == 4 * 3 * 6 + LIVE
        assert "2026-11-24 15:45:00 KST" in "\n".join(lines)
    finally:
        postgres.dispose()
        sqlite.engine.dispose()


def test_the_demo_ends_with_a_report_of_its_weeks(tmp_path: Path) -> None:
    """The report it writes plots every trading day's close of each account, as the tables hold them."""
    lines: list[str] = []
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    page = tmp_path / "report.html"
    assert run_demo(url, days=DAYS, seed=0, zone="Asia/Seoul", echo=lines.append, now=Clock(NOVEMBER), report=page)
    assert f"The report of this history: {page}" in "\n".join(lines)
    html = page.read_text(encoding="utf-8")
    sections = html.split('<section class="account" data-account="')[1:]
    assert [s.split('"', 1)[0] for s in sections] == ["demo-1", "demo-2", "demo-3"]
    assert 'data-name="returns"' in sections[2] and KO.external_flow in sections[2]  # Korean, the default
    # KOSPI and KOSDAQ beside demo-3's TWR (the indexes start with the market, after its first valued day), its
    # excess over KOSPI as a card, and its profit per stock.
    assert "KOSPI (001)" in sections[2] and "KOSDAQ (101)" in sections[2]
    assert KO.vs_benchmark.format(name="KOSPI (001)") in sections[2] and 'data-table="pnl"' in sections[2]
    # The market's accounts have no ledger (the simulator keeps none of their trades): their sales are unknown, not
    # sold at no profit, and none of their ledger, day totals or realised profit was asked for.
    assert all(escape(KO.pnl_no_ledger) in s and escape(KO.no_ledger) in s for s in sections[:2])
    assert escape(KO.pnl_no_ledger) not in sections[2]
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(
                    AccountSnapshot.account_no,
                    AccountSnapshot.trade_date,
                    AccountSnapshot.deposit_d2,
                    AccountSnapshot.total_evaluation_amount,
                    AccountSnapshot.credit_loan_total,
                    AccountSnapshot.unpaid_credit_interest,
                )
                .where(AccountSnapshot.exchange == "KRX")
                .order_by(AccountSnapshot.captured_at, AccountSnapshot.id)
            ).all()
    finally:
        engine.dispose()
    for section in sections:
        account = section.split('"', 1)[0]
        close: dict[str, int] = {}  # the last snapshot of each day wins
        for row in rows:
            if row.account_no == account:
                close[row.trade_date.isoformat()] = (
                    (row.deposit_d2 or 0)
                    + (row.total_evaluation_amount or 0)
                    - (row.credit_loan_total or 0)
                    - (row.unpaid_credit_interest or 0)
                )
        figure = re.search(r'class="figure"[^>]*data-name="net_assets">(.*?)</script>', section, re.S)
        assert figure is not None
        line = json.loads(figure.group(1))["data"][0]  # its hollow points are kt00002 estimates, not closes
        points = zip(line["x"], line["y"], line["marker"]["symbol"], strict=True)
        assert {day: value for day, value, symbol in points if symbol == "circle"} == close
        assert len(close) == DAYS  # every trading day of the weeks (the closed weekday is not one)


def test_demo_3_s_ledger_bears_out_each_evening_s_totals_and_its_deposit_is_no_return(november: Built) -> None:
    from etl.read.views import ACCOUNT_RETURNS_DAILY, LEDGER_CHECKS
    from etl.store.models import AccountTransaction

    checks, returns = LEDGER_CHECKS.table(), ACCOUNT_RETURNS_DAILY.table()
    with november.engine.connect() as connection:
        kinds = Counter(
            connection.execute(
                select(AccountTransaction.kind).where(AccountTransaction.account_no == "demo-3")
            ).scalars()
        )
        results = Counter(connection.execute(select(checks.c.result).where(checks.c.account_no == "demo-3")).scalars())
        rows = list(
            connection.execute(
                select(returns)
                .where(returns.c.account_no == "demo-3", returns.c.exchange == "KRX")
                .order_by(returns.c.trade_date)
            )
        )
    assert {"deposit", "withdrawal", "buy", "sell", "dividend", "loan", "securities_in", "other"} <= set(kinds)
    assert results == {"agrees": DAYS - 1}  # every evening but today's (16:00): the ledger says the same
    assert rows[0].source == "estimate" and {r.source for r in rows[1:]} == {"snapshot"}  # the backfilled day
    flowed = [(before, row) for before, row in zip(rows, rows[1:], strict=False) if row.external_flow]
    assert any(row.external_flow > 0.1 * before.equity for before, row in flowed)  # a deposit: a jump in equity
    for before, row in flowed:  # the deposit, the withdrawal and the transfer in: each moves equity, not the return
        assert row.daily_return == (row.equity - row.external_flow) / before.equity - 1
        assert abs(row.daily_return) < 0.02
    assert "1 of them `other`" in november.output and "How well demo-3 was invested" in november.output
    assert "time-weighted return" in november.output
    assert "KOSPI (001) return" in november.output and "excess over it" in november.output  # the benchmark


def test_only_demo_3_s_ledger_day_totals_and_realised_profit_are_asked_for(november: Built) -> None:
    """The simulator keeps no ledger of the market accounts' trades: an empty one read would pass for a ledger in
    which they never traded (each sale at no profit, a day's totals without its buys)."""
    with november.engine.connect() as connection:
        asked = Counter(
            connection.execute(
                select(EtlRun.account_no).where(EtlRun.api_id.in_(("kt00015", "kt00017", "ka10074")))
            ).scalars()
        )
    assert set(asked) == {"demo-3"} and asked["demo-3"] > DAYS


def test_the_demo_holds_a_kosdaq_stock_and_an_etf_and_each_bar_closes_where_the_snapshots_do(november: Built) -> None:
    from etl.apis.charts import IndexDaily, StockDaily
    from etl.apis.instruments import Instrument

    with november.engine.connect() as connection:
        markets = dict(connection.execute(select(Instrument.stock_code, Instrument.market)).all())
        bars = {(r.stock_code, r.trade_date): r.close for r in connection.execute(select(StockDaily.__table__))}
        index_days = set(
            connection.execute(select(IndexDaily.trade_date).where(IndexDaily.index_code == "001")).scalars()
        )
        prices = {
            (r.snapshot_id, r.stock_code): r.current_price
            for r in connection.execute(
                select(PositionSnapshot.snapshot_id, PositionSnapshot.stock_code, PositionSnapshot.current_price)
            )
        }
    ever_held = {code for days in closes(november.engine).values() for _, _, stocks in days for code in held(stocks)}
    assert {markets[code] for code in ever_held} == {"KOSPI", "KOSDAQ", "ETF"}  # 247540 and 069500 among them
    compared = 0
    for days in closes(november.engine).values():  # each day's close snapshot, KRX
        for trade_date, snapshot_id, stocks in days:
            for code in stocks:
                assert bars[(code, trade_date)] == prices[(snapshot_id, code)], (code, trade_date)
                compared += 1
    assert compared > 100
    trading = {day for days in closes(november.engine).values() for day, _, _ in days}
    assert trading <= index_days and not any(min(trading) < day < max(trading) for day in index_days - trading)
    assert index_days - trading  # the backfill's weeks before the first snapshot: the benchmark's base
    assert "Market data: instruments (ka10099, ka10100) ETF 1, KOSDAQ 1, KOSPI 10" in november.output


def test_demo_3_s_sold_out_stocks_show_their_realised_profit_and_kiwoom_s_figures_agree(november: Built) -> None:
    with november.engine.connect() as connection:
        sales = connection.execute(select(REALIZED_PNL.table())).all()
        checks = connection.execute(select(REALIZED_CHECKS.table())).all()
        newest = select(func.max(AccountSnapshot.id)).where(AccountSnapshot.account_no == "demo-3")
        held = set(
            connection.execute(
                select(PositionSnapshot.stock_code).where(PositionSnapshot.snapshot_id == newest.scalar_subquery())
            ).scalars()
        )
    sold = {r.stock_name: r for r in sales}
    assert {"삼성바이오로직스", "카카오"} <= set(sold)  # sold out: gone from the holdings, not from the profit
    assert held and not {sold["삼성바이오로직스"].stock_code, sold["카카오"].stock_code} & held
    for r in sales:
        assert r.realized_pnl == r.sell_amount - r.cost_basis - r.commission - r.tax
    assert {c.trade_date for c in checks} == {r.trade_date for r in sales}  # ka10074: the days with a sale
    assert all(c.result == "agrees" and c.realized_pnl_result == "same" for c in checks)
    assert "What each sale earned" in november.output and "삼성바이오로직스" in november.output


def test_the_last_morning_listens_to_the_feed_keeps_its_fills_and_snapshots_each_change(november: Built) -> None:
    with november.engine.connect() as connection:
        fills = connection.execute(
            select(Execution.stock_code, Execution.side, Execution.quantity, Execution.executed_at).where(
                Execution.account_no == "demo-3"
            )
        ).all()
        live = connection.execute(
            select(EtlRun.trigger, EtlRun.exchange, AccountSnapshot.captured_at, AccountSnapshot.id)
            .join(AccountSnapshot, AccountSnapshot.run_id == EtlRun.id)
            .where(EtlRun.account_no == "demo-3", EtlRun.scheduled_for.is_(None))
            .order_by(AccountSnapshot.captured_at, EtlRun.exchange)
        ).all()

        def quantity(snapshot_id: int, code: str) -> int:
            found = select(PositionSnapshot.quantity).where(
                PositionSnapshot.snapshot_id == snapshot_id, PositionSnapshot.stock_code == code
            )
            return int(connection.execute(found).scalar() or 0)

        first, second = sorted(
            {code for code, *_ in fills}, key=lambda code: min(f.executed_at for f in fills if f[0] == code)
        )
        before = quantity(live[0].id, first)
        after_first = [row for row in live if row.trigger == "event"][0]
        grew = quantity(after_first.id, first) - before
        latest = quantity(live[-1].id, second)
    assert len(fills) == 3 and {side for _, side, *_ in fills} == {"buy"}
    assert sorted(f.executed_at.astimezone(KST).time() for f in fills) == [time(9, 47), time(9, 47), time(10, 22)]
    assert [(t, x) for t, x, *_ in live] == [("catch_up", "KRX"), ("catch_up", "NXT")] + [
        ("event", "KRX"),
        ("event", "NXT"),
    ] * 2
    assert all(time(9, 30) < row.captured_at.astimezone(KST).time() < time(12, 30) for row in live)
    assert grew == 10 and latest == 5  # each event snapshot shows its order's fills
    assert "demo-3 listened to the feed in the morning: 3 fill(s)" in november.output
