"""realized_pnl against hand-computed books on both backends (an opening snapshot on KRX and NXT, a sale on the anchor
day, buys, a transfer valued at the day's close, one unvalued, a transfer out, a sale of more than is held, a half-won
rounding, a cost past BIGINT × shares), and against a plain Decimal model over generated trades on SQLite."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from etl.apis.realized import REALIZED
from etl.kiwoom.pages import Page, parse_json_object
from etl.read.status import Disagreements, ledger_statuses
from etl.read.views import POSITION_PNL, REALIZED_CHECKS, REALIZED_PNL
from etl.store.engine import make_engine, transaction
from etl.store.runs import start_run
from tests.support import kiwoom_etl
from tests.support.books import Book, Line
from tests.support.schema import migrated
from tests.support.story import ACCOUNT, at, ledger_line, load

D1, D2, D3, D4, D5, D6 = (date(2026, 11, d) for d in (2, 3, 4, 5, 6, 9))
OTHER = "5000002222"  # an account without a snapshot: its walk starts from nothing
SAMSUNG, KAKAO, HYNIX, HYUNDAI, CELLTRION, YUHAN = (
    ("005930", "삼성전자"),
    ("035720", "카카오"),
    ("000660", "SK하이닉스"),
    ("005380", "현대차"),
    ("068270", "셀트리온"),
    ("000100", "유한양행"),
)


def trade(
    stock: tuple[str, str], done: date, number: int, remark: str, quantity: int, amount: int, **extra: str
) -> dict[str, str]:
    """A buy or sell line done on `done`, booked two days later."""
    code, name = stock
    return ledger_line(
        done + timedelta(days=2),
        number,
        remark,
        amount,
        stk_cd="A" + code,
        stk_nm=name,
        trde_qty_jwa_cnt=str(quantity),
        cntr_dt=f"{done:%Y%m%d}",
        **extra,
    )


def transfer(stock: tuple[str, str], day: date, number: int, remark: str, quantity: int) -> dict[str, str]:
    """A transfer booked on `day` without an amount."""
    code, name = stock
    return ledger_line(day, number, remark, 0, stk_cd="A" + code, stk_nm=name, trde_qty_jwa_cnt=str(quantity))


def krx_and_nxt(day: date, lines: tuple[Line, ...]) -> list[Book]:
    """The day's KRX close and NXT's, the same holdings (NXT 1 % cheaper): summing them would double every figure."""
    nxt = tuple(
        Line(x.code, x.name, x.quantity, x.price * 99 // 100, x.cost, x.credit_type, x.loan_date) for x in lines
    )
    return [Book(ACCOUNT, "KRX", at(day), lines), Book(ACCOUNT, "NXT", at(day) + timedelta(hours=4), nxt)]


BOOKS = [
    # The anchor: 삼성전자 10 + 2 on credit (cost 700,000 + 150,000), 카카오 1 + 1 (cost 50,000 + 50,001).
    *krx_and_nxt(
        D1,
        (
            Line(*SAMSUNG, 10, 80000, 70000),
            Line(*SAMSUNG, 2, 80000, 75000, credit_type="03", loan_date="20261030"),
            Line(*KAKAO, 1, 40000, 50000),
            Line(*KAKAO, 1, 40000, 50001, credit_type="03", loan_date="20261030"),
        ),
    ),
    # D2's close prices SK하이닉스, transferred in that day without an amount, at 150,000 on KRX (NXT 148,500).
    *krx_and_nxt(D2, (Line(*SAMSUNG, 18, 81000, 77222), Line(*HYNIX, 10, 150000, 150000))),
]

# Numbered across the ledger: a booking day's numbers must differ (they are its natural key).
LEDGER = [
    trade(SAMSUNG, D1, 1, "장내매도", 2, 160_000),  # done on the anchor day: in its snapshot, no row
    trade(SAMSUNG, D2, 2, "장내매수", 6, 540_000, cmsn="81"),  # 18 shares, cost 1,390,000
    trade(KAKAO, D2, 3, "장내매도", 1, 45_000, cmsn="6", trde_agri_tax="81"),
    transfer(HYNIX, D2, 4, "대체입고", 10),  # valued 10 × 150,000 (KRX's close)
    trade(SAMSUNG, D3, 5, "장내매도", 5, 500_000, cmsn="75", trde_agri_tax="900"),
    trade(KAKAO, D3, 6, "장내매도", 1, 46_000, cmsn="6", trde_agri_tax="82"),
    trade(HYNIX, D3, 7, "장내매수", 5, 800_000, cmsn="120"),  # 15 shares, cost 2,300,000
    trade(CELLTRION, D3, 8, "장내매도", 5, 900_000),  # nothing held: no cost, and the stock starts again
    transfer(SAMSUNG, D4, 9, "대체출고", 3),  # 3 of 13 at the average cost: 231,667 of 1,003,889
    transfer(HYUNDAI, D4, 10, "대체입고", 2),  # no snapshot on D4: unvalued, the cost is unknown
    trade(HYNIX, D4, 11, "장내매도", 4, 680_000, cmsn="102", trde_agri_tax="1224"),
    trade(CELLTRION, D4, 12, "장내매수", 2, 300_000),
    trade(SAMSUNG, D5, 13, "장내매도", 10, 900_000, cmsn="135", trde_agri_tax="1620"),  # the last 10: 772,222
    trade(HYUNDAI, D5, 14, "장내매도", 1, 200_000),
    trade(HYUNDAI, D5, 15, "장내매도", 1, 205_000),  # sold out: known again from nothing
    trade(HYUNDAI, D5, 16, "장내매수", 1, 210_000),
    trade(CELLTRION, D5, 17, "장내매도", 2, 320_000),
    trade(HYUNDAI, D6, 18, "장내매도", 1, 220_000),
    # Not shares: position_pnl's dividends, fees and taxes.
    ledger_line(D6, 19, "배당금입금", 100_000, stk_cd="A005930", stk_nm="삼성전자", incm_resi_tax="15400"),
    ledger_line(D6, 20, "기타수수료", 1_000, stk_cd="A005930", stk_nm="삼성전자"),
]

OTHER_LEDGER = [
    trade(SAMSUNG, D2, 1, "장내매수", 1, 70_000),
    trade(SAMSUNG, D3, 1, "장내매도", 1, 71_000, cmsn="10", trde_agri_tax="127"),
    # cost × shares sold is 2.7e22, past BIGINT: the view never forms that product.
    trade(YUHAN, D2, 2, "장내매수", 3_000_000, 9_000_000_000_000_001),
    trade(YUHAN, D3, 2, "장내매도", 2_999_999, 9_000_000_000_000_000),
]


def row(
    account: str, day: date, stock: tuple[str, str], quantity: int, sold: int, cost: int | None, fees: int, tax: int
) -> dict[str, Any]:
    """A realized_pnl row; the average cost is the one each expected row states beside it."""
    return {
        "account_no": account,
        "trade_date": day,
        "stock_code": stock[0],
        "stock_name": stock[1],
        "quantity": quantity,
        "sell_amount": sold,
        "cost_basis": cost,
        "commission": fees,
        "tax": tax,
        "realized_pnl": None if cost is None else sold - cost - fees - tax,
    }


# By hand, in the order of the ledger above (average_cost after each: cost / shares before the sale, to 4 places).
EXPECTED = [
    (row(ACCOUNT, D2, KAKAO, 1, 45_000, 50_001, 6, 81), "50000.5000"),  # 100,001 / 2 = 50,000.5, half up
    (row(ACCOUNT, D3, SAMSUNG, 5, 500_000, 386_111, 75, 900), "77222.2222"),  # 1,390,000 × 5 / 18 = 386,111.1
    (row(ACCOUNT, D3, KAKAO, 1, 46_000, 50_000, 6, 82), "50000.0000"),  # the last share: the remainder
    (row(ACCOUNT, D3, CELLTRION, 5, 900_000, None, 0, 0), None),
    (row(ACCOUNT, D4, HYNIX, 4, 680_000, 613_333, 102, 1224), "153333.3333"),  # 2,300,000 × 4 / 15
    (row(ACCOUNT, D5, SAMSUNG, 10, 900_000, 772_222, 135, 1620), "77222.2000"),  # 1,003,889 − 231,667
    (row(ACCOUNT, D5, HYUNDAI, 1, 200_000, None, 0, 0), None),
    (row(ACCOUNT, D5, HYUNDAI, 1, 205_000, None, 0, 0), None),
    (row(ACCOUNT, D5, CELLTRION, 2, 320_000, 300_000, 0, 0), "150000.0000"),
    (row(ACCOUNT, D6, HYUNDAI, 1, 220_000, 210_000, 0, 0), "210000.0000"),
    (row(OTHER, D3, SAMSUNG, 1, 71_000, 70_000, 10, 127), "70000.0000"),
    # 9,000,000,000,000,001 × 2,999,999 / 3,000,000 = 8,999,997,000,000,000.99…: half up
    (row(OTHER, D3, YUHAN, 2_999_999, 9_000_000_000_000_000, 8_999_997_000_000_001, 0, 0), "3000000000.0000"),
]


def realized(engine: Engine) -> list[dict[str, Any]]:
    view = REALIZED_PNL.table()
    with engine.connect() as connection:
        rows = connection.execute(select(view))
        return [dict(r._mapping) for r in rows]


def ordered(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: (r["account_no"], r["trade_date"], r["stock_code"], r["sell_amount"]))


def test_realized_pnl_is_the_hand_computed_moving_average(engine: Engine, tmp_path: Path) -> None:
    load(engine, tmp_path / "a", BOOKS, LEDGER)
    load(engine, tmp_path / "b", [], OTHER_LEDGER, account=OTHER)
    expected = [r | {"average_cost": None if a is None else Decimal(a)} for r, a in EXPECTED]
    got = realized(engine)
    assert len({r.pop("transaction_id") for r in got}) == len(got)  # each a sell line of its own
    assert ordered(got) == ordered(expected)
    assert all(isinstance(r["average_cost"], Decimal | None) for r in got)  # never a float
    # Every cost paid for 카카오 is in its sales' cost_basis, to the won.
    assert sum(r["cost_basis"] for r in got if r["stock_code"] == KAKAO[0]) == 100_001


# --- The view against a plain model, over generated trades of one stock (SQLite) ---


@dataclass(frozen=True)
class Move:
    kind: str  # buy, sell, securities_in, securities_out
    day: int  # days after the anchor, 1 or more
    quantity: int
    amount: int  # a buy's or sale's trade_amount, a transfer in's value
    commission: int = 0
    tax: int = 0


def model(opening: tuple[int, int] | None, moves: list[Move]) -> list[tuple[int, int | None, Decimal | None]]:
    """(quantity, cost_basis, average_cost) of each sale by the convention, in Decimal: the reference the view is
    held to."""
    held, cost = opening or (0, 0)
    out = []
    for move in moves:
        if move.kind in ("buy", "securities_in"):
            held, cost = held + move.quantity, cost + move.amount
            continue
        covered = 0 < move.quantity <= held
        taken = (Decimal(cost) * move.quantity / held).quantize(Decimal(1), ROUND_HALF_UP) if covered else None
        if move.kind == "sell":
            average = (Decimal(cost) / held).quantize(Decimal("0.0001"), ROUND_HALF_UP) if covered else None
            out.append((move.quantity, None if taken is None else int(taken), average))
        held, cost = (held - move.quantity, cost - int(taken or 0)) if covered else (0, 0)
        if held == 0:
            cost = 0
    return out


_moves = st.lists(
    st.builds(
        Move,
        kind=st.sampled_from(["buy", "buy", "sell", "sell", "securities_in", "securities_out"]),
        day=st.integers(min_value=1, max_value=6),
        quantity=st.integers(min_value=1, max_value=400),
        amount=st.integers(min_value=1, max_value=10**10),
        commission=st.integers(min_value=0, max_value=5000),
        tax=st.integers(min_value=0, max_value=5000),
    ),
    max_size=12,
)
_accounts = itertools.count(1)


@pytest.fixture(scope="module")
def sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """One migrated SQLite database for every generated example: each takes an account of its own."""
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('model') / 'kiwoom_etl.db'}")
    migrated(engine)
    yield engine
    engine.dispose()


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    opening=st.none() | st.tuples(st.integers(min_value=1, max_value=300), st.integers(min_value=1, max_value=10**9)),
    moves=_moves,
)
def test_realized_pnl_agrees_with_a_decimal_model(
    sqlite_engine: Engine, tmp_path: Path, opening: tuple[int, int] | None, moves: list[Move]
) -> None:
    account = f"60000{next(_accounts):05d}"
    moves = sorted(moves, key=lambda m: m.day)  # the order the view walks: by day, then by number
    books = []
    if opening is not None:
        quantity, cost = opening
        # One line of `cost` per share, and the rest on a second line, so that any whole cost can be the opening's.
        per_share, rest = divmod(cost, quantity)
        lines = [Line(*SAMSUNG, quantity - 1, 1000, per_share)] if quantity > 1 else []
        books = [Book(account, "KRX", at(D1), (*lines, Line(*SAMSUNG, 1, 1000, per_share + rest)))]
    lines = []
    for number, move in enumerate(moves, start=1):
        day = D1 + timedelta(days=move.day)
        kind = {"buy": "장내매수", "sell": "장내매도", "securities_in": "대체입고", "securities_out": "대체출고"}
        extra = {"cntr_dt": f"{day:%Y%m%d}"} if move.kind in ("buy", "sell") else {}
        lines.append(
            ledger_line(
                day,
                number,
                kind[move.kind],
                move.amount,
                stk_cd="A" + SAMSUNG[0],
                stk_nm=SAMSUNG[1],
                trde_qty_jwa_cnt=str(move.quantity),
                cmsn=str(move.commission),
                trde_agri_tax=str(move.tax),
                **extra,
            )
        )
    load(sqlite_engine, tmp_path / account, books, lines, account=account)
    got = [r for r in realized(sqlite_engine) if r["account_no"] == account]
    got.sort(key=lambda r: r["transaction_id"])  # the lines' order: the moves' order
    sales = [m for m in moves if m.kind == "sell"]
    assert [(r["quantity"], r["cost_basis"], r["average_cost"]) for r in got] == model(opening, moves)
    assert [r["realized_pnl"] for r in got] == [
        None if r["cost_basis"] is None else m.amount - r["cost_basis"] - m.commission - m.tax
        for r, m in zip(got, sales, strict=True)
    ]


def pnl(stock: tuple[str, str], realized: int, unrealized: int, dividends: int, fees: int, taxes: int, unpriced: int):
    return {
        "stock_code": stock[0],
        "stock_name": stock[1],
        "realized_pnl": realized,
        "unrealized_pnl": unrealized,
        "dividends": dividends,
        "fees": fees,
        "taxes": taxes,
        "total_pnl": realized + unrealized + dividends - fees - taxes,
        "unpriced_sales": unpriced,
    }


def test_position_pnl_adds_each_stock_s_parts_without_counting_a_sale_s_fees_twice(
    engine: Engine, tmp_path: Path
) -> None:
    load(engine, tmp_path / "a", BOOKS, LEDGER)
    load(engine, tmp_path / "b", [], OTHER_LEDGER, account=OTHER)
    view = POSITION_PNL.table()
    with engine.connect() as connection:
        got = {(r.account_no, r.stock_code): dict(r._mapping) for r in connection.execute(select(view))}
    expected = {
        # 112,914 + 126,023 realised; KRX's latest close (D2): 18 × (81,000 − 77,222) = 68,004, not NXT's; the
        # buy's commission 81 and the fee line's 1,000; the dividend's 15,400 withheld. The sales' own commissions
        # and taxes are inside realized_pnl, not in fees and taxes.
        (ACCOUNT, SAMSUNG[0]): pnl(SAMSUNG, 238_937, 68_004, 100_000, 1_081, 15_400, 0),
        (ACCOUNT, KAKAO[0]): pnl(KAKAO, -9_176, 0, 0, 0, 0, 0),  # sold out: nothing unrealised
        (ACCOUNT, HYNIX[0]): pnl(HYNIX, 65_341, 0, 0, 120, 0, 0),
        (ACCOUNT, CELLTRION[0]): pnl(CELLTRION, 20_000, 0, 0, 0, 0, 1),
        (ACCOUNT, HYUNDAI[0]): pnl(HYUNDAI, 10_000, 0, 0, 0, 0, 2),
        (OTHER, SAMSUNG[0]): pnl(SAMSUNG, 863, 0, 0, 0, 0, 0),
        (OTHER, YUHAN[0]): pnl(YUHAN, 2_999_999_999, 0, 0, 0, 0, 0),
    }
    assert got == {key: {"account_no": key[0], **row} for key, row in expected.items()}


def test_one_account_s_rows_are_its_rows_of_the_whole_views(engine: Engine, tmp_path: Path) -> None:
    """A filter on account_no reaches realized_sales' key and position_pnl's tables (benchmarks/bench_views.py times
    it): it changes which rows are read, never what they say."""
    load(engine, tmp_path / "a", BOOKS, LEDGER)
    load(engine, tmp_path / "b", [], OTHER_LEDGER, account=OTHER)
    for view in (REALIZED_PNL.table(), POSITION_PNL.table()):
        with engine.connect() as connection:
            every = [dict(r._mapping) for r in connection.execute(select(view))]
            for account in (ACCOUNT, OTHER):
                one = [dict(r._mapping) for r in connection.execute(select(view).where(view.c.account_no == account))]
                mine = [r for r in every if r["account_no"] == account]
                assert one and sorted(one, key=repr) == sorted(mine, key=repr)


def kiwoom_days(engine: Engine, lines: list[dict[str, str]]) -> None:
    """ka10074's answer with `lines`, through its normaliser and load, as a run of the account's."""
    now = datetime(2026, 11, 10, 9, tzinfo=UTC)
    run = start_run(engine, trigger="manual", started_at=now, account_no=ACCOUNT, exchange=None, api_id="ka10074")
    text = json.dumps({"dt_rlzt_pl": lines, "return_code": 0, "return_msg": "OK"})
    page = Page("ka10074", 0, now, 200, text, parse_json_object(text))
    with transaction(engine, "test") as connection:
        REALIZED.load(connection, REALIZED.read(page, ACCOUNT, 0).rows, run.id)


def kiwoom_day(day: date, buy: int, sell: int, profit: str, commission: int, tax: int) -> dict[str, str]:
    return {
        "dt": f"{day:%Y%m%d}",
        "buy_amt": str(buy),
        "sell_amt": str(sell),
        "tdy_sel_pl": profit,
        "tdy_trde_cmsn": str(commission),
        "tdy_trde_tax": str(tax),
    }


def test_realized_checks_name_each_figure_that_differs_and_compare_the_profit_apart(
    engine: Engine, tmp_path: Path
) -> None:
    load(engine, tmp_path, BOOKS, LEDGER)
    kiwoom_days(
        engine,
        [
            kiwoom_day(D2, 540_000, 45_000, "-4999.50", 87, 81),  # its own cost: the profit differs, not an error
            kiwoom_day(D3, 800_000, 1_446_000, "100000", 201, 982),  # a sale of the day has no cost here
            kiwoom_day(D4, 300_000, 680_000, "65341", 100, 1224),  # the ledger says 102 of commission
        ],
    )
    view = REALIZED_CHECKS.table()
    with engine.connect() as connection:
        got = {r.trade_date: r for r in connection.execute(select(view).where(view.c.account_no == ACCOUNT))}
    assert sorted(got) == [D2, D3, D4]
    d2, d3, d4 = got[D2], got[D3], got[D4]
    assert (d2.ledger_buy_amount, d2.ledger_sell_amount, d2.ledger_commission, d2.ledger_tax) == (
        540_000,
        45_000,
        87,
        81,
    )
    assert (d2.result, d2.mismatches) == ("agrees", None)
    assert (d2.realized_pnl, d2.computed_realized_pnl, d2.realized_pnl_result) == (
        Decimal("-4999.50"),
        -5_088,
        "differs",
    )
    assert (d3.ledger_sell_amount, d3.ledger_commission, d3.ledger_tax, d3.result) == (1_446_000, 201, 982, "agrees")
    assert d3.realized_pnl_result == "unknown"  # 셀트리온's sale that day has no cost_basis
    assert (d4.result, d4.mismatches, d4.commission, d4.ledger_commission) == ("disagrees", "commission", 100, 102)
    assert (d4.computed_realized_pnl, d4.realized_pnl_result) == (65_341, "same")
    assert isinstance(d3.captured_at, datetime) and d3.captured_at.tzinfo is not None


def test_status_flags_the_days_kiwoom_s_realised_figures_disagree_with_the_ledger(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    load(engine, tmp_path, BOOKS, LEDGER)
    (before,) = [s for s in ledger_statuses(engine) if s.account_no == ACCOUNT]
    assert before.realized_disagreements is None  # no ka10074 figures: nothing to hold
    kiwoom_days(
        engine,
        [
            kiwoom_day(D2, 540_000, 45_000, "-4999.50", 87, 81),  # agrees (its profit differs: not a disagreement)
            kiwoom_day(D4, 300_000, 680_000, "65341", 100, 1224),  # the ledger says 102 of commission
        ],
    )
    (status,) = [s for s in ledger_statuses(engine) if s.account_no == ACCOUNT]
    assert status.realized_disagreements == Disagreements(1, D4, "commission")
    shown = kiwoom_etl("status", "--database-url", db_url, env={"KIWOOM_ETL_STATE_DIR": str(tmp_path / "s")})
    assert (
        f"{ACCOUNT}: on 1 day(s) Kiwoom's realised figures (ka10074) disagree with the ledger, newest {D4}"
        " (commission): see the view realized_checks." in shown.stdout
    ), shown.stdout + shown.stderr


def test_a_buy_done_on_nxt_after_the_krx_close_of_the_anchor_day_is_in_the_opening_holdings(
    engine: Engine, tmp_path: Path
) -> None:
    """NXT trades until 20:00. On the account's first day KRX's close (15:40) holds 10 삼성전자 (cost 700,000); 5 more
    are bought on NXT at 17:00 (400,000) and NXT's close (19:40) holds 15 (cost 1,100,000). The buy is done on the
    anchor day, so the walk leaves it to the snapshot: the opening holdings must be the day's last close, else the 5
    shares are in neither and the sale of all 15 the next day has no cost."""
    day_one = [
        Book(ACCOUNT, "KRX", at(D1), (Line(*SAMSUNG, 10, 80000, 70000),)),
        Book(ACCOUNT, "NXT", at(D1) + timedelta(hours=4), (Line(*SAMSUNG, 15, 79500, 73333),)),
    ]
    # NXT's 매입금액: 15 × 73,333 = 1,099,995 (the book's lines carry a whole cost per share).
    ledger = [
        trade(SAMSUNG, D1, 1, "장내매수", 5, 400_000),
        trade(SAMSUNG, D2, 2, "장내매도", 15, 1_230_000, cmsn="184", trde_agri_tax="2214"),
    ]
    load(engine, tmp_path, day_one, ledger)
    (sale,) = realized(engine)
    assert (sale["quantity"], sale["cost_basis"]) == (15, 15 * 73_333)
    assert sale["realized_pnl"] == 1_230_000 - 15 * 73_333 - 184 - 2214
