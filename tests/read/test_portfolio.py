"""account_transactions for portfolio tools: Portfolio Performance's CSV import and Ghostfolio's import JSON, each
row checked against the line it comes from, written by hand here; what a tool has no type for is left out and said."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, select

from etl.apis.charts import STOCK_DAILY
from etl.apis.instruments import Instrument
from etl.read.portfolio import ghostfolio, portfolio_performance, read_lines, summary
from etl.read.views import ACCOUNT_FLOWS_DAILY
from etl.store.engine import transaction
from etl.store.runs import start_run
from tests.support import kiwoom_etl
from tests.support.books import Book, Line
from tests.support.schema import migrated
from tests.support.story import ACCOUNT, at, ledger_line, load

D1, D2, D3 = date(2026, 11, 2), date(2026, 11, 3), date(2026, 11, 4)


def trade(number: int, remark: str, amount: int, quantity: str, price: str, **extra: str) -> dict[str, str]:
    """A trade in 삼성전자 done on D1, booked on D3."""
    return ledger_line(
        D3,
        number,
        remark,
        amount,
        cntr_dt=f"{D1:%Y%m%d}",
        stk_cd="A005930",
        stk_nm="삼성전자",
        isin_cd="KR7005930003",
        trde_qty_jwa_cnt=quantity,
        trde_unit=price,
        **extra,
    )


LINES = [
    ledger_line(D1, 1, "이체입금", 5_000_000, proc_tm="09:15:00", entra_remn="5000000"),
    trade(
        2, "장내매수", 800_000, "10", "80,000", cmsn="120", exct_amt="800120", proc_tm="08:08:08", entra_remn="4199880"
    ),
    trade(
        3, "장내매도", 410_000, "5", "82,000", cmsn="61", trde_agri_tax="738", exct_amt="409201", entra_remn="4609081"
    ),
    ledger_line(
        D3, 4, "배당금입금", 1_000, stk_cd="A005930", trde_qty_jwa_cnt="5", trde_unit="200", incm_resi_tax="154"
    ),
    ledger_line(
        D2, 1, "대체입고", 0, stk_cd="A000660", stk_nm="SK하이닉스", isin_cd="KR7000660001", trde_qty_jwa_cnt="2"
    ),
    ledger_line(D2, 2, "이체출금", 1_000_000, entra_remn="3999999"),
    ledger_line(D2, 3, "예탁담보대출입금", 2_000_000),
    ledger_line(D2, 4, "기타정산금", 77),
    ledger_line(D2, 5, "기타수수료", 500),
]


def buy_time_is_blank(rows: list[dict[str, str]]) -> bool:
    """A trade is booked at settlement: its booking time is not when it was done, so none is written."""
    return all(row["Time"] == "" for row in rows if row["Type"] in ("Buy", "Sell"))


def loaded(engine: Engine, tmp_path: Path) -> None:
    """The lines, and a close on D2 that lists the stock transferred in (at 150,000 a share)."""
    books = [Book(ACCOUNT, "KRX", at(D2), (Line("000660", "SK하이닉스", 2, 150_000, 140_000),), deposit_d2=0)]
    load(engine, tmp_path, books, LINES)


def test_portfolio_performance_gets_its_types_values_fees_and_taxes_and_the_delivery_apart(
    engine: Engine, tmp_path: Path
) -> None:
    loaded(engine, tmp_path)
    accounts, deliveries, done = portfolio_performance(read_lines(engine))
    rows = list(csv.DictReader(io.StringIO(accounts)))
    by_type = {row["Type"]: row for row in rows}
    assert [row["Type"] for row in rows] == ["Deposit", "Withdrawal", "Fees", "Buy", "Sell", "Dividend"]
    assert buy_time_is_blank(rows)
    assert (by_type["Deposit"]["Date"], by_type["Deposit"]["Time"], by_type["Deposit"]["Value"]) == (
        f"{D1}",
        "09:15",
        "5000000",
    )
    buy, sell, dividend = by_type["Buy"], by_type["Sell"], by_type["Dividend"]
    assert (buy["Date"], buy["Value"], buy["Shares"], buy["Fees"], buy["Taxes"]) == (f"{D1}", "800120", "10", "120", "")
    assert (buy["ISIN"], buy["Ticker Symbol"], buy["Security Name"]) == ("KR7005930003", "005930.KS", "삼성전자")
    assert (sell["Value"], sell["Shares"], sell["Fees"], sell["Taxes"]) == ("409201", "5", "61", "738")
    assert (dividend["Value"], dividend["Taxes"], dividend["Shares"]) == (str(1_000 - 154), "154", "5")
    assert (by_type["Fees"]["Value"], by_type["Withdrawal"]["Value"]) == ("500", "1000000")
    assert by_type["Deposit"]["Securities Account"] == "" and buy["Securities Account"] == f"Kiwoom {ACCOUNT}"
    assert all(row["Transaction Currency"] == "KRW" and row["Cash Account"] == f"Kiwoom {ACCOUNT}" for row in rows)
    (delivery,) = csv.DictReader(io.StringIO(deliveries))
    assert (delivery["Type"], delivery["Shares"], delivery["Value"]) == ("Delivery (Inbound)", "2", str(2 * 150_000))
    assert done.skipped == {"loan": 1, "other": 1} and (done.rows, done.deliveries, done.unvalued) == (6, 1, 0)


def test_a_transfer_on_a_day_without_a_snapshot_is_exported_at_the_stock_s_close_as_the_flows_value_it(
    engine: Engine, tmp_path: Path
) -> None:
    load(engine, tmp_path, [], LINES)  # no snapshot at all: D2's transfer has no snapshot close
    _, deliveries, done = portfolio_performance(read_lines(engine))
    (delivery,) = csv.DictReader(io.StringIO(deliveries))
    assert (delivery["Value"], done.unvalued) == ("0", 1)  # neither close: written at 0 and said
    now = datetime(2026, 11, 9, 8, tzinfo=UTC)
    run = start_run(engine, trigger="manual", started_at=now, account_no=None, exchange=None, api_id="ka10081")
    with transaction(engine, "test") as connection:
        bar = {"stock_code": "000660", "trade_date": D2, "captured_at": now, "close": 151_000}
        STOCK_DAILY.load(connection, [bar], run.id)
    _, deliveries, done = portfolio_performance(read_lines(engine))
    (delivery,) = csv.DictReader(io.StringIO(deliveries))
    assert (delivery["Value"], done.unvalued) == (str(2 * 151_000), 0)
    flows = ACCOUNT_FLOWS_DAILY.table()
    with engine.connect() as connection:
        securities_in = connection.execute(select(flows.c.securities_in).where(flows.c.trade_date == D2)).scalar_one()
    assert securities_in == 2 * 151_000  # the value account_flows_daily gives it: one expression


# What Ghostfolio's import takes (libs/common/src/lib/dtos in ghostfolio/ghostfolio, 2026-08): its API validates with
# `forbidNonWhitelisted`, so one property more than these refuses the whole file ("property meta should not exist").
GHOSTFOLIO_IMPORT = {"accounts", "activities", "assetProfiles", "platforms", "tags"}
GHOSTFOLIO_ACCOUNT = {"balance", "balances", "comment", "currency", "id", "isExcluded", "name", "platformId", "tags"}
GHOSTFOLIO_ACTIVITY = {
    "accountId",
    "assetClass",
    "assetSubClass",
    "comment",
    "currency",
    "customCurrency",
    "dataSource",
    "date",
    "fee",
    "quantity",
    "symbol",
    "tags",
    "type",
    "unitPrice",
    "updateAccountBalance",
}
GHOSTFOLIO_PROFILE = {
    "assetClass",
    "assetSubClass",
    "comment",
    "countries",
    "currency",
    "cusip",
    "dataSource",
    "figi",
    "figiComposite",
    "figiShareClass",
    "holdings",
    "isActive",
    "isin",
    "marketData",
    "name",
    "sectors",
    "symbol",
    "url",
}


def test_ghostfolio_file_has_no_property_its_import_refuses(engine: Engine, tmp_path: Path) -> None:
    loaded(engine, tmp_path)
    document = json.loads(ghostfolio(read_lines(engine))[0])
    assert set(document) <= GHOSTFOLIO_IMPORT and "activities" in document
    assert all(set(account) <= GHOSTFOLIO_ACCOUNT for account in document["accounts"])
    assert all(set(activity) <= GHOSTFOLIO_ACTIVITY for activity in document["activities"])
    assert all(set(profile) <= GHOSTFOLIO_PROFILE for profile in document["assetProfiles"])
    balances = [set(balance) for account in document["accounts"] for balance in account["balances"]]
    assert balances and all(keys == {"date", "value"} for keys in balances)  # Ghostfolio's AccountBalance


def test_ghostfolio_gets_activities_and_the_cash_as_balances(engine: Engine, tmp_path: Path) -> None:
    loaded(engine, tmp_path)
    text, done = ghostfolio(read_lines(engine))
    document = json.loads(text)
    (account,) = document["accounts"]
    assert account["currency"] == "KRW" and account["name"] == f"Kiwoom {ACCOUNT}"
    assert account["balances"][0] == {"date": f"{D1}T00:00:00.000Z", "value": 5_000_000}
    assert account["balance"] == 4_609_081  # the cash after the newest day's last line with a balance
    activities = {(a["type"], a["symbol"]): a for a in document["activities"]}
    assert set(activities) == {
        ("BUY", "005930.KS"),
        ("SELL", "005930.KS"),
        ("DIVIDEND", "005930.KS"),
        ("BUY", "000660.KS"),  # the transfer in, said so in its comment
        ("FEE", "GF_KIWOOM_FEES"),
        ("LIABILITY", "GF_KIWOOM_LOAN"),  # the credit line's cash is in the balances, its debt here
    }
    buy, sell = activities[("BUY", "005930.KS")], activities[("SELL", "005930.KS")]
    # Dated by the booking day, as the balances are: no day counts both the shares and the cash that pays for them.
    assert (buy["date"], buy["quantity"], buy["unitPrice"], buy["fee"]) == (f"{D3}T00:00:00.000Z", 10, 80000, 120)
    loan = activities[("LIABILITY", "GF_KIWOOM_LOAN")]
    assert (loan["date"], loan["quantity"], loan["unitPrice"]) == (f"{D2}T00:00:00.000Z", 1, 2_000_000)
    assert (sell["quantity"], sell["unitPrice"], sell["fee"]) == (5, 82000, 61 + 738)
    dividend = activities[("DIVIDEND", "005930.KS")]
    assert (dividend["quantity"], dividend["unitPrice"], dividend["fee"]) == (5, 200, 154)
    moved = activities[("BUY", "000660.KS")]
    assert (moved["quantity"], moved["unitPrice"]) == (2, 150000) and "not a trade" in moved["comment"]
    fee = activities[("FEE", "GF_KIWOOM_FEES")]
    assert (fee["dataSource"], fee["quantity"], fee["unitPrice"], fee["fee"]) == ("MANUAL", 0, 0, 500)
    assert {p["symbol"] for p in document["assetProfiles"]} == {"GF_KIWOOM_FEES", "GF_KIWOOM_LOAN"}
    assert all(a["currency"] == "KRW" and a["accountId"] == account["id"] for a in document["activities"])
    assert done.skipped == {"other": 1}


def test_the_command_line_writes_both_files_and_refuses_what_does_not_apply(sqlite_url: str, tmp_path: Path) -> None:
    from etl.store.engine import make_engine

    engine = make_engine(sqlite_url)
    migrated(engine)
    loaded(engine, tmp_path)
    engine.dispose()
    env = {"KIWOOM_ETL_DATABASE_URL": sqlite_url}
    out = tmp_path / "pp.csv"
    written = kiwoom_etl(
        "export", "account_transactions", "--format", "portfolio-performance", "--out", str(out), env=env
    )
    assert written.returncode == 0, written.stderr
    assert (
        "6 row(s) of account_transactions written" in written.stdout and "as Portfolio Transactions" in written.stdout
    )
    assert (tmp_path / "pp-deliveries.csv").exists() and out.stat().st_mode & 0o777 == 0o600
    assert "1 line(s) of kind loan left out" in written.stderr
    to_stdout = kiwoom_etl("export", "account_transactions", "--format", "ghostfolio", env=env)
    assert to_stdout.returncode == 0 and json.loads(to_stdout.stdout)["activities"]
    no_file = kiwoom_etl("export", "account_transactions", "--format", "portfolio-performance", env=env)
    assert no_file.returncode == 2 and "needs --out FILE" in no_file.stderr
    wrong = kiwoom_etl("export", "account_daily", "--format", "ghostfolio", env=env)
    assert wrong.returncode == 2 and "NAME must be account_transactions" in wrong.stderr
    exchange = kiwoom_etl("export", "account_transactions", "--format", "ghostfolio", "--exchange", "KRX", env=env)
    assert exchange.returncode == 2 and "--exchange does not apply" in exchange.stderr
    exact = kiwoom_etl("export", "account_transactions", "--since", f"{D2}", "--until", f"{D2}", env=env)
    rows = list(csv.DictReader(io.StringIO(exact.stdout)))
    assert exact.returncode == 0 and {row["settlement_date"] for row in rows} == {f"{D2}"} and len(rows) == 5
    assert {row["processed_time"] for row in rows} == {""}  # these lines carry no processing time


def bought(number: int, code: str, name: str) -> dict[str, str]:
    return ledger_line(
        D3, number, "장내매수", 100_000, stk_cd=f"A{code}", stk_nm=name, trde_qty_jwa_cnt="1", trde_unit="100,000"
    )


def test_each_code_gets_the_symbol_of_its_market_and_the_notes_say_every_choice(engine: Engine, tmp_path: Path) -> None:
    """KOSDAQ is .KQ (a .KS there made Ghostfolio refuse the whole file), an ETF .KS, a KONEX code no Yahoo symbol
    (a manual asset in Ghostfolio, no ticker in Portfolio Performance), a code instruments lacks .KS and named."""
    lines = [
        bought(11, "247540", "에코프로비엠"),
        bought(12, "069500", "KODEX 200"),
        bought(13, "278990", "코넥스종목"),
        bought(14, "035720", "카카오"),
    ]
    load(engine, tmp_path, [], [*LINES, *lines])
    now = datetime(2026, 11, 9, 8, tzinfo=UTC)
    run = start_run(engine, trigger="manual", started_at=now, account_no=None, exchange=None, api_id="ka10099")
    with engine.begin() as connection:
        connection.execute(
            insert(Instrument),
            [
                {"stock_code": code, "name": code, "market": market, "run_id": run.id, "updated_at": now}
                for code, market in [("005930", "KOSPI"), ("247540", "KOSDAQ"), ("069500", "ETF"), ("278990", "KONEX")]
            ],
        )
    document = json.loads(ghostfolio(read_lines(engine))[0])
    symbols = {(a["symbol"], a["dataSource"]) for a in document["activities"] if a["type"] == "BUY"}
    assert symbols == {
        ("005930.KS", "YAHOO"),
        ("247540.KQ", "YAHOO"),
        ("069500.KS", "YAHOO"),
        ("GF_KRX_278990", "MANUAL"),
        ("035720.KS", "YAHOO"),
        ("000660.KS", "YAHOO"),  # the transfer in: not in instruments either
    }
    profiles = {p["symbol"]: p for p in document["assetProfiles"]}
    assert profiles["GF_KRX_278990"] == {
        "currency": "KRW",
        "dataSource": "MANUAL",
        "name": "코넥스종목",
        "symbol": "GF_KRX_278990",
    }
    accounts, _, done = portfolio_performance(read_lines(engine))
    tickers = {row["Security Name"]: row["Ticker Symbol"] for row in csv.DictReader(io.StringIO(accounts))}
    assert (tickers["에코프로비엠"], tickers["KODEX 200"], tickers["코넥스종목"]) == ("247540.KQ", "069500.KS", "")
    notes = list(summary(done))
    assert "1 ETF code(s) (069500): written as CODE.KS, as Yahoo quotes KRX's ETFs." in notes
    assert any(n.startswith("1 KONEX code(s) (278990): Yahoo quotes none") for n in notes)
    assert any(n.startswith("2 code(s) not in instruments (000660, 035720): written as CODE.KS.") for n in notes)


def test_a_ghostfolio_trade_whose_line_has_no_unit_price_is_priced_from_its_amount(
    engine: Engine, tmp_path: Path
) -> None:
    """kt00015's trde_unit blank on a buy and a sale: Ghostfolio values a trade at quantity × unitPrice, so the price is
    the line's amount over its quantity (803,000 / 10 = 80,300; 410,001 / 3 = 136,667), never 0 — a buy at 0 would
    put the shares in the portfolio for nothing and show the whole holding as profit."""
    lines = [
        trade(1, "장내매수", 803_000, "10", "", cmsn="120"),
        trade(2, "장내매도", 410_001, "3", "", cmsn="61", trde_agri_tax="738"),
    ]
    load(engine, tmp_path, [], lines)
    document = json.loads(ghostfolio(read_lines(engine))[0])
    prices = {a["type"]: (a["quantity"], a["unitPrice"], a["fee"]) for a in document["activities"]}
    assert prices["BUY"] == (10, 80_300, 120)
    assert prices["SELL"][0] == 3 and prices["SELL"][2] == 61 + 738
    assert prices["SELL"][1] * 3 == pytest.approx(410_001, abs=1e-6)
