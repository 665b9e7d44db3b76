"""The store's tables as SQLAlchemy Core tables on a naming convention, each commented from its description in the
data dictionary (etl.store.dictionary).

The tables the store's own modules read and write are declared here; a table that only one API's declaration writes is
declared beside it in etl.apis, on the same `Base`, so that importing `etl.apis` is what makes the metadata hold every
table (what Alembic, export and the dictionary's tests read).

Each table is declared as a class whose attributes are its columns (`EtlRun.id` is `etl_runs.c.id`) and whose
`__table__` is the `Table`; the class goes wherever SQLAlchemy takes a table (`update(EtlRun)`, `select_from(EtlRun)`).
Nothing here uses the ORM: the code runs Core statements only, and `sqlalchemy.orm` is about 6 MB that every
process, the daemon included, would otherwise carry.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time
from decimal import Decimal
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ColumnClause,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    Table,
    Text,
    Time,
    UniqueConstraint,
    text,
)
from sqlalchemy.schema import SchemaItem

from etl.normalize.ledger import Kind
from etl.store.dictionary import (
    ACCOUNT_SNAPSHOTS,
    ACCOUNT_TRANSACTION_CONFLICTS,
    ACCOUNT_TRANSACTIONS,
    AVERAGE_SCALE,
    DAILY_CLOSES,
    DAILY_RETURNS,
    ETL_RUNS,
    EXECUTION_CONFLICTS,
    EXECUTIONS,
    POSITION_SNAPSHOTS,
    RAW_RESPONSES,
    REALIZED_SALES,
    REALTIME_LEASES,
    Relation,
)
from etl.store.sqltypes import ExactDecimal, RawJson, UtcDateTime

# From Alembic's naming doc, with every column of a composite index or key in its name.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BIGINT keys on PostgreSQL; SQLite only auto-increments a column declared INTEGER (which is 64-bit there).
Id = BigInteger().with_variant(Integer(), "sqlite")
Rate = ExactDecimal(12, 4)
Quantity = ExactDecimal(15, 6)
ForeignAmount = ExactDecimal(15, 4)


class Base:
    """A table declared as a class: its columns in order as attributes (named after them), its description in the
    data dictionary (`__relation__`), then `__table_args__`.

    The attributes are typed `ColumnClause[T]`, T being what the column holds in Python: SQLAlchemy 2.1 types a
    `Column` read from a class as `Never` (outside its `TypedColumns`).
    """

    metadata: ClassVar[MetaData] = MetaData(naming_convention=NAMING_CONVENTION)
    __tablename__: ClassVar[str]
    __relation__: ClassVar[Relation]
    __table__: ClassVar[Table]
    __table_args__: ClassVar[tuple[SchemaItem, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        columns = []
        for key, value in vars(cls).items():
            if isinstance(value, Column):
                value.name = value.key = key
                columns.append(value)
        cls.__table__ = Table(cls.__tablename__, cls.metadata, *columns, *cls.__table_args__)
        describe(cls.__table__, cls.__relation__)

    @classmethod
    def __clause_element__(cls) -> Table:
        """What SQLAlchemy coerces the class to where it takes a table or a FROM clause."""
        return cls.__table__


class RunStatus(StrEnum):
    """etl_runs.status: how an attempt at a slot stands (analysts filter on these five values)."""

    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"
    MISSED = "missed"
    SKIPPED = "skipped"


class Reason(StrEnum):
    """etl_runs.reason: why a run is what it is; the free text behind it (a holiday's name, a refused value) is in
    `detail` or `error`. The same names label the metrics and show in `kiwoom-etl status`."""

    MARKET_CLOSED = "market_closed"  # skipped: a weekend or KRX holiday (detail: its name)
    CLAIMED_ELSEWHERE = "claimed_elsewhere"  # another replica took the slot (a result, never a row of ours)
    PAYLOAD_REFUSED = "payload_refused"  # failed: a value does not match the contract
    API_ERROR = "api_error"  # failed: the Kiwoom API failed or refused
    DATABASE_ERROR = "database_error"  # failed: the database refused what it was given
    SPOOLED = "spooled"  # the database was away: the snapshot went through the spool
    ABANDONED = "abandoned"  # failed: the process was killed before it finished
    STILL_RUNNING = "still_running"  # missed: the previous snapshot of the pair was still running
    DAEMON_DOWN = "daemon_down"  # missed: no daemon was running
    NOT_STARTED = "not_started"  # missed: the daemon ran but did not start the slot (the machine slept)
    REPLAYED = "replayed"  # rebuilt from raw_responses by `kiwoom-etl replay` (detail: when, and what it had been)
    INTERNAL_ERROR = "internal_error"  # failed: a bug in kiwoom-etl
    NOT_SUPPORTED = "not_supported"  # failed: the server does not offer the API (8104, 8200); not asked again


def one_of(column: str, values: Iterable[str]) -> str:
    """The SQL of a check that `column` holds one of `values`."""
    return f"{column} IN ({', '.join(repr(str(v)) for v in values)})"


def describe(table: Table, relation: Relation) -> None:
    """Comment `table` and its columns from `relation`, its description in the data dictionary.

    The texts live in the dictionary only; Alembic compares them with PostgreSQL's COMMENT ON (migration 0006). A
    column it does not describe is a KeyError here.
    """
    table.comment = relation.comment
    table.info["relation"] = relation
    for column in table.columns:
        column.comment = relation.column(column.name).comment


def relation_of(table: Table) -> Relation:
    """The data dictionary's description of `table` (a `Base` table's)."""
    relation: Relation = table.info["relation"]
    return relation


class EtlRun(Base):
    """One account × exchange snapshot attempt, or a slot that was missed or skipped: when, why, how it ended.

    A scheduled slot has at most one row per account and exchange: the unique key is how replicas claim it.
    """

    __tablename__ = "etl_runs"
    __relation__ = ETL_RUNS  # described again with every declared API's runs where they are all declared (etl.apis)

    id: ColumnClause[int] = Column(Id, primary_key=True)
    trigger: ColumnClause[str] = Column(Text, nullable=False)
    status: ColumnClause[str] = Column(Text, nullable=False)
    account_no: ColumnClause[str] = Column(Text)
    exchange: ColumnClause[str] = Column(Text)
    scheduled_for: ColumnClause[datetime] = Column(UtcDateTime)
    started_at: ColumnClause[datetime] = Column(UtcDateTime, nullable=False)
    finished_at: ColumnClause[datetime] = Column(UtcDateTime)
    page_count: ColumnClause[int] = Column(Integer)
    position_count: ColumnClause[int] = Column(Integer)
    error: ColumnClause[str] = Column(Text)
    reason: ColumnClause[str] = Column(Text)
    detail: ColumnClause[str] = Column(Text)
    # BIGINT: an import or a flush of a capture weeks old spans more than INTEGER's 24.8 days of milliseconds.
    duration_ms: ColumnClause[int] = Column(BigInteger().with_variant(Integer(), "sqlite"))
    spool_id: ColumnClause[str] = Column(Text, unique=True)  # loaded from the spool: at most once
    # Its check, one of the declared APIs' ids, is added where they are all declared (etl.apis).
    api_id: ColumnClause[str] = Column(Text, nullable=False, server_default=text("'kt00005'"))

    __table_args__ = (
        CheckConstraint(one_of("status", RunStatus), name="status"),
        CheckConstraint(one_of("reason", Reason), name="reason"),
        UniqueConstraint("account_no", "exchange", "scheduled_for"),
        # A ledger run has no exchange, and NULLs never collide in a unique key: its day is claimed here.
        Index(
            "uq_etl_runs_ledger_day",
            "api_id",
            "account_no",
            "scheduled_for",
            unique=True,
            sqlite_where=text("exchange IS NULL"),
            postgresql_where=text("exchange IS NULL"),
        ),
        # A market API's run is no account's: its day is claimed by the API alone.
        Index(
            "uq_etl_runs_market_day",
            "api_id",
            "scheduled_for",
            unique=True,
            sqlite_where=text("account_no IS NULL AND exchange IS NULL"),
            postgresql_where=text("account_no IS NULL AND exchange IS NULL"),
        ),
        Index(None, "account_no", "exchange", "started_at"),
        Index(None, "status", "started_at"),
    )


class AccountSnapshot(Base):
    """One account × exchange at one moment: the kt00005 summary."""

    __tablename__ = "account_snapshots"
    __relation__ = ACCOUNT_SNAPSHOTS

    id: ColumnClause[int] = Column(Id, primary_key=True)
    run_id: ColumnClause[int] = Column(ForeignKey("etl_runs.id"), nullable=False)
    account_no: ColumnClause[str] = Column(Text, nullable=False)
    exchange: ColumnClause[str] = Column(Text, nullable=False)
    captured_at: ColumnClause[datetime] = Column(UtcDateTime, nullable=False)
    scheduled_for: ColumnClause[datetime] = Column(UtcDateTime)
    trade_date: ColumnClause[date] = Column(Date, nullable=False)
    deposit: ColumnClause[int] = Column(BigInteger)
    deposit_d1: ColumnClause[int] = Column(BigInteger)
    deposit_d2: ColumnClause[int] = Column(BigInteger)
    withdrawable_amount: ColumnClause[int] = Column(BigInteger)
    unsettled_secured_amount: ColumnClause[int] = Column(BigInteger)
    substitute_amount: ColumnClause[int] = Column(BigInteger)
    rights_substitute_amount: ColumnClause[int] = Column(BigInteger)
    orderable_cash: ColumnClause[int] = Column(BigInteger)
    cash_outstanding: ColumnClause[int] = Column(BigInteger)
    unpaid_credit_interest: ColumnClause[int] = Column(BigInteger)
    other_loan_amount: ColumnClause[int] = Column(BigInteger)
    unrepaid_loan_amount: ColumnClause[int] = Column(BigInteger)
    margin_cash: ColumnClause[int] = Column(BigInteger)
    margin_substitute: ColumnClause[int] = Column(BigInteger)
    total_purchase_amount: ColumnClause[int] = Column(BigInteger)
    total_evaluation_amount: ColumnClause[int] = Column(BigInteger)
    total_profit_loss: ColumnClause[int] = Column(BigInteger)
    total_profit_loss_rate: ColumnClause[Decimal] = Column(Rate)
    total_rebuy_available: ColumnClause[int] = Column(BigInteger)
    orderable_amount_20pct: ColumnClause[int] = Column(BigInteger)
    orderable_amount_30pct: ColumnClause[int] = Column(BigInteger)
    orderable_amount_40pct: ColumnClause[int] = Column(BigInteger)
    orderable_amount_50pct: ColumnClause[int] = Column(BigInteger)
    orderable_amount_60pct: ColumnClause[int] = Column(BigInteger)
    orderable_amount_100pct: ColumnClause[int] = Column(BigInteger)
    credit_loan_total: ColumnClause[int] = Column(BigInteger)
    credit_loan_short_total: ColumnClause[int] = Column(BigInteger)
    credit_collateral_ratio: ColumnClause[Decimal] = Column(Rate)
    deposit_collateral_loan_amount: ColumnClause[int] = Column(BigInteger)
    sale_collateral_loan_amount: ColumnClause[int] = Column(BigInteger)
    position_count: ColumnClause[int] = Column(Integer, nullable=False)

    __table_args__ = (
        UniqueConstraint("account_no", "exchange", "scheduled_for"),
        CheckConstraint("exchange IN ('KRX', 'NXT')", name="exchange"),
        Index(None, "account_no", "exchange", "captured_at"),
        Index(None, "trade_date"),
        Index(None, "run_id"),
    )


class PositionSnapshot(Base):
    """One line of stk_cntr_remn: a holding (cash or credit) within a snapshot."""

    __tablename__ = "position_snapshots"
    __relation__ = POSITION_SNAPSHOTS

    id: ColumnClause[int] = Column(Id, primary_key=True)
    snapshot_id: ColumnClause[int] = Column(ForeignKey("account_snapshots.id", ondelete="CASCADE"), nullable=False)
    line_no: ColumnClause[int] = Column(Integer, nullable=False)
    account_no: ColumnClause[str] = Column(Text, nullable=False)
    exchange: ColumnClause[str] = Column(Text, nullable=False)
    captured_at: ColumnClause[datetime] = Column(UtcDateTime, nullable=False)
    trade_date: ColumnClause[date] = Column(Date, nullable=False)
    credit_type: ColumnClause[str] = Column(Text)
    loan_date: ColumnClause[date] = Column(Date)
    expiry_date: ColumnClause[date] = Column(Date)
    stock_code: ColumnClause[str] = Column(Text)
    stock_name: ColumnClause[str] = Column(Text)
    settlement_quantity: ColumnClause[int] = Column(BigInteger)
    quantity: ColumnClause[int] = Column(BigInteger)
    current_price: ColumnClause[int] = Column(BigInteger)
    purchase_price: ColumnClause[int] = Column(BigInteger)
    purchase_amount: ColumnClause[int] = Column(BigInteger)
    evaluation_amount: ColumnClause[int] = Column(BigInteger)
    profit_loss: ColumnClause[int] = Column(BigInteger)
    profit_loss_rate: ColumnClause[Decimal] = Column(Rate)

    __table_args__ = (
        UniqueConstraint("snapshot_id", "line_no"),
        Index(None, "account_no", "exchange", "captured_at"),
        Index(None, "stock_code", "captured_at"),
        Index(None, "trade_date"),
    )


class DailyClose(Base):
    """One account × exchange × trade_date: its close and the previous day's, derived by etl.store.closes."""

    __tablename__ = "daily_closes"
    __relation__ = DAILY_CLOSES

    account_no: ColumnClause[str] = Column(Text, primary_key=True)
    exchange: ColumnClause[str] = Column(Text, primary_key=True)
    trade_date: ColumnClause[date] = Column(Date, primary_key=True)
    snapshot_id: ColumnClause[int] = Column(
        ForeignKey("account_snapshots.id", ondelete="CASCADE"), unique=True, nullable=False
    )
    captured_at: ColumnClause[datetime] = Column(UtcDateTime, nullable=False)
    snapshots: ColumnClause[int] = Column(Integer, nullable=False)
    previous_trade_date: ColumnClause[date] = Column(Date)
    previous_snapshot_id: ColumnClause[int] = Column(
        ForeignKey("account_snapshots.id", ondelete="SET NULL"), index=True
    )


class RawResponse(Base):
    """One kt00005 page exactly as received: the audit trail and the input of a replay. Never a credential."""

    __tablename__ = "raw_responses"
    __relation__ = RAW_RESPONSES

    id: ColumnClause[int] = Column(Id, primary_key=True)
    run_id: ColumnClause[int] = Column(ForeignKey("etl_runs.id"), nullable=False)
    snapshot_id: ColumnClause[int] = Column(ForeignKey("account_snapshots.id", ondelete="SET NULL"))
    api_id: ColumnClause[str] = Column(Text, nullable=False)
    account_no: ColumnClause[str] = Column(Text)
    exchange: ColumnClause[str] = Column(Text)
    page_no: ColumnClause[int] = Column(Integer, nullable=False)
    http_status: ColumnClause[int] = Column(Integer, nullable=False)
    cont_yn: ColumnClause[str] = Column(Text)
    next_key: ColumnClause[str] = Column(Text)
    received_at: ColumnClause[datetime] = Column(UtcDateTime, nullable=False)
    # The body as JSON when it is a JSON object; otherwise (broken JSON) its text in body_text.
    payload: ColumnClause[str] = Column(RawJson())
    body_text: ColumnClause[str] = Column(Text)
    # What the request asked of a market API, whose answer need not repeat it: the list (ka10099) or the code.
    asked: ColumnClause[str] = Column(Text)

    __table_args__ = (
        Index(None, "run_id"),
        Index(None, "snapshot_id"),
        Index(None, "account_no", "exchange", "received_at"),
    )


def _ledger_line() -> tuple[
    ColumnClause[int], ColumnClause[int], ColumnClause[str], ColumnClause[date], ColumnClause[str], ColumnClause[str]
]:
    """The columns both ledger tables start with: id, run_id and a kt00015 line's natural key (account_no,
    settlement_date, transaction_no, original_transaction_no), fresh for each table (a column belongs to one)."""
    return (
        Column(Id, primary_key=True),
        Column(ForeignKey("etl_runs.id"), nullable=False),
        Column(Text, nullable=False),
        Column(Date, nullable=False),
        Column(Text, nullable=False),
        Column(Text, nullable=False),
    )


class AccountTransaction(Base):
    """One kt00015 ledger line: a natural key (account, settlement date, number, original number) once."""

    __tablename__ = "account_transactions"
    __relation__ = ACCOUNT_TRANSACTIONS

    id, run_id, account_no, settlement_date, transaction_no, original_transaction_no = _ledger_line()
    kind: ColumnClause[str] = Column(Text, nullable=False)
    contract_date: ColumnClause[date] = Column(Date)
    processed_time: ColumnClause[time] = Column(Time)
    remark: ColumnClause[str] = Column(Text)
    io_type: ColumnClause[str] = Column(Text)
    io_type_name: ColumnClause[str] = Column(Text)
    stock_code: ColumnClause[str] = Column(Text)
    stock_name: ColumnClause[str] = Column(Text)
    isin_code: ColumnClause[str] = Column(Text)
    quantity: ColumnClause[Decimal] = Column(Quantity)
    unit_price: ColumnClause[Decimal] = Column(ForeignAmount)
    trade_amount: ColumnClause[int] = Column(BigInteger)
    settled_amount: ColumnClause[int] = Column(BigInteger)
    commission: ColumnClause[int] = Column(BigInteger)
    transaction_tax: ColumnClause[int] = Column(BigInteger)
    income_tax: ColumnClause[int] = Column(BigInteger)
    tax_fee_total: ColumnClause[int] = Column(BigInteger)
    cash_balance: ColumnClause[int] = Column(BigInteger)
    securities_balance: ColumnClause[Decimal] = Column(Quantity)
    credit_deal_type_name: ColumnClause[str] = Column(Text)
    loan_repayment: ColumnClause[int] = Column(BigInteger)
    loan_date: ColumnClause[date] = Column(Date)
    repayment_difference: ColumnClause[int] = Column(BigInteger)
    overdue_total: ColumnClause[int] = Column(BigInteger)
    interest_lending_fee: ColumnClause[int] = Column(BigInteger)
    uncollected: ColumnClause[Decimal] = Column(Quantity)
    repayment_total: ColumnClause[Decimal] = Column(Quantity)
    currency: ColumnClause[str] = Column(Text)
    fc_trade_amount: ColumnClause[Decimal] = Column(ForeignAmount)
    fc_settled_amount: ColumnClause[Decimal] = Column(ForeignAmount)
    fc_transaction_tax: ColumnClause[Decimal] = Column(ForeignAmount)
    fc_commission: ColumnClause[Decimal] = Column(ForeignAmount)
    fc_overdue_total: ColumnClause[Decimal] = Column(ForeignAmount)
    fc_cash_balance: ColumnClause[Decimal] = Column(ForeignAmount)
    fc_uncollected: ColumnClause[Decimal] = Column(ForeignAmount)
    fc_repayment_total: ColumnClause[Decimal] = Column(ForeignAmount)
    foreign_tax_paid: ColumnClause[Decimal] = Column(ForeignAmount)
    tax_base_price: ColumnClause[Decimal] = Column(ForeignAmount)
    transaction_class: ColumnClause[str] = Column(Text)
    transaction_class_name: ColumnClause[str] = Column(Text)
    history_type: ColumnClause[str] = Column(Text)
    trade_style: ColumnClause[str] = Column(Text)
    channel_name: ColumnClause[str] = Column(Text)
    exchange_code: ColumnClause[str] = Column(Text)
    exchange_name: ColumnClause[str] = Column(Text)
    cash_slip_no: ColumnClause[str] = Column(Text)
    processor: ColumnClause[str] = Column(Text)
    processing_branch: ColumnClause[str] = Column(Text)
    depositor: ColumnClause[str] = Column(Text)
    loaded_at: ColumnClause[datetime] = Column(UtcDateTime, nullable=False)

    __table_args__ = (
        # Named: the convention's name would pass PostgreSQL's 63 characters.
        UniqueConstraint(
            "account_no",
            "settlement_date",
            "transaction_no",
            "original_transaction_no",
            name="uq_account_transactions_natural_key",
        ),
        CheckConstraint(one_of("kind", Kind), name="kind"),
        Index(None, "kind"),
        Index(None, "run_id"),
    )


class AccountTransactionConflict(Base):
    """A kt00015 line that came again under a stored line's natural key with different content."""

    __tablename__ = "account_transaction_conflicts"
    __relation__ = ACCOUNT_TRANSACTION_CONFLICTS

    id, run_id, account_no, settlement_date, transaction_no, original_transaction_no = _ledger_line()
    transaction_id: ColumnClause[int] = Column(
        ForeignKey("account_transactions.id", name="fk_account_transaction_conflicts_transaction_id"), nullable=False
    )
    differences: ColumnClause[str] = Column(Text, nullable=False)
    line: ColumnClause[str] = Column(RawJson(), nullable=False)
    received_at: ColumnClause[datetime] = Column(UtcDateTime, nullable=False)

    __table_args__ = (Index(None, "transaction_id"),)


# daily_returns' chained figures: exact on PostgreSQL; on SQLite the REAL its view computed them in before.
_CHAIN = Numeric(38, 18, asdecimal=True).with_variant(Float(), "sqlite")


class DailyReturn(Base):
    """One account × exchange × day with a value: its equity, flows and chained return, derived by etl.store.returns."""

    __tablename__ = "daily_returns"
    __relation__ = DAILY_RETURNS

    account_no: ColumnClause[str] = Column(Text, primary_key=True)
    exchange: ColumnClause[str] = Column(Text, primary_key=True)
    trade_date: ColumnClause[date] = Column(Date, primary_key=True)
    captured_at: ColumnClause[datetime] = Column(UtcDateTime, nullable=False)
    source: ColumnClause[str] = Column(Text, nullable=False)
    net_assets: ColumnClause[int] = Column(BigInteger, nullable=False)
    collateral_loans: ColumnClause[int] = Column(BigInteger, nullable=False)
    equity: ColumnClause[int] = Column(BigInteger, nullable=False)
    external_flow: ColumnClause[int] = Column(BigInteger, nullable=False)
    dividends: ColumnClause[int] = Column(BigInteger, nullable=False)
    daily_return: ColumnClause[Decimal] = Column(_CHAIN)
    twr_index: ColumnClause[Decimal] = Column(_CHAIN, nullable=False)
    peak_index: ColumnClause[Decimal] = Column(_CHAIN, nullable=False)
    drawdown: ColumnClause[Decimal] = Column(_CHAIN, nullable=False)


# realized_sales.average_cost: exact NUMERIC on PostgreSQL; on SQLite the decimal text realized_pnl showed before the
# table (SQLite's NUMERIC is a float, which would round a large average).
AVERAGE_COST = Numeric(24, AVERAGE_SCALE, asdecimal=True).with_variant(Text(), "sqlite")


class RealizedSale(Base):
    """One sell line of the ledger at its moving-average cost, derived by etl.store.realized (realized_pnl reads it)."""

    __tablename__ = "realized_sales"
    __relation__ = REALIZED_SALES

    account_no: ColumnClause[str] = Column(Text, primary_key=True)
    trade_date: ColumnClause[date] = Column(Date, primary_key=True)
    stock_code: ColumnClause[str] = Column(Text, nullable=False)
    stock_name: ColumnClause[str] = Column(Text)
    quantity: ColumnClause[int] = Column(BigInteger, nullable=False)
    sell_amount: ColumnClause[int] = Column(BigInteger)
    cost_basis: ColumnClause[int] = Column(BigInteger)
    commission: ColumnClause[int] = Column(BigInteger, nullable=False)
    tax: ColumnClause[int] = Column(BigInteger, nullable=False)
    realized_pnl: ColumnClause[int] = Column(BigInteger)
    average_cost: ColumnClause[Any] = Column(AVERAGE_COST)
    transaction_id: ColumnClause[int] = Column(BigInteger, primary_key=True)


def _fill_key() -> tuple[
    ColumnClause[int], ColumnClause[str], ColumnClause[date], ColumnClause[str], ColumnClause[str]
]:
    """The columns both fill tables start with: id and a fill's natural key (account_no, trade_date, order_no,
    execution_no), fresh for each table (a column belongs to one)."""
    return (
        Column(Id, primary_key=True),
        Column(Text, nullable=False),
        Column(Date, nullable=False),
        Column(Text, nullable=False),
        Column(Text, nullable=False),
    )


class Execution(Base):
    """One fill of the real-time feed (a `00` push whose order status is 체결): a natural key once."""

    __tablename__ = "executions"
    __relation__ = EXECUTIONS

    id, account_no, trade_date, order_no, execution_no = _fill_key()
    exchange: ColumnClause[str] = Column(Text, nullable=False)
    stock_code: ColumnClause[str] = Column(Text, nullable=False)
    stock_name: ColumnClause[str] = Column(Text)
    side: ColumnClause[str] = Column(Text, nullable=False)
    quantity: ColumnClause[int] = Column(BigInteger, nullable=False)
    price: ColumnClause[int] = Column(BigInteger, nullable=False)
    commission: ColumnClause[int] = Column(BigInteger)
    tax: ColumnClause[int] = Column(BigInteger)
    executed_at: ColumnClause[datetime] = Column(UtcDateTime, nullable=False)
    received_at: ColumnClause[datetime] = Column(UtcDateTime, nullable=False)
    message: ColumnClause[str] = Column(RawJson(), nullable=False)

    __table_args__ = (
        UniqueConstraint("account_no", "trade_date", "order_no", "execution_no", name="uq_executions_natural_key"),
        CheckConstraint("exchange IN ('KRX', 'NXT')", name="exchange"),
        CheckConstraint("side IN ('buy', 'sell')", name="side"),
    )


class ExecutionConflict(Base):
    """A fill that came again under a stored fill's natural key with different content."""

    __tablename__ = "execution_conflicts"
    __relation__ = EXECUTION_CONFLICTS

    id, account_no, trade_date, order_no, execution_no = _fill_key()
    execution_id: ColumnClause[int] = Column(ForeignKey("executions.id"), nullable=False)
    differences: ColumnClause[str] = Column(Text, nullable=False)
    message: ColumnClause[str] = Column(RawJson(), nullable=False)
    received_at: ColumnClause[datetime] = Column(UtcDateTime, nullable=False)

    __table_args__ = (Index(None, "execution_id"),)


class RealtimeLease(Base):
    """Which replica listens to an app key's real-time feed, until when (etl.store.lease)."""

    __tablename__ = "realtime_leases"
    __relation__ = REALTIME_LEASES

    app_key_id: ColumnClause[str] = Column(Text, primary_key=True)
    holder: ColumnClause[str] = Column(Text, nullable=False)
    acquired_at: ColumnClause[datetime] = Column(UtcDateTime, nullable=False)
    renewed_at: ColumnClause[datetime] = Column(UtcDateTime, nullable=False)
    expires_at: ColumnClause[datetime] = Column(UtcDateTime, nullable=False)
    account_nos: ColumnClause[str] = Column(Text)
    connected_at: ColumnClause[datetime] = Column(UtcDateTime)
    last_message_at: ColumnClause[datetime] = Column(UtcDateTime)
