"""The declarations of the APIs the project fetches: each names an api-id etl_runs accepts and a table of the
schema, the requests Kiwoom documents, and the normaliser and load its jobs and replay use."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, insert, select

from etl.apis import API_IDS, APIS, Base
from etl.apis.api import Api
from etl.apis.estimates import ESTIMATES
from etl.apis.ledger import LEDGER
from etl.apis.snapshot import SNAPSHOT
from etl.apis.totals import DAY_TOTALS, AccountDayTotals
from etl.daemon.metrics import Metrics
from etl.kiwoom.pages import Page
from etl.store.models import EtlRun

RECEIVED = datetime(2026, 3, 9, 15, 30, tzinfo=UTC)  # 00:30 KST on the 10th


def _page(api_id: str, data: dict[str, object], received_at: datetime = RECEIVED) -> Page:
    return Page(api_id=api_id, page_no=0, received_at=received_at, http_status=200, text="{}", data=data)


def test_every_api_is_one_etl_runs_accepts_and_is_declared_once() -> None:
    ids = [api.api_id for api in APIS]
    assert sorted(ids) == sorted(API_IDS)
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("api", APIS, ids=lambda api: api.api_id)
def test_its_table_is_in_the_schema(api: Api) -> None:
    assert Base.metadata.tables[api.table.name] is api.table


def test_the_metrics_count_the_runs_of_every_api_that_names_a_counter() -> None:
    exposition = Metrics().exposition().decode()
    assert [api.runs_metric.name for api in APIS if api.runs_metric is not None] == [
        "ledger",
        "day_totals",
        "realized",
        "instruments",
        "instrument_singles",
        "index_daily",
        "stock_daily",
    ]
    assert (
        "# HELP kiwoom_etl_ledger_runs_total Account ledger (kt00015) runs, by result and reason (etl_runs' names; "
        "empty for a plain success).\n# TYPE kiwoom_etl_ledger_runs_total counter"
    ) in exposition
    assert (
        "# HELP kiwoom_etl_day_totals_runs_total Day totals (kt00017) runs, by result and reason (etl_runs' names; "
        "empty for a plain success).\n# TYPE kiwoom_etl_day_totals_runs_total counter"
    ) in exposition
    assert "# TYPE kiwoom_etl_stock_daily_runs_total counter" in exposition
    assert (
        "# HELP kiwoom_etl_realized_runs_total Daily realised profit (ka10074) runs, by result and reason (etl_runs' "
        "names; empty for a plain success).\n# TYPE kiwoom_etl_realized_runs_total counter"
    ) in exposition


def test_the_ledger_asks_every_line_of_both_exchanges_oldest_first() -> None:
    assert LEDGER.endpoint.body(start=date(2026, 2, 1), end=date(2026, 2, 28)) == {
        "strt_dt": "20260201",
        "end_dt": "20260228",
        "tp": "0",
        "stk_cd": "",
        "crnc_cd": "",
        "gds_tp": "0",
        "frgn_stex_code": "",
        "dmst_stex_tp": "%",
        "qry_sort_tp": "2",
    }
    assert LEDGER.endpoint.paged and LEDGER.endpoint.no_data_is_empty


def test_the_estimates_ask_a_range_and_the_day_totals_nothing() -> None:
    assert ESTIMATES.endpoint.body(start=date(2026, 2, 1), end=date(2026, 2, 28)) == {
        "start_dt": "20260201",
        "end_dt": "20260228",
    }
    assert ESTIMATES.endpoint.paged and ESTIMATES.endpoint.no_data_is_empty
    assert DAY_TOTALS.endpoint.body() == {} and not DAY_TOTALS.endpoint.paged


def test_the_day_totals_are_of_the_korean_day_they_were_received_on() -> None:
    read = DAY_TOTALS.read(_page("kt00017", {"ina_amt": "000000012550", "return_code": 0, "extra": "1"}), "A", 0)
    (row,) = read.rows
    assert row["account_no"] == "A" and row["trade_date"] == date(2026, 3, 10) and row["deposits"] == 12550
    assert read.unknown_fields == {"extra"}


def test_the_estimates_number_their_lines_on_from_the_first() -> None:
    lines = [{"dt": "20260302", "entr": "000000000100"}, {"dt": "20260303", "entr": "000000000200"}]
    read = ESTIMATES.read(_page("kt00002", {"daly_prsm_dpst_aset_amt_prst": lines}), "A", 5)
    assert [(row["trade_date"], row["cash"]) for row in read.rows] == [(date(2026, 3, 2), 100), (date(2026, 3, 3), 200)]


def test_an_older_taking_of_a_day_is_not_written_over_a_later_one(engine: Engine) -> None:
    later = DAY_TOTALS.read(_page("kt00017", {"ina_amt": "000000000002"}), "A", 0).rows
    before = RECEIVED - timedelta(minutes=20)  # the same Korean day
    earlier = DAY_TOTALS.read(_page("kt00017", {"ina_amt": "000000000001"}, before), "A", 0).rows
    with engine.begin() as connection:
        run = connection.execute(
            insert(EtlRun).returning(EtlRun.id), {"trigger": "manual", "status": "success", "started_at": RECEIVED}
        ).scalar_one()
        assert DAY_TOTALS.load(connection, later, run) == 1
        assert DAY_TOTALS.load(connection, earlier, run) == 0
        assert connection.execute(select(AccountDayTotals.deposits)).scalar_one() == 2


def test_a_run_grows_its_runs_its_pages_and_the_tables_of_its_own() -> None:
    snapshot = ("account_snapshots", "position_snapshots", "daily_closes", "daily_returns", "realized_sales")
    assert SNAPSHOT.grows == ("etl_runs", "raw_responses", *snapshot)
    ledger = ("account_transactions", "account_transaction_conflicts", "daily_returns", "realized_sales")
    assert LEDGER.grows == ("etl_runs", "raw_responses", *ledger)
    assert DAY_TOTALS.grows == ("etl_runs", "raw_responses", "account_day_totals")
    assert ESTIMATES.grows == ("etl_runs", "raw_responses", "account_daily_estimates", "daily_returns")


def test_every_table_is_grown_by_a_declaration_so_a_bulk_load_analyzes_it() -> None:
    # But the real-time feed's fills, which a listener adds a push at a time, never in a bulk load, and its lease (a
    # row per app key).
    feed = {"executions", "execution_conflicts", "realtime_leases"}
    assert {name for api in APIS for name in api.grows} == set(Base.metadata.tables) - feed
