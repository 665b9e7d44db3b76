"""The account views: account_history (every snapshot), latest_accounts (each pair's newest) and account_daily (each
day's close and its change from the previous day's), with their column docs.

A day's close is an account × exchange's last snapshot of a trade_date (greatest captured_at, then greatest id), the
previous day is its previous trade_date with a snapshot of the same exchange, and a NULL counts as 0 in every sum and
change. The closes and previous days are read from daily_closes (etl.store.closes), so that a filter on an account
and a day reaches an index on years of history.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer

from etl.read.views.view import CLOSE_ID, CLOSE_TIME, TIME, View, in_view
from etl.store.dictionary import (
    ACCOUNT_NO,
    ACCOUNT_SNAPSHOTS,
    BIGINT,
    COUNT,
    EXCHANGE,
    KRW,
    TRADE_DATE,
    Column,
    with_meaning,
)

GROSS_ASSETS = Column(
    "gross_assets", BIGINT, None, "총자산", KRW, "deposit_d2 + total_evaluation_amount (a NULL part counts as 0)."
)
NET_ASSETS = Column(
    "net_assets",
    BIGINT,
    None,
    "순자산",
    KRW,
    "gross_assets − credit_loan_total − unpaid_credit_interest (a NULL part counts as 0), before fees and taxes.",
)
_ASSETS = {"gross_assets": BigInteger(), "net_assets": BigInteger()}

_NET = "COALESCE(s.credit_loan_total, 0) - COALESCE(s.unpaid_credit_interest, 0)"
_GROSS = "COALESCE(s.deposit_d2, 0) + COALESCE(s.total_evaluation_amount, 0)"
_HISTORY = (*in_view(ACCOUNT_SNAPSHOTS.columns), GROSS_ASSETS, NET_ASSETS, TIME)

# Every column the table has when the view is created, not a fixed list: a view must not name a column a later
# revision adds (a fresh database runs this revision before that one); the migration adding it recreates the views,
# and they take it in.
ACCOUNT_HISTORY = View(
    "account_history",
    "계좌 이력",
    "One row per snapshot: every account_snapshots column, gross and net assets, and Grafana's time.",
    _HISTORY,
    f"""SELECT {{columns:s:account_snapshots}},
       {_GROSS} AS gross_assets,
       {_GROSS} - {_NET} AS net_assets,
       {{time:s.captured_at}} AS time
FROM account_snapshots s""",
    computed=_ASSETS,
)

# The newest snapshot of a pair is the close of its newest trade_date (trade_date follows captured_at). The joins
# also equate the pair's columns, true by construction, so that a filter on one side reaches the others' indexes.
LATEST_ACCOUNTS = View(
    "latest_accounts",
    "최신 계좌",
    "One row per account × exchange: its newest snapshot, as in account_history; never sum KRX and NXT.",
    _HISTORY,
    """SELECT h.*
FROM (SELECT n.account_no, n.exchange, MAX(n.trade_date) AS trade_date
      FROM {closes} n
      GROUP BY n.account_no, n.exchange) m
JOIN {closes} d ON d.account_no = m.account_no AND d.exchange = m.exchange AND d.trade_date = m.trade_date
JOIN account_history h ON h.id = d.snapshot_id AND h.account_no = d.account_no AND h.exchange = d.exchange""",
    computed=_ASSETS,
)


def _at_close(column: Column) -> Column:
    return with_meaning(column, f"{column.meaning[:-1]}, at the day's close.")


def _change(name: str, label: str) -> Column:
    return Column(
        f"{name}_change", BIGINT, None, label, KRW, f"{name} − the previous day's close's; NULL on the first day."
    )


# net_assets of the snapshot aliased {s}: the day's close (s) or the previous day's (b).
_NET_AT = (
    "COALESCE({s}.deposit_d2, 0) + COALESCE({s}.total_evaluation_amount, 0)"
    " - COALESCE({s}.credit_loan_total, 0) - COALESCE({s}.unpaid_credit_interest, 0)"
)

ACCOUNT_DAILY = View(
    "account_daily",
    "일별 계좌",
    "One row per account × exchange × trade_date: the day's close and its change from the previous day's.",
    (
        ACCOUNT_NO,
        EXCHANGE,
        TRADE_DATE,
        CLOSE_ID,
        CLOSE_TIME,
        Column("snapshots", BIGINT, None, "스냅샷수", COUNT, "Snapshots taken that trade_date."),
        *(
            _at_close(ACCOUNT_SNAPSHOTS.column(name))
            for name in (
                "deposit_d2",
                "total_purchase_amount",
                "total_evaluation_amount",
                "total_profit_loss",
                "total_profit_loss_rate",
                "credit_loan_total",
                "position_count",
            )
        ),
        _at_close(GROSS_ASSETS),
        _at_close(NET_ASSETS),
        _change("net_assets", "순자산변동"),
        _change("total_evaluation_amount", "평가금액변동"),
        _change("total_profit_loss", "총손익변동"),
    ),
    f"""SELECT d.account_no, d.exchange, d.trade_date, d.snapshot_id, {{time:d.captured_at}} AS time,
       CAST(d.snapshots AS BIGINT) AS snapshots,
       s.deposit_d2, s.total_purchase_amount, s.total_evaluation_amount, s.total_profit_loss,
       s.total_profit_loss_rate, s.credit_loan_total, s.position_count,
       {_GROSS} AS gross_assets,
       {_GROSS} - {_NET} AS net_assets,
       CASE WHEN d.previous_snapshot_id IS NOT NULL
            THEN ({_NET_AT.format(s="s")}) - ({_NET_AT.format(s="b")}) END AS net_assets_change,
       CASE WHEN d.previous_snapshot_id IS NOT NULL
            THEN COALESCE(s.total_evaluation_amount, 0) - COALESCE(b.total_evaluation_amount, 0)
       END AS total_evaluation_amount_change,
       CASE WHEN d.previous_snapshot_id IS NOT NULL
            THEN COALESCE(s.total_profit_loss, 0) - COALESCE(b.total_profit_loss, 0)
       END AS total_profit_loss_change
FROM {{closes}} d
JOIN account_snapshots s ON s.id = d.snapshot_id AND s.account_no = d.account_no AND s.exchange = d.exchange
LEFT JOIN account_snapshots b
  ON b.id = d.previous_snapshot_id AND b.account_no = d.account_no AND b.exchange = d.exchange""",
    computed={
        **_ASSETS,
        "snapshot_id": BigInteger(),
        "snapshots": Integer(),
        **dict.fromkeys(
            ("net_assets_change", "total_evaluation_amount_change", "total_profit_loss_change"), BigInteger()
        ),
    },
)
