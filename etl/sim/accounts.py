"""The simulator's account model: an app key pair, the account behind it, its holdings (each rendered as a kt00005
line) and, when it has one, its ledger history, from which its cash and holdings on a day come; `make_account`
builds the seeded demo accounts, `served_accounts` those `kiwoom-etl simulate` serves."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from etl.clock import KST, utc_now
from etl.sim.formats import amount, rate
from etl.sim.history import History, make_history
from etl.sim.stocks import STOCKS

SELL_COST = Decimal("0.00218")  # estimated fees and tax: evlt_amt is net of them (3 × 70000 → 209542)


@dataclass
class Holding:
    """One line of stk_cntr_remn, with its price moving over time."""

    code: str
    name: str
    quantity: int
    purchase_price: int
    price: int
    credit_type: str = "00"
    loan_date: str = ""
    expiry_date: str = ""
    loan: int = 0  # what a credit line still owes: the summary's crd_loan_tot adds these up
    settled: int | None = None  # setl_remn, when a trade of it is not booked yet; else `quantity`

    def line(self) -> dict[str, str]:
        purchase = self.quantity * self.purchase_price
        gross = self.quantity * self.price
        evaluation = gross - int((gross * SELL_COST).to_integral_value(ROUND_HALF_UP))
        profit = evaluation - purchase
        return {
            "crd_tp": self.credit_type,
            "loan_dt": self.loan_date,
            "expr_dt": self.expiry_date,
            "stk_cd": "A" + self.code,
            "stk_nm": self.name,
            "setl_remn": amount(self.quantity if self.settled is None else self.settled),
            "cur_qty": amount(self.quantity),
            "cur_prc": amount(self.price),
            "buy_uv": amount(self.purchase_price),
            "pur_amt": amount(purchase),
            "evlt_amt": amount(evaluation),
            "evltv_prft": amount(profit),
            "pl_rt": rate(profit, purchase),
        }


@dataclass
class SimAccount:
    """An app key pair, the account behind it, and its holdings per exchange; with a history, the holdings and cash
    come from it instead (the keys of `holdings` still name the account's exchanges)."""

    appkey: str
    secretkey: str
    acct_no: str
    holdings: dict[str, list[Holding]]
    deposit: int = 17534
    deposit_d1: int | None = None  # entr_d1 and entr_d2 when given; else a little below `deposit`
    deposit_d2: int | None = None
    history: History | None = None
    holder: str = "김키움"  # the name kt00015's acnt_no shows, and a deposit's depositor

    def cash(self, today: date) -> tuple[int, int, int]:
        """entr, entr_d1 and entr_d2: the history's as of `today`, or the account's own."""
        if self.history is not None:
            return self.history.cash(today), self.history.cash(today, 1), self.history.cash(today, 2)
        d1 = self.deposit - 84 if self.deposit_d1 is None else self.deposit_d1
        d2 = self.deposit - 4984 if self.deposit_d2 is None else self.deposit_d2
        return self.deposit, d1, d2

    def held(self, today: date) -> list[Holding]:
        """The holdings on `today`: with a history, its positions at the day's prices, every one wherever it was
        bought, as kt00005 lists the whole account on either exchange (a stock bought on NXT is held on KRX too);
        without, the account's own on every exchange."""
        history = self.history
        if history is None:
            return [holding for held in self.holdings.values() for holding in held]
        return [
            Holding(p.code, p.name, p.quantity, p.purchase_price, history.price(p.code, today), settled=p.settled)
            for p in history.positions(today)
        ]


def make_account(
    index: int, positions: int, *, seed: int = 0, exchanges: tuple[str, ...] = ("KRX", "NXT")
) -> SimAccount:
    """A demo account `index` with `positions` holdings on KRX (and a few on NXT), deterministic for a seed."""
    rng = random.Random(seed * 1000 + index)
    holdings: dict[str, list[Holding]] = {}
    for exchange in exchanges:
        count = positions if exchange == "KRX" else max(1, positions // 3)
        lines = []
        for n in range(count):
            code, name, base = STOCKS[n % len(STOCKS)]
            if index == 1 and exchange == "KRX" and n == 0:
                lines.append(Holding(code, name, 3, 124500, 70000))  # the API page's own example line
                continue
            credit = n % 4 == 3
            lines.append(
                Holding(
                    code=code,
                    name=name,
                    quantity=rng.randint(1, 500),
                    purchase_price=int(base * rng.uniform(0.6, 1.4)),
                    price=base,
                    credit_type="03" if credit else "00",
                    loan_date="20261015" if credit else "",
                    expiry_date="20270415" if credit else "",
                )
            )
        holdings[exchange] = lines
    return SimAccount(
        appkey=f"sim-appkey-{index}",
        secretkey=f"sim-secretkey-{index}",
        acct_no=f"{5000000000 + index * 1111:010d}",
        holdings=holdings,
        deposit=17534 * index,
    )


def served_accounts(count: int, positions: int, today: date | None = None) -> list[SimAccount]:
    """The accounts `kiwoom-etl simulate` serves: `count` demo accounts of `positions` holdings, the first with six
    weeks of ledger ending `today` (default: the KST date now), from which all of its answers come."""
    made = [make_account(i, positions) for i in range(1, count + 1)]
    today = today or utc_now().astimezone(KST).date()
    made[0].history = make_history(today - timedelta(days=41), 42)  # the history answers as of each day's date
    return made
