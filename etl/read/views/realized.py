"""The realised-profit views: realized_pnl (each sale of the ledger at its moving-average cost, 이동평균법),
position_pnl (each stock's realised and unrealised profit, dividends, fees and taxes) and realized_checks (Kiwoom's
own daily figures, ka10074, against the ledger and realized_pnl), with their column docs and the cost convention.

The convention (docs/data-dictionary.md, "realized_pnl", says it for analysts):

- **Per account × stock_code**, in the order the trades were done: trade date (contract_date, else the booking day
  settlement_date for a transfer), then booking day, transaction_no and original_transaction_no.
- **Opening holdings.** The account's first close anchors the walk: on its first trade_date with a close, the later
  of KRX's and NXT's closes (never both summed; NXT's, taken after its 20:00 close, holds the day's after-hours
  trades, which the walk leaves to the snapshot) gives each stock's quantity and cost, its lines' quantity and
  매입금액 (purchase_amount) summed. Only the ledger lines done after that day are applied: the snapshot holds the
  earlier ones, so a sale on or before the anchor day has no row. An account without a snapshot starts from nothing.
- **Buys** add their quantity and trade_amount; the buy's commission is not in the cost (as a broker's 매입단가),
  and realized_pnl subtracts only the sale's own commission and tax. **Transfers in** add their quantity at the
  transfer's value (etl.store.valuation, as account_flows_daily values it; an unvalued one leaves the cost
  unknown). **Transfers out** take shares away at their average cost, no profit made.
- **Sales**: cost_basis = the cost held × sold / held, in whole 원 rounded half up; selling the last share takes the
  remainder, so the costs of all sales and of what is still held add up to what was paid. A sale of more shares
  than are known to be held (a gap in the ledger) has no cost_basis, and the stock starts again from nothing.
- Whole shares only: a line whose quantity has a fraction (a fund's units) is not read.

Integer arithmetic throughout, the same on SQLite and PostgreSQL (no float): cost × sold / held is computed as
(cost ÷ held) × sold + the remainder's share, so no product exceeds 2 × held² (BIGINT holds it up to 2.1 billion
shares of one stock).

The walk is etl.store.realized's: it keeps its sales in realized_sales, which every load that changes an account's
walk refreshes, and realized_pnl shows that table as it is, so that a filter on account_no reads its key.
position_pnl adds each stock's parts in one window over a UNION ALL, one row kept a stock: a filter on account_no
(a column it is partitioned by) reaches every table it reads on both backends, where SQLite would compute a GROUP BY
subquery, or a CTE read twice, whole.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Date, Integer, Text

from etl.apis.realized import ACCOUNT_REALIZED_DAILY
from etl.normalize.realized import PNL_PRECISION, PNL_SCALE
from etl.read.views.view import View, verdict
from etl.store.dictionary import (
    AVERAGE_SCALE,
    BIGINT,
    CODE,
    COUNT,
    KRW,
    LEDGER_ACCOUNT_NO,
    REALIZED_SALE_COLUMNS,
    TEXT,
    TEXT_TYPE,
    Column,
    with_meaning,
)
from etl.store.realized import SHARE_KINDS
from etl.store.sqltypes import ExactDecimal, UtcDateTime

_SALE_COLUMNS = ", ".join(f"r.{column.name}" for column in REALIZED_SALE_COLUMNS)

REALIZED_PNL = View(
    "realized_pnl",
    "실현손익",
    "One row per sell line of the ledger done after the account's first close: its cost at the moving average"
    " (이동평균법) of the shares held, and the profit realised (docs/data-dictionary.md states the cost convention).",
    REALIZED_SALE_COLUMNS,
    f"SELECT {_SALE_COLUMNS}\nFROM realized_sales r",
    requires=("realized_sales",),
    computed={
        "trade_date": Date(),
        "stock_code": Text(),
        "stock_name": Text(),
        **dict.fromkeys(("quantity", "sell_amount", "cost_basis", "commission", "tax", "realized_pnl"), BigInteger()),
        "average_cost": ExactDecimal(24, AVERAGE_SCALE),
        "transaction_id": BigInteger(),
    },
)

# The fees and taxes of a stock's ledger lines that are not already inside realized_pnl (a sale's own commission and
# tax are): a buy's or a transfer's commission, a dividend's withholding, and the stock's own fee and tax lines.
_NOT_A_SALE = "a.kind <> 'sell'"
_FEES = f"""CASE WHEN {_NOT_A_SALE} THEN COALESCE(a.commission, 0) ELSE 0 END
                + CASE WHEN a.kind = 'fee' THEN COALESCE(a.trade_amount, 0) ELSE 0 END"""
_TAXES = f"""CASE WHEN {_NOT_A_SALE} THEN COALESCE(a.transaction_tax, 0) + COALESCE(a.income_tax, 0) ELSE 0 END
                 + CASE WHEN a.kind = 'tax' THEN COALESCE(a.trade_amount, 0) ELSE 0 END"""
_STOCK_KINDS = ", ".join(f"'{kind}'" for kind in (*SHARE_KINDS, "dividend", "fee", "tax"))
_PNL_PARTS = ("realized_pnl", "unrealized_pnl", "dividends", "fees", "taxes", "total_pnl")

# Each account's latest close: KRX's, else NXT's (an account's exchanges are those two: account_snapshots' check),
# never both. Written per dialect so that a filter on account_no reaches daily_closes' key and costs little for
# years of closes: PostgreSQL numbers the account's closes in one window (a correlated MAX per close cost it 80 ms
# for five years), SQLite probes the key per close (its window sorted them, twice as slow).
_LATEST = {
    "postgresql": """SELECT c.account_no, c.snapshot_id
    FROM (SELECT d.account_no, d.snapshot_id,
                 ROW_NUMBER() OVER (PARTITION BY d.account_no
                                    ORDER BY CASE WHEN d.exchange = 'KRX' THEN 0 ELSE 1 END, d.trade_date DESC) AS n
          FROM daily_closes d) c
    WHERE c.n = 1""",
    "sqlite": """SELECT d.account_no, d.snapshot_id
    FROM daily_closes d
    WHERE d.trade_date = (SELECT MAX(m.trade_date) FROM daily_closes m
                          WHERE m.account_no = d.account_no AND m.exchange = d.exchange)
      AND (d.exchange = 'KRX'
           OR NOT EXISTS (SELECT 1 FROM daily_closes k WHERE k.account_no = d.account_no AND k.exchange = 'KRX'))""",
}

POSITION_PNL = View(
    "position_pnl",
    "종목별 손익",
    "One row per account × stock the account held at its latest close, sold, or booked a dividend, fee or tax"
    " for: its realised and unrealised profit, dividends, fees and taxes, and their total.",
    (
        LEDGER_ACCOUNT_NO,
        Column("stock_code", TEXT_TYPE, "stk_cd", "종목코드", CODE, "The stock, without the A prefix."),
        Column("stock_name", TEXT_TYPE, "stk_nm", "종목명", TEXT, "Its name at the latest close, else in the ledger."),
        Column(
            "realized_pnl",
            BIGINT,
            None,
            "실현손익",
            KRW,
            "Σ realized_pnl.realized_pnl of its sales (those without a cost_basis are left out: see unpriced_sales).",
        ),
        Column(
            "unrealized_pnl",
            BIGINT,
            "evltv_prft",
            "평가손익",
            KRW,
            "Σ profit_loss of its lines at the account's latest close (KRX's, else NXT's, never both); 0 when not"
            " held.",
        ),
        Column(
            "dividends",
            BIGINT,
            "trde_amt",
            "배당금",
            KRW,
            "Σ trade_amount of its dividend lines, gross (the tax withheld is in taxes).",
        ),
        Column(
            "fees",
            BIGINT,
            "cmsn",
            "수수료",
            KRW,
            "Σ commission of its lines other than sales (buys, transfers) + Σ trade_amount of its fee lines: a"
            " sale's commission is already inside realized_pnl.",
        ),
        Column(
            "taxes",
            BIGINT,
            None,
            "세금",
            KRW,
            "Σ transaction_tax + income_tax of its lines other than sales (a dividend's withholding) + Σ"
            " trade_amount of its tax lines: a sale's tax is already inside realized_pnl.",
        ),
        Column(
            "total_pnl",
            BIGINT,
            None,
            "총손익",
            KRW,
            "realized_pnl + unrealized_pnl + dividends − fees − taxes.",
        ),
        Column(
            "unpriced_sales",
            BIGINT,
            None,
            "원가미상매도",
            COUNT,
            "Its sales without a cost_basis (a gap in the ledger, an unvalued transfer): not in realized_pnl.",
        ),
    ),
    f"""WITH
latest AS (
    {{latest}}
),
parts AS (
    SELECT n.account_no, p.stock_code, p.stock_name AS held_name, CAST(NULL AS TEXT) AS booked_name,
           CAST(NULL AS TEXT) AS sold_name, COALESCE(p.profit_loss, 0) AS unrealized_pnl, 0 AS realized_pnl,
           0 AS unpriced_sales, 0 AS dividends, 0 AS fees, 0 AS taxes
    FROM latest n
    JOIN position_snapshots p ON p.snapshot_id = n.snapshot_id AND p.account_no = n.account_no
    WHERE p.stock_code <> ''
    UNION ALL
    SELECT r.account_no, r.stock_code, NULL, NULL, r.stock_name, 0, r.realized_pnl,
           CASE WHEN r.cost_basis IS NULL THEN 1 ELSE 0 END, 0, 0, 0
    FROM realized_sales r
    UNION ALL
    SELECT a.account_no, a.stock_code, NULL, a.stock_name, NULL, 0, 0, 0,
           CASE WHEN a.kind = 'dividend' THEN COALESCE(a.trade_amount, 0) ELSE 0 END, {_FEES}, {_TAXES}
    FROM account_transactions a
    WHERE a.kind IN ({_STOCK_KINDS}) AND a.stock_code <> ''
),
stocks AS (
    SELECT t.account_no, t.stock_code,
           COALESCE(MIN(t.held_name) OVER w, MIN(t.booked_name) OVER w, MIN(t.sold_name) OVER w) AS stock_name,
           CAST(COALESCE(SUM(t.realized_pnl) OVER w, 0) AS BIGINT) AS realized_pnl,
           CAST(SUM(t.unrealized_pnl) OVER w AS BIGINT) AS unrealized_pnl,
           CAST(SUM(t.dividends) OVER w AS BIGINT) AS dividends, CAST(SUM(t.fees) OVER w AS BIGINT) AS fees,
           CAST(SUM(t.taxes) OVER w AS BIGINT) AS taxes, SUM(t.unpriced_sales) OVER w AS unpriced_sales,
           ROW_NUMBER() OVER w AS n
    FROM parts t
    WINDOW w AS (PARTITION BY t.account_no, t.stock_code)
)
SELECT s.account_no, s.stock_code, s.stock_name, s.realized_pnl, s.unrealized_pnl, s.dividends, s.fees, s.taxes,
       s.realized_pnl + s.unrealized_pnl + s.dividends - s.fees - s.taxes AS total_pnl, s.unpriced_sales
FROM stocks s
WHERE s.n = 1""",
    requires=("account_transactions", "realized_sales"),
    computed={
        "stock_code": Text(),
        "stock_name": Text(),
        **dict.fromkeys(_PNL_PARTS, BigInteger()),
        "unpriced_sales": Integer(),
    },
    per_dialect={"latest": _LATEST},
)

# ka10074's figures that realized_checks holds to the ledger exactly, and what of the buy and sell lines done that day
# (their contract_date) each is held to. The spec says neither how ka10074 dates a trade nor which trades its
# commission and tax cover: kiwoom-etl assumes the day's trades, both sides; a real answer that differs shows as a
# disagreement, never as a silent correction.
CHECKED_REALIZED: tuple[tuple[str, str, str], ...] = (
    (
        "buy_amount",
        "Σ trade_amount of the buys",
        "CASE WHEN a.kind = 'buy' THEN COALESCE(a.trade_amount, 0) ELSE 0 END",
    ),
    (
        "sell_amount",
        "Σ trade_amount of the sales",
        "CASE WHEN a.kind = 'sell' THEN COALESCE(a.trade_amount, 0) ELSE 0 END",
    ),
    ("commission", "Σ commission of the buys and sales", "COALESCE(a.commission, 0)"),
    (
        "tax",
        "Σ transaction_tax + income_tax of the buys and sales",
        "COALESCE(a.transaction_tax, 0) + COALESCE(a.income_tax, 0)",
    ),
)
_CHECK_DIFFERS = {name: f"COALESCE(t.{name}, 0) <> COALESCE(l.{name}, 0)" for name, _, _ in CHECKED_REALIZED}
_CHECK_PAIRS = ",\n       ".join(f"t.{name}, COALESCE(l.{name}, 0) AS ledger_{name}" for name, _, _ in CHECKED_REALIZED)
_CHECK_SUMS = ",\n            ".join(f"CAST(SUM({sql}) AS BIGINT) AS {name}" for name, _, sql in CHECKED_REALIZED)


def _checked(name: str, sums: str) -> tuple[Column, Column]:
    """ka10074's figure `name` and the ledger's `sums` it is held to, side by side."""
    figure = ACCOUNT_REALIZED_DAILY.column(name)
    ledger = Column(
        f"ledger_{name}", BIGINT, None, f"거래내역 {figure.label}", KRW, f"The ledger's {sums} that day, 0 when none."
    )
    return with_meaning(figure, f"ka10074: {figure.meaning}"), ledger


REALIZED_CHECKS = View(
    "realized_checks",
    "실현손익 검증",
    "One row per account_realized_daily row: ka10074's figures of the day beside the ledger's buys and sales done"
    " that day (which should agree exactly) and beside realized_pnl's profit (which may not: Kiwoom's cost method"
    " is undocumented).",
    (
        LEDGER_ACCOUNT_NO,
        ACCOUNT_REALIZED_DAILY.column("trade_date"),
        with_meaning(ACCOUNT_REALIZED_DAILY.column("captured_at"), "When ka10074's answer arrived."),
        *(column for name, sums, _ in CHECKED_REALIZED for column in _checked(name, sums)),
        Column(
            "mismatches",
            TEXT_TYPE,
            None,
            "불일치항목",
            TEXT,
            "The names of the figures above that differ, separated by `, `; NULL when every one agrees.",
        ),
        Column("result", TEXT_TYPE, None, "검증결과", CODE, "agrees, or disagrees (see mismatches)."),
        with_meaning(
            ACCOUNT_REALIZED_DAILY.column("realized_pnl"),
            "ka10074: Kiwoom's realised profit of the day (tdy_sel_pl), by its own cost.",
        ),
        Column(
            "computed_realized_pnl",
            BIGINT,
            None,
            "산출실현손익",
            KRW,
            "Σ realized_pnl.realized_pnl of the day's sales (moving average cost, buys' commissions not in it);"
            " NULL when none has a cost.",
        ),
        Column(
            "realized_pnl_result",
            TEXT_TYPE,
            None,
            "실현손익비교",
            CODE,
            "same, differs (Kiwoom's cost method is undocumented: a difference is not an error by itself), or"
            " unknown (a sale of the day has no cost_basis, or none is in realized_pnl).",
        ),
    ),
    f"""SELECT t.account_no, t.trade_date, {{time:t.captured_at}} AS captured_at,
       {_CHECK_PAIRS},
       {verdict(_CHECK_DIFFERS)},
       t.realized_pnl, r.realized_pnl AS computed_realized_pnl,
       CASE WHEN r.sales IS NULL OR r.unpriced > 0 THEN 'unknown'
            WHEN t.realized_pnl = r.realized_pnl THEN 'same' ELSE 'differs' END AS realized_pnl_result
FROM account_realized_daily t
LEFT JOIN (SELECT a.account_no, COALESCE(a.contract_date, a.settlement_date) AS trade_date,
            {_CHECK_SUMS}
     FROM account_transactions a
     WHERE a.kind IN ('buy', 'sell')
     GROUP BY a.account_no, COALESCE(a.contract_date, a.settlement_date)) l
  ON l.account_no = t.account_no AND l.trade_date = t.trade_date
LEFT JOIN (SELECT p.account_no, p.trade_date, CAST(SUM(p.realized_pnl) AS BIGINT) AS realized_pnl, COUNT(*) AS sales,
                  SUM(CASE WHEN p.cost_basis IS NULL THEN 1 ELSE 0 END) AS unpriced
     FROM realized_pnl p
     GROUP BY p.account_no, p.trade_date) r
  ON r.account_no = t.account_no AND r.trade_date = t.trade_date""",
    requires=("account_transactions", "realized_sales", "account_realized_daily"),  # it reads realized_pnl
    computed={
        "mismatches": Text(),
        "result": Text(),
        "realized_pnl": ExactDecimal(PNL_PRECISION, PNL_SCALE),
        "computed_realized_pnl": BigInteger(),
        "realized_pnl_result": Text(),
        **{f"ledger_{name}": BigInteger() for name, _, _ in CHECKED_REALIZED},
        **{name: BigInteger() for name, _, _ in CHECKED_REALIZED},
        "trade_date": Date(),
        "captured_at": UtcDateTime(),
    },
)
