"""The data dictionary of the store's tables: every table's columns with 한글명, Kiwoom field, unit and meaning, and the
words (units, documented types, `Column`, `Relation`, `amount`, `identifier`) in which etl.read.views describes the
analyst views beside their SQL and etl.apis the tables of a declaration beside it.

It is the one source of the models' comments, of the `COMMENT ON` that PostgreSQL keeps for BI tools (Metabase and
Superset read them as descriptions) and of the column tables of docs/data-dictionary.md (`python3 dev.py docs`).

A column's comment reads `한글명 · Kiwoom field · unit · meaning`, with `-` where there is no Kiwoom field:
`예수금 · entr · KRW · Cash deposit today.`; a table's or view's reads `한글명 · description`. The migration that
adds comments writes today's texts; a text changed later reaches existing databases through a new migration that
calls `apply_comments` (etl.read.dictionary) again.

etl_runs names every API whose runs it records; `etl_runs` describes it from what each declaration says of its runs
(`ApiRuns`), and etl.apis, where they are all declared, describes the table with it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from sqlalchemy import Connection, Dialect, String, inspect
from sqlalchemy import literal as sql_literal

SEPARATOR = " · "
NO_FIELD = "-"

# Units: a small fixed vocabulary, so that analysts can rely on the words.
KRW = "KRW"
KRW_PER_SHARE = "KRW per share"
SHARES = "shares"
PERCENT = "percent"
DATE = "date"
UTC_TIME = "UTC time"
COUNT = "count"
INDEX = "index"
ID = "id"
TEXT = "text"
CODE = "code"
JSON = "JSON"
MILLISECONDS = "milliseconds"
UNITS = "shares or fund units"
FOREIGN = "foreign currency"
KST_TIME = "KST time of day"
FRACTION = "fraction (0.0123 = 1.23 %)"

# SQL types as the docs show them (a test holds the tables' to the models).
BIGINT = "bigint"
INTEGER = "integer"
TEXT_TYPE = "text"
DATE_TYPE = "date"
RATE = "numeric(12,4)"
TIMESTAMP = "timestamp with time zone (UTC)"
FLOAT = "double precision (REAL on SQLite)"
TIME_TYPE = "timestamp with time zone (RFC 3339 UTC text on SQLite)"
QUANTITY_TYPE = "numeric(15,6)"
FOREIGN_TYPE = "numeric(15,4)"
CLOCK_TYPE = "time without time zone"


@dataclass(frozen=True)
class Column:
    """One column: its SQL type as documented, Kiwoom field (None for ours), 한글명, unit and one-line meaning."""

    name: str
    type: str
    field: str | None
    label: str
    unit: str
    meaning: str

    @property
    def comment(self) -> str:
        """The text of its `COMMENT ON COLUMN`."""
        return SEPARATOR.join((self.label, self.field or NO_FIELD, self.unit, self.meaning))


@dataclass(frozen=True)
class Relation:
    """A table or a view: its 한글명, one-line description and columns in the order the database shows them."""

    name: str
    label: str
    description: str
    columns: tuple[Column, ...]
    is_view: bool = False

    @property
    def comment(self) -> str:
        """The text of its `COMMENT ON TABLE` or `COMMENT ON VIEW`."""
        return SEPARATOR.join((self.label, self.description))

    def column(self, name: str) -> Column:
        """The column called `name`; KeyError when it has none."""
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"{self.name} has no column {name!r} in the data dictionary")


def identifier(name: str, label: str, meaning: str, type_: str = BIGINT) -> Column:
    """A key of ours (no Kiwoom field): a row's id or a reference to another table's."""
    return Column(name, type_, None, label, ID, meaning)


def row_key(label: str, meaning: str) -> Column:
    """A table's own key, `id`."""
    return identifier("id", label, meaning, "bigint, primary key")


def run_key(meaning: str) -> Column:
    """`run_id`: the etl_runs row that wrote a row."""
    return identifier("run_id", "실행ID", meaning, "bigint → etl_runs.id")


def amount(name: str, field: str, label: str, meaning: str) -> Column:
    """A KRW amount Kiwoom sends in `field`."""
    return Column(name, BIGINT, field, label, KRW, meaning)


def _rate(name: str, field: str, label: str, meaning: str) -> Column:
    return Column(name, f"{RATE}, percent", field, label, PERCENT, meaning)


def _orderable(percent: int) -> Column:
    return amount(
        f"orderable_amount_{percent}pct",
        f"{percent}ord_alow_amt",
        f"{percent}%주문가능금액",
        f"Amount orderable in stocks whose margin rate is {percent} %.",
    )


def with_meaning(column: Column, meaning: str) -> Column:
    """`column` with another meaning: the same column as another relation holds it."""
    return replace(column, meaning=meaning)


ACCOUNT_NO = Column(
    "account_no",
    TEXT_TYPE,
    "acctNo",
    "계좌번호",
    TEXT,
    "Account number from ka00001, or the account's configured name.",
)
EXCHANGE = Column(
    "exchange",
    "text, KRX or NXT",
    "dmst_stex_tp",
    "국내거래소구분",
    TEXT,
    "KRX or NXT: the same account seen through either exchange; never sum the two.",
)
CAPTURED_AT = Column("captured_at", TIMESTAMP, None, "조회시각", UTC_TIME, "When the first page of the answer arrived.")
TRADE_DATE = Column("trade_date", DATE_TYPE, None, "거래일", DATE, "The Asia/Seoul date of captured_at.")
POSITION_COUNT = Column(
    "position_count",
    INTEGER,
    None,
    "잔고건수",
    COUNT,
    "Lines of stk_cntr_remn over all pages (a stock may have several).",
)


@dataclass(frozen=True)
class Counted:
    """What etl_runs.position_count holds for one API's runs: `what`, then `how` it was counted (the APIs whose runs
    count alike share it: "ledger lines or estimated days received")."""

    what: str
    how: str = ""


class ApiRuns(Protocol):
    """What etl_runs' docs say of one API's runs; each declaration in etl.apis says its own."""

    @property
    def api_id(self) -> str:
        """etl_runs.api_id of its runs."""

    @property
    def what(self) -> str:
        """What a run is an attempt at, after `its kt00015`: "ledger"."""

    @property
    def fetched(self) -> str:
        """What a run fetched, as etl_runs.api_id's doc says: "the ledger"."""

    @property
    def counted(self) -> Counted:
        """What etl_runs.position_count holds for a run."""

    @property
    def per_exchange(self) -> bool:
        """Whether a run asks one exchange (else it covers both and its exchange is NULL)."""

    @property
    def per_account(self) -> bool:
        """Whether a run is an account's (else a market API's: its account_no is NULL)."""


_NUMBERS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve")


def _number(n: int) -> str:
    return _NUMBERS[n] if n < len(_NUMBERS) else str(n)


def _either(texts: Sequence[str]) -> str:
    return " or ".join((", ".join(texts[:-1]), texts[-1])) if len(texts) > 1 else "".join(texts)


def _position_count(apis: Sequence[ApiRuns]) -> str:
    # The APIs that count alike are named together: "ledger lines or estimated days received (kt00015, kt00002)".
    alike: dict[str, list[ApiRuns]] = {}
    for api in apis:
        alike.setdefault(api.counted.how, []).append(api)
    counts = _either(
        [
            f"{_either(list(dict.fromkeys(api.counted.what for api in group)))}{f' {how}' if how else ''}"
            f" ({', '.join(api.api_id for api in group)})"
            for how, group in alike.items()
        ]
    )
    return f"{counts[:1].upper()}{counts[1:]}; NULL when the run failed."


def etl_runs(apis: Sequence[ApiRuns]) -> Relation:
    """etl_runs as the runs of `apis` make it: its description and the columns that name each API's runs (etl.apis
    gives every declaration, where the metadata is completed)."""
    apis = sorted(apis, key=lambda api: not api.per_exchange)  # those that leave exchange NULL last
    per_account = [api for api in apis if not api.per_exchange and api.per_account]
    market = [api for api in apis if not api.per_account]
    no_account = (
        f"; and per run of no account's at {_either([f'its {api.api_id} {api.what}' for api in market])}"
        if market
        else ""
    )
    return Relation(
        "etl_runs",
        "적재 실행",
        "One row per account × exchange attempt at a snapshot, per schedule slot missed or skipped, and per account"
        f" attempt at {_either([f'its {api.api_id} {api.what}' for api in per_account])}{no_account}.",
        (
            row_key("실행ID", "The run's key."),
            Column(
                "trigger",
                TEXT_TYPE,
                None,
                "실행유형",
                TEXT,
                "What started it: manual (`snapshot`), scheduled, end_of_day, import, replay (demo: an older demo).",
            ),
            Column(
                "status",
                TEXT_TYPE,
                None,
                "상태",
                TEXT,
                "running, then success or failed; missed (no snapshot for the slot) or skipped (a KRX holiday).",
            ),
            with_meaning(
                ACCOUNT_NO,
                "As in account_snapshots; unknown number: the configured name or place (accounts[0] is the first)"
                + (f"; NULL for a {_either([api.api_id for api in market])} run (no account's)." if market else "."),
            ),
            with_meaning(
                EXCHANGE,
                f"KRX or NXT; NULL for a {_either([api.api_id for api in [*per_account, *market]])} run (they cover"
                " both).",
            ),
            Column("scheduled_for", TIMESTAMP, None, "예약시각", UTC_TIME, "The schedule slot; NULL for a manual run."),
            Column("started_at", TIMESTAMP, None, "시작시각", UTC_TIME, "When the run started."),
            Column("finished_at", TIMESTAMP, None, "종료시각", UTC_TIME, "When the run ended; NULL while it runs."),
            Column("page_count", INTEGER, None, "페이지수", COUNT, "Pages received."),
            with_meaning(POSITION_COUNT, _position_count(apis)),
            Column("error", TEXT_TYPE, None, "오류", TEXT, "What failed, NULL otherwise; never a credential."),
            Column(
                "reason",
                TEXT_TYPE,
                None,
                "사유",
                CODE,
                "Why the run is what it is: one of the names listed below (NULL for a plain success).",
            ),
            Column(
                "detail",
                TEXT_TYPE,
                None,
                "상세",
                TEXT,
                "The free text behind the reason: a holiday's name, what a replay did or what the run had been.",
            ),
            Column("duration_ms", BIGINT, None, "소요시간", MILLISECONDS, "finished_at − started_at."),
            Column(
                "spool_id",
                "text, unique",
                None,
                "스풀ID",
                TEXT,
                "The spool file (or import: and a digest of the pages) the run was loaded from: each loads once.",
            ),
            Column(
                "api_id",
                f"text, {_either([api.api_id for api in apis])}",
                "api-id",
                "API ID",
                CODE,
                f"What the run fetched: {_either([f'{api.api_id} ({api.fetched})' for api in apis])}; exchange is"
                f" NULL for the last {_number(len(per_account))}.",
            ),
        ),
    )


# etl_runs as the store alone knows it, naming no API: what its model is declared with; importing etl.apis completes
# it with every declaration's runs, as it adds the check of their ids.
ETL_RUNS = etl_runs(())

ACCOUNT_SNAPSHOTS = Relation(
    "account_snapshots",
    "계좌 스냅샷",
    "One row per account, exchange and snapshot: the kt00005 summary (deposits, orderable amounts, totals).",
    (
        row_key("스냅샷ID", "The snapshot's key."),
        run_key("The etl_runs row that loaded it."),
        ACCOUNT_NO,
        EXCHANGE,
        CAPTURED_AT,
        Column(
            "scheduled_for",
            f"{TIMESTAMP}, NULL for a manual run",
            None,
            "예약시각",
            UTC_TIME,
            "The schedule slot this snapshot serves; NULL for a manual run.",
        ),
        TRADE_DATE,
        amount("deposit", "entr", "예수금", "Cash deposit today."),
        amount("deposit_d1", "entr_d1", "예수금D+1", "Cash deposit after D+1 settlement."),
        amount("deposit_d2", "entr_d2", "예수금D+2", "Cash deposit after D+2 settlement."),
        amount("withdrawable_amount", "pymn_alow_amt", "출금가능금액", "Cash that can be withdrawn."),
        amount("unsettled_secured_amount", "uncl_stk_amt", "미수확보금", "Cash set aside for purchases still unpaid."),
        amount("substitute_amount", "repl_amt", "대용금", "Collateral value of the securities held (substitute)."),
        amount("rights_substitute_amount", "rght_repl_amt", "권리대용금", "Collateral value of rights held."),
        amount("orderable_cash", "ord_alowa", "주문가능현금", "Cash available for orders."),
        amount("cash_outstanding", "ch_uncla", "현금미수금", "Cash owed for purchases not yet paid (미수)."),
        amount("unpaid_credit_interest", "crd_int_npay_gold", "신용이자미납금", "Credit interest due and unpaid."),
        amount("other_loan_amount", "etc_loana", "기타대여금", "Other amounts lent to the account."),
        amount("unrepaid_loan_amount", "nrpy_loan", "미상환융자금", "Credit loans not yet repaid."),
        amount("margin_cash", "profa_ch", "증거금현금", "Cash held as order margin."),
        amount("margin_substitute", "repl_profa", "증거금대용", "Securities collateral held as order margin."),
        amount("total_purchase_amount", "stk_buy_tot_amt", "주식매수총액", "Purchase cost of all holdings."),
        amount(
            "total_evaluation_amount", "evlt_amt_tot", "평가금액합계", "Value of all holdings at the current price."
        ),
        amount("total_profit_loss", "tot_pl_tot", "총손익합계", "Unrealised profit or loss of all holdings."),
        _rate("total_profit_loss_rate", "tot_pl_rt", "총손익률", "Total profit or loss over the purchase cost."),
        amount("total_rebuy_available", "tot_re_buy_alowa", "총재매수가능금액", "Amount available to buy again."),
        _orderable(20),
        _orderable(30),
        _orderable(40),
        _orderable(50),
        _orderable(60),
        _orderable(100),
        amount("credit_loan_total", "crd_loan_tot", "신용융자합계", "Credit (margin) loans outstanding."),
        amount("credit_loan_short_total", "crd_loan_ls_tot", "신용융자대주합계", "Credit loans and stock loans."),
        _rate("credit_collateral_ratio", "crd_grnt_rt", "신용담보비율", "Collateral over credit loans."),
        amount(
            "deposit_collateral_loan_amount",
            "dpst_grnt_use_amt_amt",
            "예탁담보대출금액",
            "Loans against deposited securities.",
        ),
        amount("sale_collateral_loan_amount", "grnt_loan_amt", "매도담보대출금액", "Loans against sale proceeds."),
        POSITION_COUNT,
    ),
)

POSITION_SNAPSHOTS = Relation(
    "position_snapshots",
    "보유종목 스냅샷",
    "One row per line of stk_cntr_remn over all pages: a cash or credit holding within a snapshot.",
    (
        row_key("잔고ID", "The line's key."),
        identifier(
            "snapshot_id",
            "스냅샷ID",
            "The account_snapshots row it belongs to (deleted with it).",
            "bigint → account_snapshots.id",
        ),
        Column("line_no", INTEGER, None, "행번호", INDEX, "0-based order of the line over all pages."),
        with_meaning(ACCOUNT_NO, "Copied from the snapshot, for BI filters."),
        with_meaning(EXCHANGE, "Copied from the snapshot: KRX or NXT; never sum the two."),
        with_meaning(CAPTURED_AT, "Copied from the snapshot: when its first page arrived."),
        with_meaning(TRADE_DATE, "Copied from the snapshot: the Asia/Seoul date of captured_at."),
        Column("credit_type", TEXT_TYPE, "crd_tp", "신용구분", CODE, "00 is a cash holding; credit codes as given."),
        Column("loan_date", DATE_TYPE, "loan_dt", "대출일", DATE, "When the credit loan was taken."),
        Column("expiry_date", DATE_TYPE, "expr_dt", "만기일", DATE, "When the credit loan expires."),
        Column("stock_code", TEXT_TYPE, "stk_cd", "종목번호", CODE, "Six-character stock code, without the A prefix."),
        Column("stock_name", TEXT_TYPE, "stk_nm", "종목명", TEXT, "The stock's name."),
        Column("settlement_quantity", BIGINT, "setl_remn", "결제잔고", SHARES, "Quantity after settlement."),
        Column("quantity", BIGINT, "cur_qty", "현재잔고", SHARES, "Quantity held now."),
        Column("current_price", BIGINT, "cur_prc", "현재가", KRW_PER_SHARE, "Current price (Kiwoom's sign dropped)."),
        Column("purchase_price", BIGINT, "buy_uv", "매입단가", KRW_PER_SHARE, "Average purchase price."),
        amount("purchase_amount", "pur_amt", "매입금액", "Purchase cost of the line."),
        amount("evaluation_amount", "evlt_amt", "평가금액", "Value at the current price, net of selling costs."),
        amount("profit_loss", "evltv_prft", "평가손익", "Unrealised profit or loss of the line."),
        _rate("profit_loss_rate", "pl_rt", "손익률", "Profit or loss over the purchase cost."),
    ),
)

RAW_RESPONSES = Relation(
    "raw_responses",
    "원본 응답",
    "One row per page of a Kiwoom API (etl_runs.api_id names them) exactly as received: the audit trail and the"
    " input of a replay; never a credential.",
    (
        row_key("응답ID", "The page's key."),
        run_key("The run that received it."),
        identifier(
            "snapshot_id",
            "스냅샷ID",
            "The snapshot it built; NULL when the run failed.",
            "bigint → account_snapshots.id, NULL when the run failed",
        ),
        Column("api_id", TEXT_TYPE, "api-id", "API ID", CODE, "The Kiwoom api-id: kt00005, kt00015, ka10081, …"),
        with_meaning(ACCOUNT_NO, "As in the snapshot."),
        with_meaning(EXCHANGE, "As in the snapshot: KRX or NXT; NULL for a kt00015 page."),
        Column("page_no", INTEGER, None, "페이지번호", INDEX, "0-based position in the continuation chain."),
        Column("http_status", INTEGER, None, "HTTP상태", CODE, "The HTTP status of the answer."),
        Column(
            "cont_yn", TEXT_TYPE, "cont-yn", "연속조회여부", TEXT, "The cont-yn response header: Y when more follow."
        ),
        Column("next_key", TEXT_TYPE, "next-key", "연속조회키", TEXT, "The next-key response header."),
        Column("received_at", TIMESTAMP, None, "수신시각", UTC_TIME, "When the page arrived."),
        Column(
            "payload",
            "jsonb (text on SQLite)",
            None,
            "응답본문",
            JSON,
            "The body when it is a JSON object (jsonb keeps every value, not key order or white space).",
        ),
        Column(
            "body_text",
            TEXT_TYPE,
            None,
            "응답원문",
            TEXT,
            "The body as received when it is not a JSON object or holds a NUL character (jsonb refuses those).",
        ),
        Column(
            "asked",
            TEXT_TYPE,
            None,
            "요청값",
            CODE,
            "What the request of a market API asked, which its answer need not repeat: ka10099's market list"
            " (mrkt_tp), the code of ka10100, ka20006 (inds_cd) or ka10081 (stk_cd); ka10074's strt_dt-end_dt"
            " (20261001-20261031), which its lines are held to; NULL for another account API.",
        ),
    ),
)

DAILY_CLOSES = Relation(
    "daily_closes",
    "일별 종가",
    "One row per account × exchange × trade_date with a snapshot: the day's close and the previous day's, kept by"
    " every load; derived from account_snapshots (the views read it so that a filter on a day reaches an index).",
    (
        ACCOUNT_NO,
        EXCHANGE,
        TRADE_DATE,
        identifier(
            "snapshot_id",
            "종가스냅샷ID",
            "The day's close: its last snapshot (greatest captured_at, then id).",
            "bigint → account_snapshots.id",
        ),
        with_meaning(CAPTURED_AT, "captured_at of the day's close."),
        Column("snapshots", INTEGER, None, "스냅샷수", COUNT, "Snapshots taken that trade_date."),
        Column(
            "previous_trade_date",
            DATE_TYPE,
            None,
            "전거래일",
            DATE,
            "The previous trade_date with a snapshot of the same account and exchange; NULL on the first day.",
        ),
        identifier(
            "previous_snapshot_id",
            "전일종가스냅샷ID",
            "The previous day's close; NULL on the first day.",
            "bigint → account_snapshots.id, NULL on the first day",
        ),
    ),
)

# The chained returns' figures: exact decimals on PostgreSQL, the binary floats the view computed before on SQLite.
CHAIN_TYPE = "numeric(38,18) (REAL on SQLite)"


def _derived_amount(name: str, label: str, meaning: str) -> Column:
    return Column(name, BIGINT, None, label, KRW, meaning)


DAILY_RETURNS = Relation(
    "daily_returns",
    "일별 수익률 지수",
    "One row per account × exchange × day with a value (a close, or on KRX a kt00002 estimate): its equity, the"
    " external flow since the previous such day and the time-weighted index chained from the first day, kept by"
    " every load that changes them; derived from the snapshots, the estimates and the ledger (account_returns_daily"
    " reads it so that one account's days are read by its key).",
    (
        ACCOUNT_NO,
        EXCHANGE,
        with_meaning(TRADE_DATE, "The day valued (Asia/Seoul)."),
        with_meaning(CAPTURED_AT, "captured_at of the day's close, or 15:30 KST (the KRX close) of an estimate's day."),
        Column(
            "source",
            TEXT_TYPE,
            None,
            "출처",
            CODE,
            "snapshot (the day's close) or estimate (kt00002, on a KRX day without a snapshot).",
        ),
        _derived_amount(
            "net_assets",
            "순자산",
            "net_assets at the day's close; for an estimate estimated_assets − credit_loan (a NULL counts as 0).",
        ),
        _derived_amount(
            "collateral_loans",
            "담보대출금",
            "deposit_collateral_loan_amount + sale_collateral_loan_amount at the close, or an estimate's"
            " collateral_loan (a NULL counts as 0).",
        ),
        _derived_amount("equity", "자기자본", "net_assets − collateral_loans: what the returns are computed on."),
        _derived_amount(
            "external_flow",
            "외부유출입",
            "Σ account_flows_daily.external_flow booked after the previous day with a value, up to this one.",
        ),
        _derived_amount("dividends", "배당금", "Σ account_flows_daily.dividends over the same days."),
        Column(
            "daily_return",
            CHAIN_TYPE,
            None,
            "일간수익률",
            FRACTION,
            "(equity − external_flow) / the previous day's equity − 1; on an empty account's first day"
            " equity / external_flow − 1 (its first deposit counts from the day's start); else NULL on the first"
            " day, and where the previous equity ≤ 0.",
        ),
        Column(
            "twr_index",
            CHAIN_TYPE,
            None,
            "수익률지수",
            INDEX,
            "Π (1 + daily_return) from the first day (a NULL counting as 0): 1 before any return.",
        ),
        Column("peak_index", CHAIN_TYPE, None, "최고지수", INDEX, "The running maximum of twr_index, from 1."),
        Column("drawdown", CHAIN_TYPE, None, "낙폭", FRACTION, "twr_index / peak_index − 1: 0 at a new high."),
    ),
)


def _ledger_amount(name: str, field: str, label: str, meaning: str) -> Column:
    return amount(name, field, label, f"{meaning} Unsigned: the direction is in kind and io_type.")


def _foreign(name: str, field: str, label: str, meaning: str) -> Column:
    return Column(name, FOREIGN_TYPE, field, label, FOREIGN, meaning)


def _ledger_text(name: str, field: str, label: str, meaning: str, unit: str = TEXT) -> Column:
    return Column(name, TEXT_TYPE, field, label, unit, meaning)


SETTLEMENT_DATE = Column(
    "settlement_date",
    DATE_TYPE,
    "trde_dt",
    "거래일자",
    DATE,
    "The booking (settlement) date: a cash flow is dated by it; a trade settles two business days after it is made.",
)
TRANSACTION_NO = _ledger_text(
    "transaction_no", "trde_no", "거래번호", "The line's 9-digit number; it restarts every day.", CODE
)
ORIGINAL_TRANSACTION_NO = _ledger_text(
    "original_transaction_no",
    "orig_deal_no",
    "원거래번호",
    "The number of the line this one corrects or cancels; 000000000 when there is none.",
    CODE,
)
LEDGER_ACCOUNT_NO = with_meaning(
    ACCOUNT_NO,
    "As in account_snapshots: the account's configured name, else its number from ka00001 (kt00015's own acnt_no"
    " is masked and not kept).",
)
# A kt00015 line's natural key, as both ledger tables hold it.
NATURAL_KEY = (LEDGER_ACCOUNT_NO, SETTLEMENT_DATE, TRANSACTION_NO, ORIGINAL_TRANSACTION_NO)

ACCOUNT_TRANSACTIONS = Relation(
    "account_transactions",
    "위탁종합거래내역",
    "One row per kt00015 ledger line: deposits, withdrawals, transfers, trades, dividends, fees, taxes, interest;"
    " each natural key (account_no, settlement_date, transaction_no, original_transaction_no) once.",
    (
        row_key("거래ID", "The line's key."),
        run_key("The kt00015 run that first loaded it."),
        *NATURAL_KEY,
        Column(
            "kind",
            "text, one of the kinds below",
            None,
            "거래분류",
            CODE,
            "What the line is, from the remark by the ledger mapping: deposit, withdrawal, securities_in,"
            " securities_out, dividend, buy, sell, fee, tax, interest, loan or other (no rule matched).",
        ),
        Column("contract_date", DATE_TYPE, "cntr_dt", "체결일", DATE, "The trade date of a buy or sell."),
        Column("processed_time", CLOCK_TYPE, "proc_tm", "처리시간", KST_TIME, "When Kiwoom booked the line, in KST."),
        _ledger_text("remark", "rmrk_nm", "적요명", "The line's remark as Kiwoom writes it (장내매도, 이체입금, …)."),
        _ledger_text(
            "io_type", "io_tp", "입출구분", "Kiwoom's in/out code, as received (no code list is published).", CODE
        ),
        _ledger_text("io_type_name", "io_tp_nm", "입출구분명", "The in/out code's name (매도, 매수, 입금, …)."),
        Column(
            "stock_code",
            TEXT_TYPE,
            "stk_cd",
            "종목코드",
            CODE,
            "The stock code without an A prefix; J (ELW) and Q (ETN) codes keep theirs; empty for a cash line.",
        ),
        _ledger_text("stock_name", "stk_nm", "종목명", "The stock's name; empty for a cash line."),
        _ledger_text("isin_code", "isin_cd", "ISIN코드", "The stock's ISIN.", CODE),
        Column(
            "quantity",
            QUANTITY_TYPE,
            "trde_qty_jwa_cnt",
            "거래수량/좌수",
            UNITS,
            "Shares, or fund units (which may be fractional), moved by the line.",
        ),
        Column(
            "unit_price",
            FOREIGN_TYPE,
            "trde_unit",
            "거래단가/환율",
            KRW_PER_SHARE,
            "The price per share, or the exchange rate of a currency exchange; Kiwoom's thousands commas removed.",
        ),
        _ledger_amount("trade_amount", "trde_amt", "거래금액", "The gross amount."),
        _ledger_amount(
            "settled_amount",
            "exct_amt",
            "정산금액",
            "The net cash effect: for a sale trade_amount − transaction_tax − commission.",
        ),
        _ledger_amount("commission", "cmsn", "수수료", "Commission charged on the line."),
        _ledger_amount("transaction_tax", "trde_agri_tax", "거래및농특세", "Securities transaction and rural tax."),
        _ledger_amount(
            "income_tax",
            "incm_resi_tax",
            "소득/주민세",
            "Income and resident tax withheld (on a dividend or interest).",
        ),
        _ledger_amount("tax_fee_total", "tax_sum_cmsn", "세금수수료합", "Taxes and commission together."),
        Column("cash_balance", BIGINT, "entra_remn", "예수금잔고", KRW, "Cash in the account after the line."),
        Column(
            "securities_balance",
            QUANTITY_TYPE,
            "vlbl_nowrm",
            "유가금잔",
            UNITS,
            "The stock's quantity in the account after the line.",
        ),
        _ledger_text("credit_deal_type_name", "crd_deal_tp_nm", "신용거래구분명", "보통매매, or the kind of credit."),
        _ledger_amount("loan_repayment", "loan_amt_rpya", "대출금상환", "Loan repaid by the line."),
        Column("loan_date", DATE_TYPE, "loan_dt", "대출일", DATE, "The loan's date, for a credit line."),
        _ledger_amount("repayment_difference", "rpy_diffa", "상환차금", "Repayment difference."),
        _ledger_amount("overdue_total", "dly_sum", "연체합", "Overdue charges."),
        _ledger_amount("interest_lending_fee", "int_ls_usfe", "이자/대주이용", "Interest, or the stock-lending fee."),
        Column("uncollected", QUANTITY_TYPE, "uncl_ocr", "미수(원/주)", UNITS, "Receivables arising (KRW or shares)."),
        Column("repayment_total", QUANTITY_TYPE, "rpym_sum", "변제합", UNITS, "Repaid in total (KRW or shares)."),
        _ledger_text("currency", "crnc_cd", "통화코드", "The line's currency (KRW, USD, …).", CODE),
        _foreign("fc_trade_amount", "fc_trde_amt", "거래금액(외)", "The gross amount in the foreign currency."),
        _foreign("fc_settled_amount", "fc_exct_amt", "정산금액(외)", "The net amount in the foreign currency."),
        _foreign("fc_transaction_tax", "fc_trde_tax", "거래세(외)", "Transaction tax in the foreign currency."),
        _foreign("fc_commission", "fc_cmsn", "수수료(외)", "Commission in the foreign currency."),
        _foreign("fc_overdue_total", "fc_dly_sum", "연체합(외)", "Overdue charges in the foreign currency."),
        _foreign("fc_cash_balance", "fc_entra", "외화예수금잔고", "Foreign-currency cash after the line."),
        _foreign("fc_uncollected", "fc_uncl_ocr", "미수(외)", "Receivables in the foreign currency."),
        _foreign("fc_repayment_total", "rpym_sum_fr", "변제합(외)", "Repaid in total, in the foreign currency."),
        _foreign("foreign_tax_paid", "frgn_pay_txam", "외국납부세액(외)", "Tax paid abroad, in the foreign currency."),
        _foreign("tax_base_price", "txon_base_pric", "과세기준가", "The price taxes are based on."),
        _ledger_text(
            "transaction_class", "trde_ocr_tp", "거래종류구분", "Kiwoom's kind code (1 입출금, 9 매매, …).", CODE
        ),
        _ledger_text("transaction_class_name", "trde_kind_nm", "거래종류명", "The kind code's name."),
        _ledger_text("history_type", "trde_prtc_tp", "거래내역구분", "Kiwoom's history code, as received.", CODE),
        _ledger_text("trade_style", "trde_stle", "매매형태", "The trade's form, as received."),
        _ledger_text("channel_name", "mdia_tp_nm", "매체구분명", "Where the order came from (REST API, …)."),
        _ledger_text("exchange_code", "stex_cd", "거래소코드", "The exchange's code, as received.", CODE),
        _ledger_text("exchange_name", "stex_nm", "거래소명", "The exchange's name, as received."),
        _ledger_text("cash_slip_no", "rcpy_no", "출납번호", "The cash slip's number.", CODE),
        _ledger_text("processor", "prcsr", "처리자", "Who or what booked the line (DAILY: the nightly batch)."),
        _ledger_text("processing_branch", "proc_brch", "처리점", "The branch that booked it."),
        _ledger_text("depositor", "rcpmnyer", "입금자", "Who sent a deposit, as the bank reports it."),
        Column("loaded_at", TIMESTAMP, None, "적재시각", UTC_TIME, "When kiwoom-etl first loaded the line."),
    ),
)


# What a conflict row says of a repeat that differs (the ledger's and the fills'): the same words in both tables.
CONFLICT_DIFFERENCES = Column(
    "differences",
    TEXT_TYPE,
    None,
    "차이",
    TEXT,
    "Each differing column: `column: stored → received`, separated by `; `.",
)


ACCOUNT_TRANSACTION_CONFLICTS = Relation(
    "account_transaction_conflicts",
    "거래내역 충돌",
    "One row per kt00015 line that came again under a stored line's natural key with different content: kept"
    " for review, never written over the stored line.",
    (
        row_key("충돌ID", "The conflict's key."),
        run_key("The kt00015 run that received the differing line."),
        *NATURAL_KEY,
        identifier(
            "transaction_id",
            "거래ID",
            "The stored line it differs from.",
            "bigint → account_transactions.id",
        ),
        CONFLICT_DIFFERENCES,
        Column("line", "jsonb (text on SQLite)", None, "수신행", JSON, "The differing line exactly as received."),
        Column("received_at", TIMESTAMP, None, "수신시각", UTC_TIME, "When its page arrived."),
    ),
)

EXECUTION_ACCOUNT_NO = Column(
    "account_no", TEXT_TYPE, "9201", "계좌번호", TEXT, "The account of the fill, as the push names it."
)
EXECUTION_TRADE_DATE = Column(
    "trade_date", DATE_TYPE, None, "체결일", DATE, "The Asia/Seoul day the push arrived on: the fill's trade day."
)
ORDER_NO = Column("order_no", TEXT_TYPE, "9203", "주문번호", CODE, "The order the fill belongs to, as sent.")
EXECUTION_NO = Column("execution_no", TEXT_TYPE, "909", "체결번호", CODE, "The fill's number, as sent.")
# A fill's natural key, as both fill tables hold it.
EXECUTION_KEY = (EXECUTION_ACCOUNT_NO, EXECUTION_TRADE_DATE, ORDER_NO, EXECUTION_NO)
EXECUTION_MESSAGE = Column(
    "message",
    "jsonb (text on SQLite)",
    None,
    "수신메시지",
    JSON,
    "The push item (type, name, item and every FID of values) as received; a NUL or an unpaired UTF-16 surrogate,"
    " which JSONB cannot hold, is kept as U+FFFD.",
)
EXECUTION_RECEIVED_AT = Column("received_at", TIMESTAMP, None, "수신시각", UTC_TIME, "When the push arrived.")


def _day_total(name: str, field: str, label: str, what: str) -> Column:
    return Column(
        name,
        BIGINT,
        field,
        label,
        KRW,
        f"As sent with the fill: the account's {what} of the day so far (당일 cumulative, the fills before it"
        " included), not this fill's own; NULL when empty.",
    )


EXECUTIONS = Relation(
    "executions",
    "실시간 체결",
    "One row per fill pushed by Kiwoom's real-time feed (type 00 주문체결 whose 주문상태 is 체결; 접수, 확인, 취소 and"
    " 거부 are not fills): each natural key (account_no, trade_date, order_no, execution_no) once.",
    (
        row_key("체결ID", "The fill's key."),
        *EXECUTION_KEY,
        Column(
            "exchange",
            "text, KRX or NXT",
            "2134",
            "거래소구분",
            TEXT,
            "KRX (1) or NXT (2): the market the fill was done on; a fill naming 0 (통합) is refused, not guessed.",
        ),
        Column("stock_code", TEXT_TYPE, "9001", "종목코드", CODE, "The stock code without an A prefix."),
        Column("stock_name", TEXT_TYPE, "302", "종목명", TEXT, "The stock's name as sent; NULL when empty."),
        Column("side", "text, buy or sell", "907", "매도수구분", CODE, "sell (1) or buy (2)."),
        Column("quantity", BIGINT, "911", "체결량", SHARES, "Shares this fill traded."),
        Column("price", BIGINT, "910", "체결가", KRW_PER_SHARE, "This fill's price, its sign (direction) dropped."),
        _day_total("commission", "938", "당일매매수수료", "commission"),
        _day_total("tax", "939", "당일매매세금", "tax on trades"),
        Column(
            "executed_at",
            TIMESTAMP,
            "908",
            "체결시각",
            UTC_TIME,
            "trade_date at the push's HHmmss (주문/체결시간) in KST, stored in UTC.",
        ),
        EXECUTION_RECEIVED_AT,
        EXECUTION_MESSAGE,
    ),
)

EXECUTION_CONFLICTS = Relation(
    "execution_conflicts",
    "체결 충돌",
    "One row per fill that came again under a stored fill's natural key with different content: kept for review,"
    " never written over the stored fill.",
    (
        row_key("충돌ID", "The conflict's key."),
        *EXECUTION_KEY,
        identifier("execution_id", "체결ID", "The stored fill it differs from.", "bigint → executions.id"),
        CONFLICT_DIFFERENCES,
        with_meaning(EXECUTION_MESSAGE, "The differing push item exactly as received."),
        with_meaning(EXECUTION_RECEIVED_AT, "When the differing push arrived."),
    ),
)

REALTIME_LEASES = Relation(
    "realtime_leases",
    "실시간 수신권",
    "One row per app key whose real-time feed a daemon listens to: the replica that holds the key's one WebSocket"
    " session, until expires_at unless it renews (etl.store.lease); a replica stopping cleanly deletes its row.",
    (
        identifier(
            "app_key_id",
            "앱키ID",
            "The app key, named by the first 16 hex digits of its SHA-256 (the key itself is never stored).",
            "text, primary key",
        ),
        Column(
            "holder",
            TEXT_TYPE,
            None,
            "보유자",
            TEXT,
            "The replica listening: its host name, process id and a random suffix (host:pid:suffix).",
        ),
        Column("acquired_at", TIMESTAMP, None, "획득시각", UTC_TIME, "When the holder took the lease."),
        Column("renewed_at", TIMESTAMP, None, "갱신시각", UTC_TIME, "When the holder last renewed it."),
        Column(
            "expires_at",
            TIMESTAMP,
            None,
            "만료시각",
            UTC_TIME,
            "When another replica may take it over, unless the holder renews it first: renewed_at + the lease's term.",
        ),
        Column(
            "account_nos",
            TEXT_TYPE,
            None,
            "계좌번호",
            TEXT,
            "The app key's accounts as the tables name them (account_no), a JSON array: which accounts' fills the"
            " session receives.",
        ),
        Column(
            "connected_at",
            TIMESTAMP,
            None,
            "접속시각",
            UTC_TIME,
            "When the holder's session logged in and registered, as of its last renewal; NULL while it is not connected"
            " (reconnecting).",
        ),
        Column(
            "last_message_at",
            TIMESTAMP,
            None,
            "최근수신시각",
            UTC_TIME,
            "When the session last heard from Kiwoom (a push or a PING), as of the holder's last renewal.",
        ),
    ),
)

AVERAGE_SCALE = 4  # realized_sales.average_cost's decimal places, rounded half up
AVERAGE_TYPE = f"numeric(24,{AVERAGE_SCALE})"

# realized_sales' columns, which realized_pnl shows as they are (the view's contract: etl.read.views.realized).
REALIZED_SALE_COLUMNS = (
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
)

REALIZED_SALES = Relation(
    "realized_sales",
    "실현손익 원장",
    "One row per sell line of the ledger done after the account's first close, at the moving-average cost of the"
    " shares held (이동평균법): what realized_pnl shows, derived from the ledger and the first close's holdings by"
    " each account's walk (etl.store.realized) and kept by every load that changes them, so that one account's sales"
    " are read by the table's key.",
    REALIZED_SALE_COLUMNS,
)

# The store's own tables (etl.store.models), in the order they are declared; etl.apis adds the declarations' own.
TABLES: dict[str, Relation] = {
    t.name: t
    for t in (
        ETL_RUNS,
        ACCOUNT_SNAPSHOTS,
        POSITION_SNAPSHOTS,
        DAILY_CLOSES,
        RAW_RESPONSES,
        ACCOUNT_TRANSACTIONS,
        ACCOUNT_TRANSACTION_CONFLICTS,
        DAILY_RETURNS,
        REALIZED_SALES,
        EXECUTIONS,
        EXECUTION_CONFLICTS,
        REALTIME_LEASES,
    )
}


def comment_statements(dialect: Dialect, present: Mapping[Relation, list[str]], *, clear: bool = False) -> list[str]:
    """`COMMENT ON` statements, as `dialect`'s driver takes them, for the relations in `present` (each with its columns
    in the database); with `clear`, the statements that remove their comments.
    """
    if not dialect.supports_comments:
        return []
    quote = dialect.identifier_preparer.quote

    def literal(text: str) -> str:
        return str(sql_literal(text, String()).compile(dialect=dialect, compile_kwargs={"literal_binds": True}))

    statements = []
    for relation, columns in present.items():
        name = relation.name
        kind = "VIEW" if relation.is_view else "TABLE"
        statements.append(f"COMMENT ON {kind} {quote(name)} IS {'NULL' if clear else literal(relation.comment)}")
        described = {column.name: column for column in relation.columns}
        for column_name in columns:
            if column_name in described:
                text = "NULL" if clear else literal(described[column_name].comment)
                statements.append(f"COMMENT ON COLUMN {quote(name)}.{quote(column_name)} IS {text}")
    return statements


def write_comments(connection: Connection, relations: Iterable[Relation], *, clear: bool = False) -> None:
    """Set the comments of `relations` (tables, or views as etl.read.views describes them), or remove them with `clear`.

    Nothing happens on SQLite, which has no comments. Relations and columns the database lacks are left out, so that
    a migration comments what its revision has. Dropping a view drops its comments: call this after recreating one.
    """
    if not connection.dialect.supports_comments:
        return
    inspector = inspect(connection)
    existing = set(inspector.get_table_names()) | set(inspector.get_view_names())
    present = {r: [c["name"] for c in inspector.get_columns(r.name)] for r in relations if r.name in existing}
    for statement in comment_statements(connection.dialect, present, clear=clear):
        connection.exec_driver_sql(statement)  # not text(): a `:` in a comment would read as a parameter
