"""A made-up history as a test writes it: the books (what each snapshot holds, chosen by the test), the kt00005
pages that say so, loaded through the real import path, and the answers the analyst views must give, computed
here in plain Python from the books — never by running a view's SQL.

`week()` is the history the view, report, export and BI tests share: two accounts, KRX and NXT, several snapshots
a day, a skipped day, a weekend day, a stock with a cash and a credit line, buys, sells, a stock closed and opened
again, a stock listed with quantity 0, a two-page snapshot, two snapshots at the same moment, a snapshot before
09:00 KST (the previous day in UTC), a refused snapshot, and NULLs where the contract counts them as 0.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, text

from etl.jobs.replay import import_pages
from etl.read.views import VIEWS

KST = timezone(timedelta(hours=9))
BAD_VALUE = "00000001753X"  # what a refused snapshot carries in `entr`


def _amount(value: int | None) -> str:
    if value is None:
        return ""
    return ("-" if value < 0 else "") + str(abs(value)).zfill(12 if value >= 0 else 11)


@dataclass(frozen=True)
class Line:
    """One line of stk_cntr_remn as the test chose it."""

    code: str | None  # None: the line has no stk_cd (NULL); "": an empty stk_cd, which is kept as ""
    name: str
    quantity: int
    price: int
    cost: int  # purchase price per share
    credit_type: str = "00"
    loan_date: str = ""
    blank: frozenset[str] = frozenset()  # of "quantity", "price", "evaluation": sent as "", so loaded as NULL

    def stored(self, name: str) -> int | None:
        """What the table holds for `name` (quantity, price or evaluation): NULL when it was sent blank."""
        return None if name in self.blank else int(getattr(self, name))

    def counted(self, name: str) -> int:
        """`name` as a sum counts it: a NULL counts as 0."""
        return self.stored(name) or 0

    @property
    def purchase(self) -> int:
        return self.quantity * self.cost

    @property
    def evaluation(self) -> int:
        return self.quantity * self.price

    @property
    def profit(self) -> int:
        return self.evaluation - self.purchase

    def raw(self) -> dict[str, str]:
        rate = Decimal(0) if not self.purchase else Decimal(self.profit * 100) / self.purchase
        raw = {
            "crd_tp": self.credit_type,
            "loan_dt": self.loan_date,
            "expr_dt": "",
            "stk_cd": "A" + self.code if self.code else "",
            "stk_nm": self.name,
            "setl_remn": _amount(self.quantity),
            "cur_qty": _amount(self.stored("quantity")),
            "cur_prc": _amount(self.stored("price")),
            "buy_uv": _amount(self.cost),
            "pur_amt": _amount(self.purchase),
            "evlt_amt": _amount(self.stored("evaluation")),
            "evltv_prft": _amount(self.profit),
            "pl_rt": str(rate.quantize(Decimal("0.0001"), ROUND_HALF_UP)),
        }
        if self.code is None:
            del raw["stk_cd"]  # a missing field is NULL
        return raw


@dataclass(frozen=True)
class Book:
    """One snapshot as the test wrote it: an account × exchange at a moment, its cash, loans and lines."""

    account_no: str
    exchange: str
    at: datetime
    lines: tuple[Line, ...]
    deposit_d2: int | None = 5_000_000
    credit_loan: int | None = 0
    unpaid_interest: int | None = 0
    pages: int = 1
    refused: bool = False

    @property
    def trade_date(self) -> date:
        return self.at.astimezone(KST).date()

    @property
    def time(self) -> str:
        return f"{self.at.astimezone(UTC):%Y-%m-%dT%H:%M:%S.%f}Z"

    @property
    def total_evaluation(self) -> int:
        return sum(line.counted("evaluation") for line in self.lines)

    @property
    def total_purchase(self) -> int:
        return sum(line.purchase for line in self.lines)

    @property
    def total_profit(self) -> int:
        return self.total_evaluation - self.total_purchase

    @property
    def rate(self) -> Decimal:
        if not self.total_purchase:
            return Decimal("0.0000")
        return (Decimal(self.total_profit * 100) / self.total_purchase).quantize(Decimal("0.0001"), ROUND_HALF_UP)

    @property
    def gross_assets(self) -> int:
        return (self.deposit_d2 or 0) + self.total_evaluation

    @property
    def net_assets(self) -> int:
        return self.gross_assets - (self.credit_loan or 0) - (self.unpaid_interest or 0)

    def page_texts(self) -> list[str]:
        """The kt00005 answers that say this book, its lines spread over `pages` pages."""
        summary = {
            "entr": BAD_VALUE if self.refused else _amount(self.deposit_d2),
            "entr_d2": _amount(self.deposit_d2),
            "stk_buy_tot_amt": _amount(self.total_purchase),
            "evlt_amt_tot": _amount(self.total_evaluation),
            "tot_pl_tot": _amount(self.total_profit),
            "tot_pl_rt": str(self.rate),
            "crd_loan_tot": _amount(self.credit_loan),
            "crd_int_npay_gold": _amount(self.unpaid_interest),
        }
        size = max(1, -(-len(self.lines) // self.pages))
        chunks = [self.lines[n : n + size] for n in range(0, len(self.lines), size)] or [()]
        return [
            json.dumps(
                summary | {"stk_cntr_remn": [line.raw() for line in chunk], "return_code": 0, "return_msg": "OK"},
                ensure_ascii=False,
            )
            for chunk in chunks
        ]


def import_books(engine: Engine, books: Iterable[Book], folder: Path) -> None:
    """Each book's pages through `import_pages`, one snapshot a book, into a database that may hold others."""
    folder.mkdir(parents=True, exist_ok=True)
    for index, book in enumerate(books):
        files = []
        for n, page in enumerate(book.page_texts()):
            path = folder / f"book{index}-page{n}.json"
            path.write_text(page, encoding="utf-8")
            files.append(path)
        finished = book.at + timedelta(seconds=1)
        import_pages(
            engine,
            files,
            account_no=book.account_no,
            exchange=book.exchange,
            captured_at=book.at,
            clock=lambda finished=finished: finished,
        )


@dataclass(frozen=True)
class Stock:
    """A stock's lines at one snapshot, summed (cash and credit lines together)."""

    code: str | None
    name: str
    price: int | None
    lines: int
    quantity: int
    purchase: int
    evaluation: int
    profit: int


def stocks(book: Book) -> dict[str | None, Stock]:
    """The book's lines summed per stock code, name and price from the stock's first line, in line order."""
    out: dict[str | None, Stock] = {}
    for line in book.lines:
        old = out.get(line.code)
        if old is None:
            out[line.code] = Stock(
                line.code,
                line.name,
                line.stored("price"),
                1,
                line.counted("quantity"),
                line.purchase,
                line.counted("evaluation"),
                line.profit,
            )
        else:
            out[line.code] = Stock(
                old.code,
                old.name,
                old.price,
                old.lines + 1,
                old.quantity + line.counted("quantity"),
                old.purchase + line.purchase,
                old.evaluation + line.counted("evaluation"),
                old.profit + line.profit,
            )
    return out


def hundredths(part: int, whole: int) -> Decimal:
    """100 × part / whole to the hundredth, half away from zero (as a page shows a weight or a rate)."""
    return (Decimal(part * 100) / Decimal(whole)).quantize(Decimal("0.01"), ROUND_HALF_UP)


def weight(part: int, whole: int) -> float | None:
    return None if whole == 0 else part * 100 / whole


@dataclass
class History:
    """Books in the order they are loaded; after `load`, each loaded book's snapshot id."""

    books: list[Book]
    ids: dict[int, int] = field(default_factory=dict)  # index in books → account_snapshots.id

    def load(self, engine: Engine, folder: Path) -> None:
        """Load every book through the import path (an imported run starts when its pages were captured)."""
        import_books(engine, self.books, folder)
        self.read_ids(engine)

    def read_ids(self, engine: Engine) -> None:
        """Snapshot ids in load order: each loaded (not refused) book got the next one."""
        with engine.connect() as connection:
            ids = connection.execute(text("SELECT id FROM account_snapshots ORDER BY id")).scalars().all()
        loaded = [index for index, book in enumerate(self.books) if not book.refused]
        assert len(ids) == len(loaded)
        self.ids = dict(zip(loaded, ids, strict=True))

    # The answers, from the books alone.

    def loaded(self) -> list[tuple[int, Book]]:
        return [(index, book) for index, book in enumerate(self.books) if not book.refused]

    def pairs(self) -> list[tuple[str, str]]:
        return sorted({(b.account_no, b.exchange) for _, b in self.loaded()})

    def closes(self) -> dict[tuple[str, str], list[tuple[date, int, Book, int]]]:
        """Per account × exchange, each day's (trade_date, snapshot id, close book, snapshots that day), by date."""
        days: dict[tuple[str, str, date], list[tuple[int, Book]]] = defaultdict(list)
        for index, book in self.loaded():
            days[(book.account_no, book.exchange, book.trade_date)].append((index, book))
        out: dict[tuple[str, str], list[tuple[date, int, Book, int]]] = defaultdict(list)
        for (account, exchange, day), books in sorted(days.items()):
            # The close: greatest captured_at, then greatest id (ids grow in load order).
            index, book = max(books, key=lambda item: (item[1].at, self.ids[item[0]]))
            out[(account, exchange)].append((day, self.ids[index], book, len(books)))
        return out

    def newest(self) -> dict[tuple[str, str], tuple[int, Book]]:
        """Per account × exchange, the newest snapshot (id, book)."""
        out: dict[tuple[str, str], tuple[int, Book]] = {}
        for index, book in self.loaded():
            key = (book.account_no, book.exchange)
            if key not in out or (book.at, self.ids[index]) > (out[key][1].at, out[key][0]):
                out[key] = (self.ids[index], book)
        return out

    def account_daily(self) -> list[dict[str, Any]]:
        rows = []
        for (account, exchange), days in sorted(self.closes().items()):
            previous: Book | None = None
            for day, snapshot_id, book, count in days:
                rows.append(
                    {
                        "account_no": account,
                        "exchange": exchange,
                        "trade_date": day,
                        "snapshot_id": snapshot_id,
                        "time": book.time,
                        "snapshots": count,
                        "deposit_d2": book.deposit_d2,
                        "total_purchase_amount": book.total_purchase,
                        "total_evaluation_amount": book.total_evaluation,
                        "total_profit_loss": book.total_profit,
                        "total_profit_loss_rate": book.rate,
                        "credit_loan_total": book.credit_loan,
                        "position_count": len(book.lines),
                        "gross_assets": book.gross_assets,
                        "net_assets": book.net_assets,
                        "net_assets_change": None if previous is None else book.net_assets - previous.net_assets,
                        "total_evaluation_amount_change": (
                            None if previous is None else book.total_evaluation - previous.total_evaluation
                        ),
                        "total_profit_loss_change": (
                            None if previous is None else book.total_profit - previous.total_profit
                        ),
                    }
                )
                previous = book
        return rows

    def position_daily(self) -> list[dict[str, Any]]:
        rows = []
        for (account, exchange), days in sorted(self.closes().items()):
            before: dict[str | None, Stock] | None = None
            for day, snapshot_id, book, _ in days:
                now = stocks(book)
                whole = sum(s.evaluation for s in now.values())
                for stock in now.values():
                    change = None
                    if before is not None:
                        change = stock.quantity - (before[stock.code].quantity if stock.code in before else 0)
                    rows.append(
                        {
                            "account_no": account,
                            "exchange": exchange,
                            "trade_date": day,
                            "snapshot_id": snapshot_id,
                            "stock_code": stock.code,
                            "stock_name": stock.name,
                            "lines": stock.lines,
                            "quantity": stock.quantity,
                            "purchase_amount": stock.purchase,
                            "evaluation_amount": stock.evaluation,
                            "profit_loss": stock.profit,
                            "current_price": stock.price,
                            "weight_pct": weight(stock.evaluation, whole),
                            "time": book.time,
                            "quantity_change": change,
                        }
                    )
                before = now
        return rows

    def position_changes(self) -> list[dict[str, Any]]:
        rows = []
        for (account, exchange), days in sorted(self.closes().items()):
            for (_, _, old, _), (day, _, book, _) in zip(days, days[1:], strict=False):
                before, now = stocks(old), stocks(book)
                for code in list(now) + [c for c in before if c not in now]:
                    was = before[code].quantity if code in before else 0
                    qty = now[code].quantity if code in now else 0
                    if qty == was:
                        continue
                    change = "opened" if was == 0 else "closed" if qty == 0 else "increased" if qty > was else "reduced"
                    rows.append(
                        {
                            "account_no": account,
                            "exchange": exchange,
                            "trade_date": day,
                            "time": book.time,
                            "stock_code": code,
                            "stock_name": (now[code] if code in now else before[code]).name,
                            "previous_quantity": was,
                            "quantity": qty,
                            "quantity_change": qty - was,
                            "change": change,
                        }
                    )
        return rows

    def account_history(self) -> list[dict[str, Any]]:
        return [
            {
                "id": self.ids[index],
                "account_no": book.account_no,
                "exchange": book.exchange,
                "trade_date": book.trade_date,
                "deposit_d2": book.deposit_d2,
                "total_evaluation_amount": book.total_evaluation,
                "total_profit_loss_rate": book.rate,
                "gross_assets": book.gross_assets,
                "net_assets": book.net_assets,
                "time": book.time,
            }
            for index, book in self.loaded()
        ]

    def latest_accounts(self) -> list[dict[str, Any]]:
        return [
            {
                "account_no": account,
                "exchange": exchange,
                "id": snapshot_id,
                "net_assets": book.net_assets,
                "gross_assets": book.gross_assets,
                "time": book.time,
            }
            for (account, exchange), (snapshot_id, book) in sorted(self.newest().items())
        ]

    def latest_positions(self) -> list[dict[str, Any]]:
        rows = []
        for (account, exchange), (snapshot_id, book) in sorted(self.newest().items()):
            whole = book.total_evaluation
            for line_no, line in enumerate(book.lines):
                rows.append(
                    {
                        "snapshot_id": snapshot_id,
                        "line_no": line_no,
                        "account_no": account,
                        "exchange": exchange,
                        "stock_code": line.code,
                        "stock_name": line.name,
                        "quantity": line.stored("quantity"),
                        "evaluation_amount": line.stored("evaluation"),
                        "credit_type": line.credit_type,
                        "time": book.time,
                        "weight_pct": weight(line.counted("evaluation"), whole),
                    }
                )
        return rows

    def closes_in(
        self, account: str, exchange: str, since: date | None = None, until: date | None = None
    ) -> list[tuple[date, int, Book, int]]:
        """closes() of one account × exchange, the trade dates from `since` to `until` only."""
        return [
            close
            for close in self.closes().get((account, exchange), [])
            if (since is None or close[0] >= since) and (until is None or close[0] <= until)
        ]

    def allocation(
        self, account: str, exchange: str, since: date | None = None, until: date | None = None
    ) -> tuple[date, list[tuple[Stock, Decimal]], int, Decimal] | None:
        """The newest close from `since` to `until`: its date, its held stocks (quantity not 0) each with its weight
        in cash + the held stocks' evaluations to the hundredth, largest evaluation first, its cash (deposit D+2) and
        the cash's weight."""
        closes = self.closes_in(account, exchange, since, until)
        if not closes:
            return None
        day, _, book, _ = closes[-1]
        summed = stocks(book)
        held = sorted((s for s in summed.values() if s.quantity), key=lambda s: (-s.evaluation, s.code or ""))
        cash = book.deposit_d2 or 0
        whole = cash + sum(s.evaluation for s in held)
        return day, [(s, hundredths(s.evaluation, whole)) for s in held], cash, hundredths(cash, whole)

    def ledger_checks(self) -> list[dict[str, Any]]:
        """ledger_checks from the books: they hold no day totals (kt00017), so none."""
        return []

    def account_flows_daily(self) -> list[dict[str, Any]]:
        """account_flows_daily from the books: they hold no ledger, so none."""
        return []

    def no_ledger(self) -> list[dict[str, Any]]:
        """realized_pnl, realized_checks, dividends, dividends_monthly and execution_checks from the books: they hold
        no ledger (no sale, no dividend), no ka10074 figures and no fills, so none."""
        return []

    def no_index(self) -> list[dict[str, Any]]:
        """account_benchmark_daily from the books: they collect no index (index_daily is empty), so none."""
        return []

    def position_pnl(self) -> list[dict[str, Any]]:
        """position_pnl from the books: no ledger, so each stock of an account's latest close (KRX's, else NXT's)
        with its unrealised profit only; a line without a code is no stock."""
        closes = self.closes()
        rows = []
        for account in sorted({account for account, _ in closes}):
            days = closes.get((account, "KRX")) or closes[(account, "NXT")]
            book = days[-1][2]
            for code, stock in stocks(book).items():
                if not code:
                    continue
                name = min(line.name for line in book.lines if line.code == code)
                profit = stock.profit
                rows.append(
                    {
                        "account_no": account,
                        "stock_code": code,
                        "stock_name": name,
                        "realized_pnl": 0,
                        "unrealized_pnl": profit,
                        "dividends": 0,
                        "fees": 0,
                        "taxes": 0,
                        "total_pnl": profit,
                        "unpriced_sales": 0,
                    }
                )
        return rows

    def account_returns_daily(self) -> list[dict[str, Any]]:
        """account_returns_daily from the books' closes: no ledger, so no flow, and every change is return."""
        rows = []
        pair, previous, growth, peak = None, None, 1.0, 1.0
        for close in self.account_daily():
            if (close["account_no"], close["exchange"]) != pair:
                pair, previous, growth, peak = (close["account_no"], close["exchange"]), None, 1.0, 1.0
            equity = close["net_assets"]
            daily = None if previous is None or previous <= 0 else equity / previous - 1
            growth *= 1 + (daily or 0)
            peak = max(peak, growth)
            rows.append(
                {key: close[key] for key in ("account_no", "exchange", "trade_date", "time", "net_assets")}
                | {"source": "snapshot", "collateral_loans": 0, "equity": equity, "external_flow": 0, "dividends": 0}
                | {"daily_return": daily, "twr_cumulative": growth - 1, "drawdown": growth / peak - 1}
            )
            previous = equity
        return rows

    def freshness(self) -> list[dict[str, Any]]:
        """etl_freshness from the books: each book's run started when it was captured."""
        rows = []
        for account, exchange in sorted({(b.account_no, b.exchange) for b in self.books}):
            mine = [b for b in self.books if (b.account_no, b.exchange) == (account, exchange)]
            good = [b.at for b in mine if not b.refused]
            bad = [b.at for b in mine if b.refused]
            last_success = max(good) if good else None
            rows.append(
                {
                    "account_no": account,
                    "exchange": exchange,
                    "last_captured_at": max(good) if good else None,
                    "last_success_at": last_success,
                    "last_failure_at": max(bad) if bad else None,
                    "failures_since_success": sum(1 for at in bad if last_success is None or at > last_success),
                }
            )
        return rows


def _at(day: date, clock: str) -> datetime:
    hour, minute = (int(part) for part in clock.split(":"))
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=KST)


SAMSUNG = ("005930", "삼성전자")
HYNIX = ("000660", "SK하이닉스")
KAKAO = ("035720", "카카오")
NEWCODE = ("0001A0", "덕양에너젠")


def _line(stock: tuple[str, str], quantity: int, price: int, cost: int, **credit: str) -> Line:
    return Line(stock[0], stock[1], quantity, price, cost, **credit)


def week(monday: date = date(2026, 11, 16)) -> History:
    """The shared history: Monday to the next Monday, Wednesday skipped, a Saturday snapshot of one account."""
    day = [monday + timedelta(days=n) for n in range(8)]
    credit = {"credit_type": "03", "loan_date": "20261110"}
    a, b = "5000001111", "isa"
    books = [
        # Monday: two snapshots, the first before 09:00 KST (Sunday in UTC).
        Book(a, "KRX", _at(day[0], "08:40"), (_line(SAMSUNG, 10, 70000, 65000), _line(HYNIX, 5, 180000, 150000))),
        Book(a, "KRX", _at(day[0], "15:45"), (_line(SAMSUNG, 10, 71000, 65000), _line(HYNIX, 5, 182000, 150000))),
        Book(a, "NXT", _at(day[0], "19:50"), (_line(SAMSUNG, 10, 71200, 65000),)),
        # Tuesday: three snapshots; a credit line of Samsung, Hynix reduced, Kakao opened; the close on two pages.
        Book(a, "KRX", _at(day[1], "09:30"), (_line(SAMSUNG, 10, 70500, 65000), _line(HYNIX, 5, 181000, 150000))),
        Book(a, "KRX", _at(day[1], "12:00"), (_line(SAMSUNG, 10, 70800, 65000), _line(HYNIX, 3, 181500, 150000))),
        Book(
            a,
            "KRX",
            _at(day[1], "15:45"),
            (
                _line(SAMSUNG, 10, 72000, 65000),
                _line(HYNIX, 2, 183000, 150000),
                _line(SAMSUNG, 4, 72000, 71000, **credit),
                _line(KAKAO, 7, 37450, 40000),
            ),
            deposit_d2=3_100_000,
            credit_loan=280_000,
            unpaid_interest=1_200,
            pages=2,
        ),
        Book(b, "KRX", _at(day[1], "15:45"), (_line(NEWCODE, 100, 12850, 12000),), deposit_d2=None, credit_loan=None),
        # Thursday (Wednesday has no snapshot): Hynix gone, the credit line repaid; a refused snapshot after the close.
        Book(
            a,
            "KRX",
            _at(day[3], "15:45"),
            (_line(SAMSUNG, 10, 69000, 65000), _line(KAKAO, 7, 38000, 40000)),
            deposit_d2=3_500_000,
        ),
        Book(a, "KRX", _at(day[3], "16:10"), (_line(SAMSUNG, 99, 1, 1),), refused=True),
        Book(a, "NXT", _at(day[3], "19:55"), (_line(SAMSUNG, 10, 69100, 65000), _line(HYNIX, 1, 170000, 170000))),
        # Friday: Hynix opened again, Kakao listed at quantity 0 (sold out that day); two snapshots at one moment.
        Book(
            a,
            "KRX",
            _at(day[4], "15:45"),
            (_line(SAMSUNG, 10, 69500, 65000), _line(KAKAO, 0, 38500, 40000), _line(HYNIX, 3, 175000, 174000)),
            deposit_d2=3_200_000,
        ),
        Book(
            a,
            "KRX",
            _at(day[4], "15:45"),
            (_line(SAMSUNG, 10, 69600, 65000), _line(KAKAO, 0, 38500, 40000), _line(HYNIX, 3, 175500, 174000)),
            deposit_d2=3_200_000,
        ),
        Book(b, "KRX", _at(day[4], "15:45"), (_line(NEWCODE, 60, 13100, 12000), Line(None, "", 0, 0, 0))),
        # Saturday: a weekend snapshot (taken with --all-hours) is a day like the others.
        Book(b, "KRX", _at(day[5], "11:00"), (_line(NEWCODE, 60, 13100, 12000),)),
        # Next Monday: the other account's NXT only fails; account a's NXT sells everything.
        Book(b, "NXT", _at(day[7], "09:10"), (), refused=True),
        Book(a, "NXT", _at(day[7], "15:45"), ()),
        Book(a, "KRX", _at(day[7], "15:45"), (_line(SAMSUNG, 12, 70100, 65500), _line(HYNIX, 3, 176000, 174000))),
    ]
    return History(books)


NXT_ONLY = "nxt-only"


def with_nxt_only_account(history: History, monday: date = date(2026, 11, 16)) -> History:
    """`history` and an account that has NXT snapshots only (on Tuesday and Thursday), loaded after it."""
    credit = {"credit_type": "03", "loan_date": "20261112"}
    tuesday, thursday = monday + timedelta(days=1), monday + timedelta(days=3)
    return History(
        [
            *history.books,
            Book(
                NXT_ONLY, "NXT", _at(tuesday, "19:50"), (_line(SAMSUNG, 3, 71500, 70000), _line(KAKAO, 5, 37500, 36000))
            ),
            Book(
                NXT_ONLY,
                "NXT",
                _at(thursday, "19:50"),
                (
                    _line(KAKAO, 5, 38100, 36000),
                    _line(SAMSUNG, 3, 69000, 70000),
                    _line(SAMSUNG, 2, 69000, 69500, **credit),
                ),
                deposit_d2=1_250_000,
                credit_loan=139_000,
            ),
        ]
    )


EDGE, EDGE_NXT = "edge", "edge-nxt"


def edges(monday: date = date(2026, 11, 16)) -> History:
    """A history of the cases the week does not hold: an empty stk_cd beside a missing one on consecutive closes,
    a stock whose lowest line has another name and price than its next, a stock whose only line has no quantity and
    one whose only line has no evaluation, a close with no lines between two with lines, a close whose every
    evaluation is NULL, a tie in captured_at with microseconds, an account with NXT only whose line without a code
    disappears, and failures after a success that followed failures."""
    day = [monday + timedelta(days=n) for n in range(4)]
    credit = {"credit_type": "03", "loan_date": "20261110"}
    empty, none = Line("", "빈코드", 5, 1000, 900), Line(None, "코드없음", 3, 2000, 2100)
    no_evaluation = frozenset({"evaluation"})
    tie = datetime(day[2].year, day[2].month, day[2].day, 6, 45, 0, 123456, tzinfo=UTC)
    books = [
        Book(
            EDGE,
            "KRX",
            _at(day[0], "15:45"),
            (
                empty,
                none,
                Line(SAMSUNG[0], "삼성전자 신용", 2, 70000, 65000, **credit),
                _line(SAMSUNG, 1, 70100, 66000),
                Line(HYNIX[0], HYNIX[1], 2, 180000, 150000, blank=frozenset({"quantity"})),
                Line(KAKAO[0], KAKAO[1], 7, 37000, 40000, blank=no_evaluation),
            ),
        ),
        Book(EDGE, "KRX", _at(day[0], "16:10"), (empty,), refused=True),
        Book(EDGE, "NXT", _at(day[0], "19:50"), (_line(SAMSUNG, 1, 70200, 66000),)),
        Book(EDGE, "KRX", _at(day[1], "15:45"), ()),
        # Wednesday: two snapshots at one moment (the second is the close), every evaluation NULL in the close.
        Book(EDGE, "KRX", tie, (Line("", "빈코드", 9, 1000, 900),)),
        Book(
            EDGE,
            "KRX",
            tie,
            (
                Line(None, "코드없음", 3, 2050, 2100, blank=no_evaluation),
                Line("", "빈코드", 4, 1010, 900, blank=no_evaluation),
                Line(KAKAO[0], KAKAO[1], 0, 37500, 40000, blank=frozenset({"quantity", "price", "evaluation"})),
            ),
        ),
        Book(EDGE, "NXT", _at(day[2], "19:50"), (_line(SAMSUNG, 3, 70300, 66000),)),
        Book(
            EDGE, "KRX", _at(day[3], "15:45"), (Line(None, "코드없음", 3, 2100, 2100), Line("", "빈코드", 6, 1020, 900))
        ),
        Book(EDGE, "KRX", _at(day[3], "16:10"), (empty,), refused=True),
        Book(EDGE, "KRX", _at(day[3], "16:20"), (none,), refused=True),
        # An account with NXT only: its line without a code is gone on Wednesday, the empty code stays.
        Book(
            EDGE_NXT,
            "NXT",
            _at(day[0], "19:50"),
            (Line(None, "코드없음", 1, 2000, 2100), Line("", "빈코드", 2, 1000, 900)),
        ),
        Book(EDGE_NXT, "NXT", _at(day[2], "19:50"), (Line("", "다른이름", 2, 1010, 900, blank=no_evaluation),)),
    ]
    return History(books)


def rows_as_dicts(result: Iterable[Any]) -> list[dict[str, Any]]:
    return [dict(row._mapping) for row in result]


# Reading the views and comparing them with the books (shared by the view, scaling and BI tests).


VIEW = {view.name: view for view in VIEWS}


def read(engine: Engine, name: str, keys: list[str], order: list[str]) -> list[dict[str, Any]]:
    """The view's rows through its typed selectable (dates, Decimals, aware times on both backends)."""
    view = VIEW[name].table()
    query = select(*(view.c[key] for key in keys)).order_by(*(view.c[key] for key in order))
    with engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(query)]


def as_read(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Expected rows as the typed selectable returns them: `time` an aware datetime."""
    return [row | ({"time": datetime.fromisoformat(row["time"])} if "time" in row else {}) for row in rows]


def assert_rows(got: list[dict[str, Any]], expected: list[dict[str, Any]]) -> None:
    assert len(got) == len(expected)
    for mine, theirs in zip(got, expected, strict=True):
        for key, value in theirs.items():
            if isinstance(value, float):
                assert mine[key] == pytest.approx(value, rel=1e-12), key
            else:
                assert mine[key] == value, (key, mine, theirs)
                assert type(mine[key]) is type(value), (key, mine[key], value)


def row_key(keys: list[str]) -> Any:
    """Rows in order of `keys`, a NULL stock_code apart from (and before) an empty one."""
    return lambda r: tuple((r[k] is not None, r[k] or "") if k == "stock_code" else r[k] for k in keys)


def assert_view(engine: Engine, name: str, expected: list[dict[str, Any]], keys: list[str]) -> None:
    """The view's rows are the expected ones, both sorted by `keys`."""
    got = read(engine, name, list(expected[0]) if expected else keys, keys)
    assert_rows(sorted(got, key=row_key(keys)), sorted(as_read(expected), key=row_key(keys)))


# Each view, the books' answer for it, and the columns that order its rows.
EVERY_VIEW = [
    ("account_history", History.account_history, ["id"]),
    ("latest_accounts", History.latest_accounts, ["account_no", "exchange"]),
    ("latest_positions", History.latest_positions, ["account_no", "exchange", "line_no"]),
    ("account_daily", History.account_daily, ["account_no", "exchange", "trade_date"]),
    ("position_daily", History.position_daily, ["account_no", "exchange", "trade_date", "stock_code"]),
    ("position_changes", History.position_changes, ["account_no", "exchange", "trade_date", "stock_code"]),
    ("etl_freshness", History.freshness, ["account_no", "exchange"]),
    ("ledger_checks", History.ledger_checks, ["account_no", "trade_date"]),
    ("account_flows_daily", History.account_flows_daily, ["account_no", "trade_date"]),
    ("account_returns_daily", History.account_returns_daily, ["account_no", "exchange", "trade_date"]),
    ("account_benchmark_daily", History.no_index, ["account_no", "exchange", "trade_date", "index_code"]),
    ("realized_pnl", History.no_ledger, ["account_no", "transaction_id"]),
    ("position_pnl", History.position_pnl, ["account_no", "stock_code"]),
    ("realized_checks", History.no_ledger, ["account_no", "trade_date"]),
    ("dividends", History.no_ledger, ["account_no", "stock_code", "settlement_date"]),
    ("dividends_monthly", History.no_ledger, ["account_no", "month"]),
    ("execution_checks", History.no_ledger, ["account_no", "trade_date", "stock_code", "side"]),
]
