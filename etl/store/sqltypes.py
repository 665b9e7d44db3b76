"""Column types that keep values exact on every backend: UTC timestamps, decimal rates, raw JSON text."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import DateTime, Dialect, FromClause, Numeric, Text, cast, type_coerce
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeDecorator, TypeEngine, UserDefinedType


class UtcDateTime(TypeDecorator[datetime]):
    """An aware timestamp, stored in UTC (timestamptz on PostgreSQL, UTC text on SQLite), read back aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"refusing a naive datetime {value.isoformat()}: the time zone would be a guess")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class RfcTime(TypeDecorator[datetime]):
    """A view's `time` column, read as an aware UTC datetime: timestamptz on PostgreSQL, RFC 3339 text on SQLite."""

    impl = Text
    cache_ok = True

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
        return moment.astimezone(UTC)


class _SqliteDecimal(Numeric[Decimal]):
    """NUMERIC(p, s) on SQLite, written and read as decimal text so that no value passes through a Python float.

    SQLite keeps it as an 8-byte REAL, whose 15 significant decimal digits hold any NUMERIC(12,4) value exactly;
    reading CASTs it to text, which is parsed straight into Decimal.
    """

    cache_ok = True

    def bind_processor(self, dialect: Dialect) -> Any:
        return lambda value: None if value is None else str(value)

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        quantum = Decimal(1).scaleb(-(self.scale or 0))
        return lambda value: None if value is None else Decimal(value).quantize(quantum)

    def column_expression(self, colexpr: ColumnElement[Any]) -> ColumnElement[Any]:
        return type_coerce(cast(colexpr, Text), self)


def ExactDecimal(precision: int, scale: int) -> TypeEngine[Decimal]:  # noqa: N802 - reads as a type
    """NUMERIC(precision, scale) that is a Decimal in Python on both PostgreSQL and SQLite."""
    return Numeric(precision, scale, asdecimal=True).with_variant(_SqliteDecimal(precision, scale), "sqlite")


class _PgJsonbText(UserDefinedType[str]):
    """JSONB on PostgreSQL, exchanged with Python as JSON text so that numbers are never parsed into floats."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "JSONB"

    def bind_expression(self, bindvalue: Any) -> Any:
        from sqlalchemy.dialects.postgresql import JSONB  # here: a daemon on SQLite need not carry the dialect

        return type_coerce(cast(type_coerce(bindvalue, Text), JSONB), self)

    def column_expression(self, colexpr: Any) -> Any:
        return cast(colexpr, Text)


def RawJson() -> TypeEngine[str]:  # noqa: N802 - reads as a type
    """A JSON document as text: JSONB on PostgreSQL (queryable), TEXT elsewhere."""
    return Text().with_variant(_PgJsonbText(), "postgresql")


def unchanged(value: Any) -> Any:
    """The binder of a column whose values the driver takes as they are."""
    return value


@lru_cache(maxsize=64)  # per dialect and table: a few per engine
def binders(dialect: Dialect, table: FromClause) -> dict[str, Callable[[Any], Any]]:
    """How each column of `table` turns a Python value into the driver's (UTC text for a time on SQLite, and so on):
    SQLAlchemy's own bind processors, as its compiled statements use them, looked up once. Statements written in the
    driver's SQL bind their values with these."""
    return {column.name: column.type._cached_bind_processor(dialect) or unchanged for column in table.columns}


@lru_cache(maxsize=64)  # per dialect, table and columns: a few per engine
def readers(dialect: Dialect, table: FromClause, columns: tuple[str, ...]) -> dict[str, Callable[[Any], Any]]:
    """How each of `columns` of `table` turns the driver's value into Python's (a date from SQLite's text, an aware
    UTC time, and so on): SQLAlchemy's own result processors, as its typed results use them, looked up once. Rows of
    statements written in the driver's SQL are read with these."""
    return {name: table.columns[name].type._cached_result_processor(dialect, None) or unchanged for name in columns}
