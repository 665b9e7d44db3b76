"""The history tables in SQLAlchemy 2.0 style on a naming convention; their comments come from etl.store.dictionary."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from etl.store.dictionary import TABLES
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


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


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


def _one_of(column: str, values: type[StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


class EtlRun(Base):
    """One account × exchange snapshot attempt, or a slot that was missed or skipped: when, why, how it ended.

    A scheduled slot has at most one row per account and exchange: the unique key is how replicas claim it.
    """

    __tablename__ = "etl_runs"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    trigger: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    account_no: Mapped[str | None] = mapped_column(Text)
    exchange: Mapped[str | None] = mapped_column(Text)
    scheduled_for: Mapped[datetime | None] = mapped_column(UtcDateTime)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    page_count: Mapped[int | None] = mapped_column(Integer)
    position_count: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[str | None] = mapped_column(Text)
    # BIGINT: an import or a flush of a capture weeks old spans more than INTEGER's 24.8 days of milliseconds.
    duration_ms: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"))
    spool_id: Mapped[str | None] = mapped_column(Text, unique=True)  # loaded from the spool: at most once

    __table_args__ = (
        CheckConstraint(_one_of("status", RunStatus), name="status"),
        CheckConstraint(_one_of("reason", Reason), name="reason"),
        UniqueConstraint("account_no", "exchange", "scheduled_for"),
        Index(None, "account_no", "exchange", "started_at"),
        Index(None, "status", "started_at"),
    )


class AccountSnapshot(Base):
    """One account × exchange at one moment: the kt00005 summary."""

    __tablename__ = "account_snapshots"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("etl_runs.id"))
    account_no: Mapped[str] = mapped_column(Text)
    exchange: Mapped[str] = mapped_column(Text)
    captured_at: Mapped[datetime] = mapped_column(UtcDateTime)
    scheduled_for: Mapped[datetime | None] = mapped_column(UtcDateTime)
    trade_date: Mapped[date] = mapped_column(Date)
    deposit: Mapped[int | None] = mapped_column(BigInteger)
    deposit_d1: Mapped[int | None] = mapped_column(BigInteger)
    deposit_d2: Mapped[int | None] = mapped_column(BigInteger)
    withdrawable_amount: Mapped[int | None] = mapped_column(BigInteger)
    unsettled_secured_amount: Mapped[int | None] = mapped_column(BigInteger)
    substitute_amount: Mapped[int | None] = mapped_column(BigInteger)
    rights_substitute_amount: Mapped[int | None] = mapped_column(BigInteger)
    orderable_cash: Mapped[int | None] = mapped_column(BigInteger)
    cash_outstanding: Mapped[int | None] = mapped_column(BigInteger)
    unpaid_credit_interest: Mapped[int | None] = mapped_column(BigInteger)
    other_loan_amount: Mapped[int | None] = mapped_column(BigInteger)
    unrepaid_loan_amount: Mapped[int | None] = mapped_column(BigInteger)
    margin_cash: Mapped[int | None] = mapped_column(BigInteger)
    margin_substitute: Mapped[int | None] = mapped_column(BigInteger)
    total_purchase_amount: Mapped[int | None] = mapped_column(BigInteger)
    total_evaluation_amount: Mapped[int | None] = mapped_column(BigInteger)
    total_profit_loss: Mapped[int | None] = mapped_column(BigInteger)
    total_profit_loss_rate: Mapped[Decimal | None] = mapped_column(Rate)
    total_rebuy_available: Mapped[int | None] = mapped_column(BigInteger)
    orderable_amount_20pct: Mapped[int | None] = mapped_column(BigInteger)
    orderable_amount_30pct: Mapped[int | None] = mapped_column(BigInteger)
    orderable_amount_40pct: Mapped[int | None] = mapped_column(BigInteger)
    orderable_amount_50pct: Mapped[int | None] = mapped_column(BigInteger)
    orderable_amount_60pct: Mapped[int | None] = mapped_column(BigInteger)
    orderable_amount_100pct: Mapped[int | None] = mapped_column(BigInteger)
    credit_loan_total: Mapped[int | None] = mapped_column(BigInteger)
    credit_loan_short_total: Mapped[int | None] = mapped_column(BigInteger)
    credit_collateral_ratio: Mapped[Decimal | None] = mapped_column(Rate)
    deposit_collateral_loan_amount: Mapped[int | None] = mapped_column(BigInteger)
    sale_collateral_loan_amount: Mapped[int | None] = mapped_column(BigInteger)
    position_count: Mapped[int] = mapped_column(Integer)

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

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("account_snapshots.id", ondelete="CASCADE"))
    line_no: Mapped[int] = mapped_column(Integer)
    account_no: Mapped[str] = mapped_column(Text)
    exchange: Mapped[str] = mapped_column(Text)
    captured_at: Mapped[datetime] = mapped_column(UtcDateTime)
    trade_date: Mapped[date] = mapped_column(Date)
    credit_type: Mapped[str | None] = mapped_column(Text)
    loan_date: Mapped[date | None] = mapped_column(Date)
    expiry_date: Mapped[date | None] = mapped_column(Date)
    stock_code: Mapped[str | None] = mapped_column(Text)
    stock_name: Mapped[str | None] = mapped_column(Text)
    settlement_quantity: Mapped[int | None] = mapped_column(BigInteger)
    quantity: Mapped[int | None] = mapped_column(BigInteger)
    current_price: Mapped[int | None] = mapped_column(BigInteger)
    purchase_price: Mapped[int | None] = mapped_column(BigInteger)
    purchase_amount: Mapped[int | None] = mapped_column(BigInteger)
    evaluation_amount: Mapped[int | None] = mapped_column(BigInteger)
    profit_loss: Mapped[int | None] = mapped_column(BigInteger)
    profit_loss_rate: Mapped[Decimal | None] = mapped_column(Rate)

    __table_args__ = (
        UniqueConstraint("snapshot_id", "line_no"),
        Index(None, "account_no", "exchange", "captured_at"),
        Index(None, "stock_code", "captured_at"),
        Index(None, "trade_date"),
    )


class DailyClose(Base):
    """One account × exchange × trade_date: its close and the previous day's, derived by etl.store.closes."""

    __tablename__ = "daily_closes"

    account_no: Mapped[str] = mapped_column(Text, primary_key=True)
    exchange: Mapped[str] = mapped_column(Text, primary_key=True)
    trade_date: Mapped[date] = mapped_column(Date, primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("account_snapshots.id", ondelete="CASCADE"), unique=True)
    captured_at: Mapped[datetime] = mapped_column(UtcDateTime)
    snapshots: Mapped[int] = mapped_column(Integer)
    previous_trade_date: Mapped[date | None] = mapped_column(Date)
    previous_snapshot_id: Mapped[int | None] = mapped_column(
        ForeignKey("account_snapshots.id", ondelete="SET NULL"), index=True
    )


class RawResponse(Base):
    """One kt00005 page exactly as received: the audit trail and the input of a replay. Never a credential."""

    __tablename__ = "raw_responses"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("etl_runs.id"))
    snapshot_id: Mapped[int | None] = mapped_column(ForeignKey("account_snapshots.id", ondelete="SET NULL"))
    api_id: Mapped[str] = mapped_column(Text)
    account_no: Mapped[str | None] = mapped_column(Text)
    exchange: Mapped[str | None] = mapped_column(Text)
    page_no: Mapped[int] = mapped_column(Integer)
    http_status: Mapped[int] = mapped_column(Integer)
    cont_yn: Mapped[str | None] = mapped_column(Text)
    next_key: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # The body as JSON when it is a JSON object; otherwise (broken JSON) its text in body_text.
    payload: Mapped[str | None] = mapped_column(RawJson())
    body_text: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index(None, "run_id"),
        Index(None, "snapshot_id"),
        Index(None, "account_no", "exchange", "received_at"),
    )


def _comment_from_the_dictionary() -> None:
    # The texts live in the dictionary only; Alembic compares them with PostgreSQL's COMMENT ON (migration 0006).
    for table in Base.metadata.tables.values():
        relation = TABLES[table.name]
        table.comment = relation.comment
        for column in table.columns:
            column.comment = relation.column(column.name).comment


_comment_from_the_dictionary()
