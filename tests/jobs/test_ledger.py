"""The ledger job against the simulator's kt00015 over HTTP, into a real database: each line once, a month at a
time with continuation, refused pages kept while later months load, 8104 asked once, replay and the command line."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, func, select

from etl.clock import KST
from etl.jobs.account_job import months
from etl.jobs.ledger import LedgerJob, replay_ledger
from etl.jobs.snapshot import Snapshotter
from etl.normalize.ledger import Classifier
from etl.settings import Settings
from etl.sim.accounts import make_account
from etl.sim.history import History, make_history
from etl.sim.simulator import Simulator
from etl.store.models import AccountTransaction, EtlRun, RawResponse
from tests.support import Clock, account_env, kiwoom_etl, make_settings, sim_accounts

START = date(2026, 10, 19)  # a Monday: the history runs into November, so the job reads two months
END = date(2026, 11, 20)


@pytest.fixture
def history() -> History:
    return make_history(START, (END - START).days + 1, seed=3)


@pytest.fixture
def ledger_simulator(history: History) -> Simulator:
    account = make_account(1, 3)
    account.history = history
    # The server's limit is raised to the tests' client pace: at its default a busy machine meets 429s past the
    # retries, and this test is about lines, not pacing (tests/kiwoom covers 429).
    return Simulator(
        accounts=[account], page_size=4, today=lambda: END, retry_after=None, rate_per_second=1000, burst=100
    )


def settings_for(url: str, simulator: Simulator, db_url: str, tmp_path: Path) -> Settings:
    return make_settings(url, db_url, tmp_path / "state", sim_accounts(simulator))


def evening(day: date) -> Clock:
    return Clock(datetime.combine(day, time(21, 0), tzinfo=KST))


def stored(engine: Engine) -> list[tuple[object, ...]]:
    t = AccountTransaction
    with engine.connect() as connection:
        return [
            tuple(row)
            for row in connection.execute(
                select(t.settlement_date, t.transaction_no, t.kind, t.remark, t.trade_amount, t.commission)
                .add_columns(t.transaction_tax, t.income_tax, t.stock_code, t.quantity)
                .order_by(t.settlement_date, t.transaction_no)
            )
        ]


def expected(history: History) -> list[tuple[object, ...]]:
    """The table's rows computed from the history's facts (not from the simulator's formatting)."""
    return [
        (
            e.day,
            f"{e.number:09d}",
            e.kind,
            e.remark,
            e.amount,
            e.commission,
            e.tax,
            e.income_tax,
            e.code,
            e.quantity,
        )
        for e in sorted(history.booked(END), key=lambda e: (e.day, e.number))
    ]


def test_every_line_lands_once_with_its_kind_and_a_rerun_or_an_overlap_adds_nothing(
    engine: Engine, ledger_simulator: Simulator, history: History, tmp_path: Path
) -> None:
    from etl.sim.simulator import serve

    with serve(ledger_simulator) as url:
        job = LedgerJob(settings_for(url, ledger_simulator, str(engine.url), tmp_path), engine, clock=evening(END))
        (first,) = job.run(since=START)
        firsts = sum(1 for r in ledger_simulator.requests if r["api_id"] == "kt00015" and r["cont-yn"] is None)
        (again,) = job.run()  # from 7 days before the newest line: an overlap
        (wide,) = job.run(since=START - timedelta(days=40))  # a month before the history: empty, then all of it
        job.fetcher.close()
    assert first.ok and again.ok and wide.ok, (first.error, again.error, wide.error)
    assert firsts == len(list(months(START, END))) == 2  # one chain a month
    assert first.pages > firsts  # continuation: four lines a page
    rows = stored(engine)
    assert rows == expected(history)
    assert {row[2] for row in rows} == {
        "deposit",
        "withdrawal",
        "buy",
        "sell",
        "dividend",
        "loan",
        "securities_in",
        "other",
    }
    assert first.load.added == Counter(e.kind for e in history.booked(END))
    assert sum(again.load.added.values()) == sum(wide.load.added.values()) == 0
    assert again.load.unchanged > 0 and wide.load.unchanged == len(rows)
    assert again.since == max(e.day for e in history.booked(END)) - timedelta(days=7)
    with engine.connect() as connection:
        runs = connection.execute(
            select(EtlRun.status, EtlRun.exchange, EtlRun.page_count, EtlRun.position_count).where(
                EtlRun.api_id == "kt00015"
            )
        ).all()
        pages = connection.execute(
            select(func.count()).select_from(RawResponse).where(RawResponse.api_id == "kt00015")
        ).scalar_one()
    assert [r[:2] for r in runs] == [("success", None)] * 3
    assert runs[0][3] == len(rows) and pages == sum(r[2] for r in runs)


def test_no_data_in_the_error_form_is_an_empty_month(
    engine: Engine, ledger_simulator: Simulator, history: History, tmp_path: Path
) -> None:
    from etl.sim.simulator import serve

    ledger_simulator.empty_ledger_form = "error"
    with serve(ledger_simulator) as url:
        job = LedgerJob(settings_for(url, ledger_simulator, str(engine.url), tmp_path), engine, clock=evening(END))
        (result,) = job.run(since=date(2026, 9, 1))  # September holds nothing
        job.fetcher.close()
    assert result.ok, result.error
    assert stored(engine) == expected(history)


@pytest.mark.parametrize(
    ("field", "value"),
    [("trde_amt", "00000001753X"), ("rmrk_nm", "이체\x00입금")],  # the second is kept as text: JSONB refuses a NUL
)
def test_a_refused_page_is_kept_and_counted_and_the_months_after_it_still_load(
    engine: Engine, ledger_simulator: Simulator, history: History, tmp_path: Path, field: str, value: str
) -> None:
    from etl.read.status import ledger_statuses
    from etl.sim.simulator import serve

    ledger_simulator.inject("bad_value", api_id="kt00015", field=field, value=value)
    with serve(ledger_simulator) as url:
        job = LedgerJob(settings_for(url, ledger_simulator, str(engine.url), tmp_path), engine, clock=evening(END))
        (result,) = job.run(since=START)
        (later,) = job.run()  # a later run succeeds; the refused month is still counted
        job.fetcher.close()
    assert (result.status, result.reason) == ("failed", "payload_refused") and later.ok
    assert result.error is not None and "1 page(s) refused" in result.error and field in result.error
    assert f"{START} – 2026-10-31 page 0: {field} of ledger line" in result.error
    (status,) = ledger_statuses(engine)
    assert (status.refused, status.last_status) == (1, "success")
    november = [row for row in expected(history) if row[0] >= date(2026, 11, 1)]
    assert stored(engine) == november  # October's chain was refused whole, November loaded
    with engine.connect() as connection:
        kept = connection.execute(
            select(func.count()).select_from(RawResponse).where(RawResponse.api_id == "kt00015")
        ).scalar_one()
    assert kept == result.pages + later.pages  # the refused pages too

    report = replay_ledger(engine, Classifier(), clock=evening(END))  # the raw page still holds the bad value
    assert (report.refused, sum(report.load.added.values())) == (1, 0)  # refused whole, as the run refused it


def test_replay_rebuilds_the_ledger_from_the_raw_pages(
    engine: Engine, ledger_simulator: Simulator, history: History, tmp_path: Path
) -> None:
    from etl.sim.simulator import serve

    with serve(ledger_simulator) as url:
        job = LedgerJob(settings_for(url, ledger_simulator, str(engine.url), tmp_path), engine, clock=evening(END))
        job.run(since=START)
        job.fetcher.close()
    before = stored(engine)
    with engine.begin() as connection:
        connection.execute(delete(AccountTransaction))
    report = replay_ledger(engine, Classifier(), clock=evening(END))
    assert stored(engine) == before
    assert sum(report.load.added.values()) == len(before) and report.refused == 0
    again = replay_ledger(engine, Classifier(), clock=evening(END))
    assert sum(again.load.added.values()) == 0 and again.load.unchanged == len(before)


def test_a_server_that_answers_8104_is_asked_once_and_snapshots_go_on(
    engine: Engine, ledger_simulator: Simulator, tmp_path: Path
) -> None:
    from etl.sim.simulator import serve

    ledger_simulator.unsupported = {"kt00015"}
    with serve(ledger_simulator) as url:
        settings = settings_for(url, ledger_simulator, str(engine.url), tmp_path)
        job = LedgerJob(settings, engine, clock=evening(END))
        (first,) = job.run(since=START)
        (second,) = job.run(since=START)
        asked = ledger_simulator.count("kt00015")
        snapshots = Snapshotter(settings, engine, job.fetcher, clock=evening(END)).take()
        job.fetcher.close()
    assert (first.status, first.reason) == ("failed", "not_supported") and "8104" in str(first.error)
    assert (second.status, second.reason, second.run_id) == ("skipped", "not_supported", None)
    assert asked == 1
    assert snapshots and all(s.ok for s in snapshots)


def test_the_command_line_loads_reports_other_in_status_and_reclassifies(sqlite_url: str, tmp_path: Path) -> None:
    # The command line runs on the real clock: the history ends today (KST), whatever day that is.
    today = datetime.now(KST).date()
    history = make_history(today - timedelta(days=30), 31, seed=1)
    account = make_account(1, 3)
    account.history = history
    simulator = Simulator(accounts=[account], today=lambda: today)
    from etl.sim.simulator import serve

    with serve(simulator) as url:
        env = account_env(simulator, url, sqlite_url, tmp_path)
        assert kiwoom_etl("migrate", env=env).returncode == 0
        loaded = kiwoom_etl("ledger", "--since", f"{history.start:%Y-%m-%d}", env=env)
        rerun = kiwoom_etl("ledger", "--totals", env=env)  # today's totals now, whatever the time
        status = kiwoom_etl("status", "--all-hours", env=env)
    count = len(history.booked(today))
    assert loaded.returncode == 1, loaded.stderr  # a line is `other`: the user is told, and the exit says so
    assert f"{count} new line(s) loaded" in loaded.stdout
    assert "match no rule of the mapping" in loaded.stderr and "Traceback" not in loaded.stderr
    assert "0 new line(s) loaded" in rerun.stdout and rerun.returncode == 0, rerun.stderr
    assert "Today's totals (kt00017)" in rerun.stdout and f"success  {today}" in rerun.stdout
    assert "Ledger (kt00015) and day totals (kt00017):" in status.stdout
    assert "days disagreeing" in status.stdout and "disagree with the ledger" not in status.stdout
    assert "1 ledger line(s) match no rule of the mapping (kind other)" in status.stdout

    config = tmp_path / "kiwoom-etl.toml"
    config.write_text('[ledger.kinds]\n"기타정산" = "fee"\n', encoding="utf-8")
    fixed = kiwoom_etl("ledger", "--reclassify", env=env | {"KIWOOM_ETL_CONFIG": str(config)})
    assert fixed.returncode == 0, fixed.stderr
    assert "1 line(s): other → fee" in fixed.stdout and "0 stored line(s) are other" in fixed.stdout
    wrong = tmp_path / "wrong.toml"
    wrong.write_text('[ledger.kinds]\n"기타정산" = "fees"\n', encoding="utf-8")
    refused = kiwoom_etl("ledger", "--reclassify", env=env | {"KIWOOM_ETL_CONFIG": str(wrong)})
    assert refused.returncode == 2 and "'기타정산' = 'fees' is not a kind" in refused.stderr


def test_8200_stops_only_the_company_account_s_ledger(engine: Engine, history: History, tmp_path: Path) -> None:
    from etl.sim.simulator import serve

    company, person = make_account(1, 3), make_account(2, 3)
    person.history = history
    simulator = Simulator(
        accounts=[company, person],
        page_size=4,
        today=lambda: END,
        corporate={company.appkey},
        rate_per_second=1000,
        burst=100,
    )
    with serve(simulator) as url:
        job = LedgerJob(settings_for(url, simulator, str(engine.url), tmp_path), engine, clock=evening(END))
        first = job.run(since=START)
        asked = simulator.count("kt00015")
        second = job.run(since=START)
        job.fetcher.close()
    assert [(r.status, r.reason) for r in first] == [("failed", "not_supported"), ("success", None)]
    assert "8200" in str(first[0].error) and first[1].load.added
    assert [(r.status, r.reason) for r in second] == [("skipped", "not_supported"), ("success", None)]
    assert simulator.count("kt00015") - asked == second[1].pages  # the company's ledger is not asked again
    assert job.unsupported is None
