"""The ledger for portfolio tools: account_transactions as Portfolio Performance's CSV import and as Ghostfolio's
import JSON (docs/bi.md has the mapping of every kind).

Both read the stored lines oldest first (by settlement_date, then transaction_no) and map each kind to the tool's
type; what a tool has no type for (a `loan`, an `other` line) is left out and counted, never forced into a wrong
one. Amounts stay whole won; quantities and prices are written as their exact decimal text (JSON numbers from the
same text). A transfer of securities carries no amount in kt00015: it is valued as account_flows_daily values it
(quantity × the stock's close that day: a snapshot's, KRX's else NXT's, else stock_daily's) where a close has it, else
at 0, which the note says.

A security's symbol is Yahoo's, by the market `instruments` gives its code: `CODE.KS` on KOSPI (KRX's ETFs too,
which Yahoo lists there), `CODE.KQ` on KOSDAQ. Yahoo quotes no KONEX, ETN or other code: Ghostfolio gets those as a
manual asset of its own (`GF_KRX_CODE`), Portfolio Performance no ticker (it matches them by ISIN and name). A code
`instruments` does not know yet is written `.KS`; the export's notes name each such choice.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, time
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Engine, literal_column, select

from etl.apis.instruments import Instrument
from etl.read.export import csv_text, spreadsheet_safe
from etl.store.engine import storage_errors
from etl.store.models import AccountTransaction
from etl.store.runs import require_account
from etl.store.valuation import TRANSFER_VALUE

FORMATS = ("portfolio-performance", "ghostfolio")
CURRENCY = "KRW"
# Yahoo's suffix by instruments.market: KRX's ETFs are quoted with KOSPI's; no suffix for a market Yahoo does not quote.
YAHOO_SUFFIXES = {"KOSPI": ".KS", "ETF": ".KS", "KOSDAQ": ".KQ"}
UNLISTED = ".KS"  # a code instruments does not know: KOSPI's form, which most are, said in the notes
_NAMESPACE = uuid.UUID("6f1d3c2e-8b4a-4f6e-9a51-2c7d0e5b9a10")  # account ids stay the same from one export to the next

# Portfolio Performance's account-transaction types (English labels) by kind; the transfers of securities are
# portfolio transactions (deliveries), written apart.
PP_TYPES = {
    "deposit": "Deposit",
    "withdrawal": "Withdrawal",
    "dividend": "Dividend",
    "interest": "Interest",
    "fee": "Fees",
    "tax": "Taxes",
    "buy": "Buy",
    "sell": "Sell",
}
PP_DELIVERIES = {"securities_in": "Delivery (Inbound)", "securities_out": "Delivery (Outbound)"}
PP_COLUMNS = (
    "Date",
    "Time",
    "Type",
    "Value",
    "Transaction Currency",
    "Shares",
    "Security Name",
    "ISIN",
    "Ticker Symbol",
    "Fees",
    "Taxes",
    "Note",
    "Cash Account",
    "Securities Account",
)
PP_NUMBERS = frozenset({"Value", "Shares", "Fees", "Taxes"})  # numbers: a negative one stays a number
SKIPPED_KINDS = ("loan", "other")


@dataclass(frozen=True)
class Line:
    """One stored ledger line, as the exports read it."""

    account_no: str
    settlement_date: date
    contract_date: date | None
    processed_time: time | None
    transaction_no: str
    kind: str
    remark: str | None
    io_type_name: str | None
    stock_code: str | None
    stock_name: str | None
    isin_code: str | None
    quantity: Decimal | None
    unit_price: Decimal | None
    trade_amount: int | None
    settled_amount: int | None
    commission: int | None
    transaction_tax: int | None
    income_tax: int | None
    cash_balance: int | None
    currency: str | None
    market: str | None = None  # instruments.market of stock_code; None when instruments does not know it
    value: int | None = None  # account_flows_daily's value: a transfer's at the day's close (None: no close has it)

    @property
    def day(self) -> date:
        """The day a tool dates it by: a trade's contract date, else its booking date."""
        return self.contract_date if self.kind in ("buy", "sell") and self.contract_date else self.settlement_date

    @property
    def note(self) -> str:
        return f"{self.remark or ''} (kiwoom {self.account_no} {self.settlement_date} #{self.transaction_no})".strip()

    @property
    def yahoo_symbol(self) -> str | None:
        """Yahoo's symbol of the line's stock, None when Yahoo quotes none (KONEX, ETN, another market)."""
        if self.market is None:
            return f"{self.stock_code}{UNLISTED}"
        suffix = YAHOO_SUFFIXES.get(self.market)
        return None if suffix is None else f"{self.stock_code}{suffix}"


@dataclass
class Exported:
    """What an export wrote and left out."""

    rows: int = 0
    deliveries: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    unvalued: int = 0  # transfers without a close price, written at 0
    balances: dict[str, int] = field(default_factory=dict)  # Ghostfolio: each account's newest cash, by its name
    symbols: dict[tuple[str, str], set[str]] = field(default_factory=dict)  # (market, yahoo or manual) → codes

    def symbol_of(self, line: Line) -> str | None:
        """The line's Yahoo symbol, its market's choice noted for the summary when it is not plain KOSPI or KOSDAQ."""
        symbol = line.yahoo_symbol
        if line.market not in ("KOSPI", "KOSDAQ"):
            written = "manual" if symbol is None else "yahoo"
            self.symbols.setdefault((line.market or "unknown", written), set()).add(line.stock_code or "")
        return symbol


def read_lines(
    engine: Engine, *, account: str | None = None, since: date | None = None, until: date | None = None
) -> list[Line]:
    """The stored lines in order, each with its value as account_flows_daily takes it (a transfer's at the day's
    close)."""
    t = AccountTransaction.__table__.alias("a")  # the valuation's expression names the line `a`
    names = [name for name in Line.__dataclass_fields__ if name not in ("market", "value")]
    value = literal_column(f"({TRANSFER_VALUE.replace('{closes}', 'daily_closes')})", BigInteger()).label("value")
    query = select(*(t.c[name] for name in names), Instrument.market, value).outerjoin(
        Instrument, Instrument.stock_code == t.c.stock_code
    )
    if account is not None:
        query = query.where(t.c.account_no == account)
    if since is not None:
        query = query.where(t.c.settlement_date >= since)
    if until is not None:
        query = query.where(t.c.settlement_date <= until)
    with storage_errors(engine, "reading the ledger"), engine.connect() as connection:
        if account is not None:
            require_account(connection, account)
        return [
            Line(**row._asdict())
            for row in connection.execute(query.order_by(t.c.account_no, t.c.settlement_date, t.c.transaction_no))
        ]


def _count(counter: dict[str, int], key: str) -> None:
    counter[key] = counter.get(key, 0) + 1


def _text(value: Decimal | int | None) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral_value() else format(value, "f").rstrip("0")
    return str(value)


def portfolio_performance(lines: Sequence[Line], *, raw_text: bool = False) -> tuple[str, str, Exported]:
    """Portfolio Performance's CSV: (the account transactions, the deliveries of securities, what was written);
    a text cell a spreadsheet would run as a formula gets a `'` before it unless `raw_text`."""
    done = Exported()
    account_rows, delivery_rows = [], []
    for line in lines:
        if line.kind in SKIPPED_KINDS:
            _count(done.skipped, line.kind)
            continue
        taxes = (line.transaction_tax or 0) + (line.income_tax or 0)
        fees = line.commission or 0
        if line.kind in PP_DELIVERIES:
            value = line.trade_amount or line.value
            if value is None:
                done.unvalued += 1
            delivery_rows.append(_pp_row(line, PP_DELIVERIES[line.kind], value or 0, fees, taxes, done))
            continue
        amount = line.trade_amount or 0
        if line.kind in ("buy", "sell", "dividend"):
            # What the cash account is moved by: a buy pays amount + fees; a sale and a dividend bring it less fees
            # and taxes (kt00015's exct_amt when it is there).
            value = line.settled_amount or (amount + fees + taxes if line.kind == "buy" else amount - fees - taxes)
        else:
            value = amount
            fees = taxes = 0  # the line is the fee or the tax itself, or carries none
        account_rows.append(_pp_row(line, PP_TYPES[line.kind], value, fees, taxes, done))
    done.rows, done.deliveries = len(account_rows), len(delivery_rows)
    return _csv(account_rows, raw_text), _csv(delivery_rows, raw_text) if delivery_rows else "", done


def _pp_row(line: Line, kind: str, value: int, fees: int, taxes: int, done: Exported) -> list[str]:
    traded = line.kind in ("buy", "sell", "dividend", *PP_DELIVERIES)
    return [
        line.day.isoformat(),
        # The booking time: a trade's own time is not in the ledger (it is booked at settlement), so none for it.
        line.processed_time.strftime("%H:%M") if line.processed_time and line.kind not in ("buy", "sell") else "",
        kind,
        str(value),
        line.currency or CURRENCY,
        _text(line.quantity) if traded else "",
        (line.stock_name or "") if traded else "",
        (line.isin_code or "") if traded else "",
        (done.symbol_of(line) or "") if traded and line.stock_code else "",
        str(fees) if fees else "",
        str(taxes) if taxes else "",
        line.note + ("" if value or kind not in PP_DELIVERIES.values() else "; no close price: value it by hand"),
        f"Kiwoom {line.account_no}",
        f"Kiwoom {line.account_no}" if traded else "",
    ]


def _csv(rows: list[list[str]], raw_text: bool) -> str:
    if not raw_text:  # the number columns stay numbers, a negative one too
        rows = [[_cell(column, cell) for column, cell in zip(PP_COLUMNS, row, strict=True)] for row in rows]
    return csv_text([list(PP_COLUMNS), *rows])


def _cell(column: str, cell: str) -> str:
    return cell if column in PP_NUMBERS else spreadsheet_safe(cell)


def ghostfolio(lines: Sequence[Line]) -> tuple[str, Exported]:
    """Ghostfolio's import JSON: an account per Kiwoom account with its cash balance at the end of each day (it has
    no deposit or withdrawal activity), and the trades, dividends, fees, taxes and interest as activities.

    Only the properties Ghostfolio's import DTOs declare: its API validates with `forbidNonWhitelisted`, so one
    property more (an export `meta`, say) refuses the whole file."""
    done = Exported()
    accounts: dict[str, dict[str, Any]] = {}
    activities = []
    manual: dict[str, str] = {}
    for line in lines:
        account = accounts.setdefault(line.account_no, _gf_account(line.account_no))
        if line.cash_balance is not None:
            account["balances"][line.settlement_date.isoformat()] = line.cash_balance
        if line.kind in ("deposit", "withdrawal"):
            continue  # in the balances
        if line.kind == "loan" and _borrowed(line):
            manual[_LOAN[0]] = _LOAN[1]
            activities.append(_gf_liability(line, account["id"]))
            continue
        if line.kind in SKIPPED_KINDS:
            _count(done.skipped, "loan (a repayment, or no direction)" if line.kind == "loan" else line.kind)
            continue
        activity = _gf_activity(line, account["id"], manual, done)
        activities.append(activity)
    done.rows = len(activities)
    exported = [_gf_balances(account) for account in accounts.values()]
    done.balances = {account["name"]: account["balance"] for account in exported}
    document = {
        "accounts": exported,
        "assetProfiles": [_gf_manual_profile(symbol, name) for symbol, name in sorted(manual.items())],
        "activities": activities,
    }
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n", done


def _gf_balances(account: dict[str, Any]) -> dict[str, Any]:
    """The account as Ghostfolio imports it: its cash at the end of each day with a line, and the newest."""
    days = sorted(account["balances"].items())
    return {
        **account,
        "balance": days[-1][1] if days else 0,
        "balances": [{"date": f"{day}T00:00:00.000Z", "value": value} for day, value in days],
    }


def _gf_account(account_no: str) -> dict[str, Any]:
    return {
        "balances": {},
        "comment": "exported by kiwoom-etl from the kt00015 ledger",
        "currency": CURRENCY,
        "id": str(uuid.uuid5(_NAMESPACE, account_no)),
        "name": f"Kiwoom {account_no}",
        "platformId": None,
    }


# Kinds with no security: a manual asset each (Ghostfolio takes a MANUAL symbol only as a UUID or GF_…).
_MANUAL = {
    "fee": ("GF_KIWOOM_FEES", "Kiwoom fees"),
    "tax": ("GF_KIWOOM_TAXES", "Kiwoom taxes"),
    "interest": ("GF_KIWOOM_INTEREST", "Kiwoom interest"),
}


_LOAN = ("GF_KIWOOM_LOAN", "Kiwoom loans")


def _borrowed(line: Line) -> bool:
    """A loan line that brings the loan's cash in (예탁담보대출입금): a liability; kt00015 gives no other direction."""
    return "입금" in f"{line.remark or ''} {line.io_type_name or ''}"


def _gf_base(line: Line, account_id: str) -> dict[str, Any]:
    # Dated by the booking date, as the cash balances are: a trade dated by its contract date would count its
    # shares and the cash that pays for them until it settles.
    return {
        "accountId": account_id,
        "comment": line.note,
        "currency": line.currency or CURRENCY,
        "date": _gf_date(line.settlement_date, None),
        "tags": [],
    }


def _gf_liability(line: Line, account_id: str) -> dict[str, Any]:
    """The cash a loan brought in is in the balances; the debt is a LIABILITY, so that net worth is not raised."""
    return {
        **_gf_base(line, account_id),
        "type": "LIABILITY",
        "symbol": _LOAN[0],
        "dataSource": "MANUAL",
        "quantity": 1,
        "unitPrice": line.trade_amount or 0,
        "fee": 0,
    }


def _gf_activity(line: Line, account_id: str, manual: dict[str, str], done: Exported) -> dict[str, Any]:
    base = _gf_base(line, account_id)
    taxes = (line.transaction_tax or 0) + (line.income_tax or 0)
    if line.kind in _MANUAL:
        symbol, name = _MANUAL[line.kind]
        manual[symbol] = name
        amount = line.trade_amount or 0
        if line.kind == "interest":
            return {
                **base,
                "type": "INTEREST",
                "symbol": symbol,
                "dataSource": "MANUAL",
                "quantity": 1,
                "unitPrice": amount,
                "fee": 0,
            }
        return {
            **base,
            "type": "FEE",
            "symbol": symbol,
            "dataSource": "MANUAL",
            "quantity": 0,
            "unitPrice": 0,
            "fee": amount,
        }
    quantity = line.quantity or Decimal(0)
    if line.kind == "dividend":
        per_share = line.unit_price or (Decimal(line.trade_amount or 0) / quantity if quantity else Decimal(0))
        return {
            **base,
            **_gf_security(line, manual, done),
            "type": "DIVIDEND",
            "quantity": _number(quantity),
            "unitPrice": _number(per_share),
            "fee": taxes,
        }
    if line.kind in PP_DELIVERIES:  # Ghostfolio has no transfer: a buy or a sale at the day's value, said so
        value = line.trade_amount or line.value
        if value is None:
            done.unvalued += 1
        price = Decimal(value or 0) / quantity if quantity else Decimal(0)
        kind = "BUY" if line.kind == "securities_in" else "SELL"
        return {
            **base,
            **_gf_security(line, manual, done),
            "type": kind,
            "quantity": _number(quantity),
            "unitPrice": _number(price.quantize(Decimal("0.0001"))),
            "fee": 0,
            "comment": f"{line.note}; a transfer of securities, not a trade",
        }
    # Ghostfolio values a trade at quantity × unitPrice: a line without its unit price (trde_unit) is priced from its
    # amount, never at 0.
    price = line.unit_price or (Decimal(line.trade_amount or 0) / quantity if quantity else Decimal(0))
    return {
        **base,
        **_gf_security(line, manual, done),
        "type": line.kind.upper(),
        "quantity": _number(quantity),
        "unitPrice": _number(price if line.unit_price else price.quantize(Decimal("0.0001"))),
        "fee": (line.commission or 0) + taxes,
    }


def _gf_security(line: Line, manual: dict[str, str], done: Exported) -> dict[str, Any]:
    symbol = done.symbol_of(line)
    if symbol is not None:
        return {"symbol": symbol, "dataSource": "YAHOO"}
    # Yahoo quotes it not: a manual asset of its own, so that Ghostfolio's symbol check refuses nothing.
    symbol = f"GF_KRX_{line.stock_code}"
    manual[symbol] = line.stock_name or line.stock_code or symbol
    return {"symbol": symbol, "dataSource": "MANUAL"}


def _gf_manual_profile(symbol: str, name: str) -> dict[str, Any]:
    return {"currency": CURRENCY, "dataSource": "MANUAL", "name": name, "symbol": symbol}


def _gf_date(day: date, moment: time | None) -> str:
    clock = moment or time()
    return f"{day}T{clock:%H:%M:%S}.000Z"


def _number(value: Decimal) -> int | float:
    """A JSON number from the exact decimal: an int when it is whole, else the float whose shortest text is the same
    decimal (quantities and prices hold at most 15 significant digits, which a double keeps exactly as text)."""
    return int(value) if value == value.to_integral_value() else float(value)


def summary(done: Exported) -> Iterator[str]:
    """What the command line says of an export besides the count."""
    for kind, count in sorted(done.skipped.items()):
        yield f"{count} line(s) of kind {kind} left out: the tool has no type for them (see docs/bi.md)."
    if done.unvalued:
        yield f"{done.unvalued} transfer(s) of securities had no close price that day: written with value 0."
    for (market, written), codes in sorted(done.symbols.items()):
        listed = ", ".join(sorted(codes))
        if market == "unknown":
            yield (
                f"{len(codes)} code(s) not in instruments ({listed}): written as CODE.KS. A KOSDAQ code among them"
                " makes Ghostfolio refuse the whole file: run `kiwoom-etl instruments` first."
            )
        elif written == "manual":
            yield (
                f"{len(codes)} {market} code(s) ({listed}): Yahoo quotes none, so Ghostfolio gets each as a manual"
                " asset GF_KRX_CODE and Portfolio Performance no ticker symbol (it matches them by ISIN and name)."
            )
        else:
            yield f"{len(codes)} {market} code(s) ({listed}): written as CODE.KS, as Yahoo quotes KRX's ETFs."
    for name, cash in done.balances.items():
        yield (
            f"{name}: cash {cash:,} KRW. Ghostfolio takes an account's balances only when it creates the account:"
            " after a later import, set its cash balance to this by hand (see docs/bi.md)."
        )
