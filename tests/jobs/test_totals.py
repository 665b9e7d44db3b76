"""kt00017, the day's totals: the transform, the job against the simulator over HTTP into a real database, the
ledger_checks view that holds them against the ledger, when they are due, and the daemon and command line."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, func, select, update

from etl.apis.totals import DAY_TOTALS, AccountDayTotals
from etl.clock import KST
from etl.errors import TransformError
from etl.jobs.ledger import LedgerJob
from etl.jobs.replay import replay_rows
from etl.jobs.totals import DayTotalsJob, not_due
from etl.kiwoom.pages import Page, parse_json_object
from etl.normalize.totals import TOTALS_FIELDS, day_totals
from etl.read.status import ledger_statuses
from etl.read.views import LEDGER_CHECKS
from etl.sim.accounts import make_account
from etl.sim.history import History, make_history
from etl.sim.simulator import Simulator, serve
from etl.store.models import AccountTransaction, EtlRun, RawResponse
from tests.support import Clock, make_settings, sim_accounts

START = date(2026, 10, 19)  # a Monday
END = date(2026, 11, 20)

# Kiwoom's own sample answer (the API page), whole.
SAMPLE = (
    '{"d2_entra":"000000012550","crd_int_npay_gold":"000000000000","etc_loana":"000000000000",'
    '"gnrl_stk_evlt_amt_d2":"000005724100","dpst_grnt_use_amt_d2":"000000000000","crd_stk_evlt_amt_d2":"000000000000",'
    '"crd_loan_d2":"000000000000","crd_loan_evlta_d2":"000000000000","crd_ls_grnt_d2":"000000000000",'
    '"crd_ls_evlta_d2":"000000000000","ina_amt":"000000000000","outa":"000000000000","inq_amt":"000000000000",'
    '"outq_amt":"000000000000","sell_amt":"000000000000","buy_amt":"000000000000","cmsn":"000000000000",'
    '"tax":"000000000000","stk_pur_cptal_loan_amt":"000000000000","rp_evlt_amt":"000000000000",'
    '"bd_evlt_amt":"000000000000","elsevlt_amt":"000000000000","crd_int_amt":"000000000000",'
    '"sel_prica_grnt_loan_int_amt_amt":"000000000000","dvida_amt":"000000000000",'
    '"return_code":0,"return_msg":"조회가 완료되었습니다.."}'
)
EVENING = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # 21:00 KST


def page_of(text: str) -> Page:
    return Page("kt00017", 0, EVENING, 200, text, parse_json_object(text))


def test_kiwoom_s_sample_reads_exactly_and_is_dated_by_the_korean_day() -> None:
    just_after_midnight = datetime(2026, 11, 19, 15, 30, tzinfo=UTC)  # 00:30 KST on the 20th
    totals = day_totals(page_of(SAMPLE), account_no="1234", captured_at=just_after_midnight)
    assert totals.row["trade_date"] == date(2026, 11, 20)
    assert (totals.row["cash_d2"], totals.row["stock_evaluation_d2"], totals.row["deposits"]) == (12550, 5724100, 0)
    assert set(totals.row) == {"account_no", "trade_date", "captured_at", *TOTALS_FIELDS.values()}
    assert all(type(totals.row[c]) is int for c in TOTALS_FIELDS.values())
    assert totals.unknown_fields == frozenset()


def test_a_negative_amount_an_absent_field_and_an_unknown_one() -> None:
    body = json.loads(SAMPLE) | {"outa": "-00000001000", "new_field": "1"}
    del body["dvida_amt"]
    totals = day_totals(page_of(json.dumps(body)), account_no="1234", captured_at=EVENING)
    assert totals.row["withdrawals"] == -1000 and totals.row["dividends"] is None
    assert totals.unknown_fields == {"new_field"}


@pytest.mark.parametrize("value", ["12,550", "1.5", "０１", " 1 2", True])
def test_a_value_off_the_contract_is_refused_with_its_field_named(value: object) -> None:
    body = json.loads(SAMPLE) | {"ina_amt": value}
    with pytest.raises(TransformError) as caught:
        day_totals(page_of(json.dumps(body)), account_no="1234", captured_at=EVENING)
    assert caught.value.field == "ina_amt" and "ina_amt" in str(caught.value)


def test_a_body_that_is_no_json_object_is_refused() -> None:
    with pytest.raises(TransformError, match="not a JSON object"):
        day_totals(page_of("<html>"), account_no="1234", captured_at=EVENING)


@pytest.mark.parametrize(
    ("local", "due"),
    [
        (datetime(2026, 11, 20, 20, 15, tzinfo=KST), True),  # a Friday, at the time
        (datetime(2026, 11, 20, 23, 59, tzinfo=KST), True),
        (datetime(2026, 11, 20, 20, 14, tzinfo=KST), False),  # before the close's time
        (datetime(2026, 11, 21, 21, 0, tzinfo=KST), False),  # a Saturday
        (datetime(2026, 12, 31, 21, 0, tzinfo=KST), False),  # a KRX holiday (the year's last day)
    ],
)
def test_the_totals_are_due_after_the_close_of_a_trading_day(local: datetime, due: bool, tmp_path: Path) -> None:
    from etl.clock import krx_calendar

    settings = make_settings("http://127.0.0.1:1", "sqlite:///x.db", tmp_path, ())
    assert (not_due(settings, local.astimezone(UTC), krx_calendar()) is None) == due


def test_the_totals_follow_the_configs_calendar_corrections(tmp_path: Path) -> None:
    from etl.clock import CalendarCorrections, krx_calendar

    settings = make_settings("http://127.0.0.1:1", "sqlite:///x.db", tmp_path, ())
    corrections = CalendarCorrections(holidays={date(2026, 11, 20): ""}, trading_days=frozenset({date(2026, 7, 17)}))
    constitution_day, declared = datetime(2026, 7, 17, 21, 0, tzinfo=KST), datetime(2026, 11, 20, 21, 0, tzinfo=KST)
    assert (
        not_due(settings, constitution_day, krx_calendar())
        == "2026-07-17 is no KRX trading day: no totals of the day are taken"
    )
    assert not_due(settings, constitution_day, krx_calendar(corrections)) is None
    assert not_due(settings, declared, krx_calendar(corrections)) == (
        "2026-11-20 is no KRX trading day: no totals of the day are taken"
    )


@pytest.fixture
def history() -> History:
    return make_history(START, (END - START).days + 1, seed=3)


def by_hand(history: History, day: date) -> dict[str, int]:
    """What kt00017 should hold for `day`, from the history's facts (the lines booked that day)."""
    lines = [e for e in history.events if e.day == day]

    def amount(kind: str) -> int:
        return sum(e.amount for e in lines if e.kind == kind)

    return {
        "deposits": amount("deposit"),
        "withdrawals": amount("withdrawal"),
        "buy_amount": amount("buy"),
        "sell_amount": amount("sell"),
        "dividends": amount("dividend"),
        "commission": sum(e.commission for e in lines),
        "tax": sum(e.tax + e.income_tax for e in lines),
    }


def test_each_evening_s_totals_land_and_the_ledger_bears_them_out_until_a_line_goes_missing(
    engine: Engine, history: History, tmp_path: Path
) -> None:
    account = make_account(1, 3)
    account.history = history
    today = [START]
    simulator = Simulator(
        accounts=[account], page_size=4, today=lambda: today[0], retry_after=None, rate_per_second=1000, burst=100
    )
    weekdays = [d for d in history.weekdays if d <= END]
    with serve(simulator) as url:
        settings = make_settings(url, str(engine.url), tmp_path / "state", sim_accounts(simulator))
        clock = Clock(datetime.combine(START, time(20, 15), tzinfo=KST))
        job = DayTotalsJob(settings, engine, clock=clock)
        for day in weekdays:  # the daemon's evenings
            today[0] = day
            clock.now = datetime.combine(day, time(20, 15), tzinfo=KST)
            (taken,) = job.run()
            assert taken.ok and taken.trade_date == day, taken.error
        clock.now = datetime.combine(END, time(21), tzinfo=KST)
        (loaded,) = LedgerJob(settings, engine, job.fetcher, clock=clock).run(since=START)
        job.fetcher.close()
    assert loaded.ok, loaded.error
    checks = LEDGER_CHECKS.table()
    with engine.connect() as connection:
        rows = {r.trade_date: r for r in connection.execute(select(checks))}
        runs = connection.execute(
            select(EtlRun.status, func.count()).where(EtlRun.api_id == "kt00017").group_by(EtlRun.status)
        ).all()
    assert runs == [("success", len(weekdays))]
    assert sorted(rows) == weekdays
    for day, row in rows.items():
        hand = by_hand(history, day)
        assert {name: getattr(row, name) for name in hand} == hand, day
        assert {name: getattr(row, f"ledger_{name}") for name in hand} == hand, day
        assert (row.result, row.mismatches) == ("agrees", None), day
        assert row.ledger_lines == sum(1 for e in history.events if e.day == day)
    assert any(row.deposits for row in rows.values()) and any(row.tax for row in rows.values())

    deposit = next(e for e in history.events if e.kind == "deposit")
    sale = next(e for e in history.events if e.kind == "sell")
    with engine.begin() as connection:  # as if the ledger had lost a line, and Kiwoom booked a sale's tax late
        connection.execute(
            delete(AccountTransaction).where(
                AccountTransaction.settlement_date == deposit.day, AccountTransaction.kind == "deposit"
            )
        )
        connection.execute(
            update(AccountTransaction)
            .where(AccountTransaction.settlement_date == sale.day, AccountTransaction.kind == "sell")
            .values(transaction_tax=0)
        )
    with engine.connect() as connection:
        wrong = connection.execute(
            select(checks.c.trade_date, checks.c.mismatches, checks.c.ledger_deposits, checks.c.result)
            .where(checks.c.result == "disagrees")
            .order_by(checks.c.trade_date)
        ).all()
    assert wrong == sorted(
        [
            (deposit.day, "deposits", 0, "disagrees"),
            (sale.day, "tax", by_hand(history, sale.day)["deposits"], "disagrees"),
        ]
    )
    (status,) = ledger_statuses(engine)
    assert status.disagreements is not None and status.disagreements.days == 2
    assert status.disagreements.newest == max(deposit.day, sale.day) and status.totals_day == END


def test_a_later_taking_of_the_day_replaces_an_earlier_one_and_replay_keeps_the_later(
    engine: Engine, history: History, tmp_path: Path
) -> None:
    account = make_account(1, 3)
    account.history = history
    day = next(e.day for e in history.events if e.kind == "deposit")
    simulator = Simulator(accounts=[account], today=lambda: day, retry_after=None)
    with serve(simulator) as url:
        settings = make_settings(url, str(engine.url), tmp_path / "state", sim_accounts(simulator))
        simulator.inject("bad_value", api_id="kt00017", field="ina_amt", value="000000000001")  # a smaller figure
        clock = Clock(datetime.combine(day, time(20, 15), tzinfo=KST))
        job = DayTotalsJob(settings, engine, clock=clock)
        (early,) = job.run()
        clock.now += timedelta(hours=1)
        (late,) = job.run()
        job.fetcher.close()
    assert early.ok and late.ok and late.stored
    with engine.connect() as connection:
        (row,) = connection.execute(select(AccountDayTotals)).all()
    assert (row.trade_date, row.deposits, row.run_id) == (day, by_hand(history, day)["deposits"], late.run_id)
    assert replay_rows(engine, DAY_TOTALS) == (2, 0)  # both pages again: the later one still stands
    with engine.connect() as connection:
        assert connection.execute(select(AccountDayTotals.deposits, AccountDayTotals.run_id)).one() == (
            row.deposits,
            late.run_id,
        )


def test_a_refused_page_is_kept_counted_and_loaded_by_replay_and_8104_is_asked_once(
    engine: Engine, history: History, tmp_path: Path
) -> None:
    account = make_account(1, 3)
    account.history = history
    simulator = Simulator(accounts=[account], today=lambda: END, retry_after=None)
    clock = Clock(datetime.combine(END, time(20, 30), tzinfo=KST))
    with serve(simulator) as url:
        settings = make_settings(url, str(engine.url), tmp_path / "state", sim_accounts(simulator))
        simulator.inject("bad_value", api_id="kt00017", field="tax", value="12.5")
        job = DayTotalsJob(settings, engine, clock=clock)
        (refused,) = job.run()
        simulator.unsupported = {"kt00017"}
        (first,) = job.run()
        (second,) = job.run()
        asked = simulator.count("kt00017")
        job.fetcher.close()
    assert (refused.status, refused.reason) == ("failed", "payload_refused")
    assert refused.error is not None and "tax" in refused.error and "'12.5'" in refused.error
    assert (first.status, first.reason) == ("failed", "not_supported") and "8104" in str(first.error)
    assert (second.status, second.reason, second.run_id) == ("skipped", "not_supported", None)
    assert asked == 2  # the refused page, and the one 8104
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(AccountDayTotals)).scalar_one() == 0
        kept = connection.execute(select(RawResponse.run_id).where(RawResponse.api_id == "kt00017")).scalars().all()
    assert refused.run_id in kept
    (status,) = ledger_statuses(engine)
    assert status.totals_run is not None and status.totals_run.reason == "not_supported"
    # The page itself held the bad value: a replay refuses it still, and the run stays refused.
    assert replay_rows(engine, DAY_TOTALS) == (len(kept), len(kept))
