"""The realised-profit view: realized_pnl (each sale of the ledger at its moving-average cost, 이동평균법), with its
column docs and the cost convention it follows.

The convention (docs/data-dictionary.md, "realized_pnl", says it for analysts):

- **Per account × stock_code**, in the order the trades were done: trade date (contract_date, else the booking day
  settlement_date for a transfer), then booking day, transaction_no and original_transaction_no.
- **Opening holdings.** The account's first close anchors the walk: on its first trade_date with a close, KRX's close
  (else NXT's, never both summed) gives each stock's quantity and cost, its lines' quantity and 매입금액
  (purchase_amount) summed. Only the ledger lines done after that day are applied: the snapshot holds the earlier
  ones, so a sale on or before the anchor day has no row. An account without a snapshot starts from nothing.
- **Buys** add their quantity and trade_amount; the buy's commission is not in the cost (as a broker's 매입단가),
  and realized_pnl subtracts only the sale's own commission and tax. **Transfers in** add their quantity at the
  transfer's value (etl.read.views.valuation, as account_flows_daily values it; an unvalued one leaves the cost
  unknown). **Transfers out** take shares away at their average cost, no profit made.
- **Sales**: cost_basis = the cost held × sold / held, in whole 원 rounded half up; selling the last share takes the
  remainder, so the costs of all sales and of what is still held add up to what was paid. A sale of more shares
  than are known to be held (a gap in the ledger) has no cost_basis, and the stock starts again from nothing.
- Whole shares only: a line whose quantity has a fraction (a fund's units) is not read.

Integer arithmetic throughout, the same on SQLite and PostgreSQL (no float): cost × sold / held is computed as
(cost ÷ held) × sold + the remainder's share, so no product exceeds 2 × held² (BIGINT holds it up to 2.1 billion
shares of one stock).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Date, Text

from etl.read.views.valuation import TRANSFER_VALUE
from etl.read.views.view import View
from etl.store.dictionary import (
    BIGINT,
    CODE,
    DATE,
    DATE_TYPE,
    ID,
    KRW,
    KRW_PER_SHARE,
    LEDGER_ACCOUNT_NO,
    SHARES,
    TEXT,
    TEXT_TYPE,
    Column,
)
from etl.store.sqltypes import ExactDecimal

AVERAGE_SCALE = 4  # average_cost's decimal places, rounded half up
AVERAGE_TYPE = f"numeric(24,{AVERAGE_SCALE})"
_UNIT = 10**AVERAGE_SCALE
# The kinds of line that move a stock's shares.
SHARE_KINDS = ("buy", "sell", "securities_in", "securities_out")


def share(cost: str, part: str, held: str) -> str:
    """cost × part / held in whole 원, rounded half up, for cost ≥ 0 and 0 < part ≤ held: the integer quotient times
    part, plus the remainder's part rounded (so no product exceeds 2 × held × part)."""
    return f"(({cost}) / ({held}) * ({part}) + (2 * (({cost}) % ({held})) * ({part}) + ({held})) / (2 * ({held})))"


# A sale or transfer out of e.quantity that the shares held before it (w.held) cover.
_COVERED = "w.held > 0 AND e.quantity <= w.held"
_TAKEN = share("w.cost", "e.quantity", "w.held")
_AVERAGE_UNITS = share("w.cost_before", str(_UNIT), "w.held_before")  # the average cost × 10⁴, rounded half up
# average_cost as an exact decimal: NUMERIC on PostgreSQL, its decimal text on SQLite (whose NUMERIC is a float).
_AVERAGE = {
    "postgresql": f"CAST(CAST({_AVERAGE_UNITS} AS NUMERIC) / {_UNIT} AS {AVERAGE_TYPE.upper()})",
    "sqlite": f"printf('%d.%0{AVERAGE_SCALE}d', {_AVERAGE_UNITS} / {_UNIT}, {_AVERAGE_UNITS} % {_UNIT})",
}
_OUT = "e.kind IN ('sell', 'securities_out')"

REALIZED_PNL = View(
    "realized_pnl",
    "실현손익",
    "One row per sell line of the ledger done after the account's first close: its cost at the moving average"
    " (이동평균법) of the shares held, and the profit realised. See the data dictionary for the convention.",
    (
        LEDGER_ACCOUNT_NO,
        Column("trade_date", DATE_TYPE, "cntr_dt", "체결일", DATE, "The day the sale was done (its contract_date)."),
        Column("stock_code", TEXT_TYPE, "stk_cd", "종목코드", CODE, "The stock sold, without the A prefix."),
        Column("stock_name", TEXT_TYPE, "stk_nm", "종목명", TEXT, "The stock's name on the sell line."),
        Column("quantity", BIGINT, "trde_qty_jwa_cnt", "매도수량", SHARES, "Shares sold."),
        Column("sell_amount", BIGINT, "trde_amt", "매도금액", KRW, "The sale's trade_amount."),
        Column(
            "cost_basis",
            BIGINT,
            None,
            "매입원가",
            KRW,
            "The cost of the shares sold: the cost held × quantity / the shares held, in whole 원 rounded half up (the"
            " last share takes the remainder); NULL when the cost is unknown or the sale is more than is held.",
        ),
        Column("commission", BIGINT, "cmsn", "수수료", KRW, "The sale's commission (0 when NULL)."),
        Column("tax", BIGINT, "trde_agri_tax", "세금", KRW, "The sale's transaction_tax + income_tax (0 when NULL)."),
        Column(
            "realized_pnl",
            BIGINT,
            None,
            "실현손익",
            KRW,
            "sell_amount − cost_basis − commission − tax; the buys' commissions are not in cost_basis.",
        ),
        Column(
            "average_cost",
            AVERAGE_TYPE,
            None,
            "평균매입단가",
            KRW_PER_SHARE,
            f"The average cost of the shares held before the sale (cost / shares), {AVERAGE_SCALE} decimals rounded"
            " half up; exact decimal text on SQLite.",
        ),
        Column("transaction_id", BIGINT, None, "거래ID", ID, "The sell line: account_transactions.id."),
    ),
    f"""WITH RECURSIVE
anchors AS (
    SELECT f.account_no, f.trade_date, COALESCE(k.snapshot_id, x.snapshot_id) AS snapshot_id
    FROM (SELECT c.account_no, MIN(c.trade_date) AS trade_date FROM {{closes}} c GROUP BY c.account_no) f
    LEFT JOIN {{closes}} k ON k.account_no = f.account_no AND k.exchange = 'KRX' AND k.trade_date = f.trade_date
    LEFT JOIN {{closes}} x ON x.account_no = f.account_no AND x.exchange = 'NXT' AND x.trade_date = f.trade_date
),
moves AS (
    SELECT n.account_no, p.stock_code, MIN(p.stock_name) AS stock_name, n.trade_date, 0 AS line,
           n.trade_date AS settlement_date, '' AS transaction_no, '' AS original_transaction_no, 'opening' AS kind,
           CAST(SUM(COALESCE(p.quantity, 0)) AS BIGINT) AS quantity, CAST(SUM(p.purchase_amount) AS BIGINT) AS amount,
           CAST(0 AS BIGINT) AS commission, CAST(0 AS BIGINT) AS tax, CAST(NULL AS BIGINT) AS transaction_id
    FROM anchors n
    JOIN position_snapshots p ON p.snapshot_id = n.snapshot_id
    WHERE p.stock_code <> ''
    GROUP BY n.account_no, p.stock_code, n.trade_date
    HAVING SUM(COALESCE(p.quantity, 0)) > 0
    UNION ALL
    SELECT a.account_no, a.stock_code, a.stock_name, COALESCE(a.contract_date, a.settlement_date), 1,
           a.settlement_date, a.transaction_no, a.original_transaction_no, a.kind, CAST(a.quantity AS BIGINT),
           CASE WHEN a.kind IN ('securities_in', 'securities_out') THEN {TRANSFER_VALUE} ELSE a.trade_amount END,
           COALESCE(a.commission, 0), COALESCE(a.transaction_tax, 0) + COALESCE(a.income_tax, 0), a.id
    FROM account_transactions a
    LEFT JOIN anchors n ON n.account_no = a.account_no
    WHERE a.kind IN ({", ".join(f"'{kind}'" for kind in SHARE_KINDS)}) AND a.stock_code <> ''
      AND a.quantity > 0 AND a.quantity = CAST(a.quantity AS BIGINT)
      AND (n.trade_date IS NULL OR COALESCE(a.contract_date, a.settlement_date) > n.trade_date)
),
numbered AS (
    SELECT m.*, ROW_NUMBER() OVER (PARTITION BY m.account_no, m.stock_code
                                   ORDER BY m.trade_date, m.line, m.settlement_date, m.transaction_no,
                                            m.original_transaction_no) AS step
    FROM moves m
),
walked (account_no, stock_code, step, held, cost, held_before, cost_before, cost_basis) AS (
    SELECT DISTINCT s.account_no, s.stock_code, CAST(0 AS BIGINT), CAST(0 AS BIGINT), CAST(0 AS BIGINT),
           CAST(0 AS BIGINT), CAST(0 AS BIGINT), CAST(NULL AS BIGINT)
    FROM numbered s
    UNION ALL
    SELECT w.account_no, w.stock_code, e.step,
           CASE WHEN {_OUT} THEN CASE WHEN {_COVERED} THEN w.held - e.quantity ELSE 0 END
                ELSE w.held + e.quantity END,
           CASE WHEN {_OUT} THEN CASE WHEN {_COVERED} AND e.quantity < w.held THEN w.cost - {_TAKEN} ELSE 0 END
                ELSE w.cost + e.amount END,
           w.held, w.cost,
           CASE WHEN e.kind = 'sell' AND {_COVERED} THEN {_TAKEN} END
    FROM walked w
    JOIN numbered e ON e.account_no = w.account_no AND e.stock_code = w.stock_code AND e.step = w.step + 1
)
SELECT e.account_no, e.trade_date, e.stock_code, e.stock_name, e.quantity, e.amount AS sell_amount, w.cost_basis,
       e.commission, e.tax, e.amount - w.cost_basis - e.commission - e.tax AS realized_pnl,
       CASE WHEN w.cost_basis IS NOT NULL THEN {{average_cost}} END AS average_cost, e.transaction_id
FROM walked w
JOIN numbered e ON e.account_no = w.account_no AND e.stock_code = w.stock_code AND e.step = w.step
WHERE e.kind = 'sell'""",
    requires=("account_transactions",),
    computed={
        "trade_date": Date(),
        "stock_code": Text(),
        "stock_name": Text(),
        **dict.fromkeys(("quantity", "sell_amount", "cost_basis", "commission", "tax", "realized_pnl"), BigInteger()),
        "average_cost": ExactDecimal(24, AVERAGE_SCALE),
        "transaction_id": BigInteger(),
    },
    per_dialect={"average_cost": _AVERAGE},
)
