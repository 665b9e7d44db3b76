"""Export: one analyst view or history table to CSV or Parquet, streamed in chunks with its values exact.

The columns' types come from the models (tables) and from View.table() (views), and `field()` is the one mapping
from a SQLAlchemy type to how a value is written: integers as integers, stored rates as their exact decimal text
(Parquet: decimal128 of the column's precision and scale), computed weights as float64, times in UTC with
microseconds, dates as dates, text as is (in CSV, a text cell a spreadsheet would run as a formula gets a `'`
before it, unless --raw-text). Rows are read through a server-side cursor (a named cursor on PostgreSQL)
`chunk_rows` at a time, and each chunk is written before the next is read — CSV chunk by chunk,
Parquet one row group per chunk — so memory stays flat however many rows there are.

Date filters are inclusive Seoul dates: on `trade_date` (a ledger's `settlement_date`) where the source has one,
else on its time column (`captured_at`, `started_at` for etl_runs, `received_at` for raw_responses), from 00:00 KST
of --since to 00:00 KST of the day after --until.
"""

from __future__ import annotations

import contextlib
import csv
import io
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import IO, Any, Protocol

from sqlalchemy import Date, Engine, Float, Integer, Numeric, String, select
from sqlalchemy import Time as SqlTime
from sqlalchemy.sql import ColumnElement, FromClause
from sqlalchemy.types import TypeEngine

from etl.apis import TABLES as DESCRIBED
from etl.apis import Base
from etl.clock import KST
from etl.errors import ConfigError, EtlError
from etl.files import Protected, output_file
from etl.read.views import VIEWS
from etl.store.engine import storage_errors
from etl.store.runs import require_account
from etl.store.sqltypes import RfcTime, UtcDateTime

# Every history table but the derived ones every load keeps: daily_closes (account_daily shows it), daily_returns
# (account_returns_daily shows it) and realized_sales (realized_pnl shows it); and realtime_leases, which is no
# history but which replica listens now (`status` shows it).
_DERIVED = ("daily_closes", "daily_returns", "realized_sales")
_NOT_HISTORY = ("realtime_leases",)
TABLES = {name: Base.metadata.tables[name] for name in DESCRIBED if name not in (*_DERIVED, *_NOT_HISTORY)}
NAMES: tuple[str, ...] = (*(view.name for view in VIEWS), *TABLES)
FORMATS = ("csv", "parquet")
CHUNK_ROWS = 10_000
NOTHING_PROTECTED = Protected()  # the library default; the CLI always names the database and the state directory
# A text cell starting with one of these is a formula to Excel, LibreOffice and Google Sheets (OWASP's list).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PARQUET_MISSING = "--format parquet needs pyarrow: pip install 'kiwoom-etl[parquet]'"

# The date a source is filtered on: trade_date, or a ledger line's booking date; a source with neither, the first
# of the time columns it has; a source with none of them has no date.
_DATE_COLUMNS = ("trade_date", "settlement_date")
_TIME_COLUMNS = ("captured_at", "started_at", "received_at")


class Kind(Enum):
    """How a column's values are written."""

    INTEGER = "integer"
    DECIMAL = "decimal"
    FLOAT = "float"
    DATE = "date"
    TIME = "time"
    CLOCK = "clock"  # a time of day (a ledger line's KST processing time)
    TEXT = "text"


@dataclass(frozen=True)
class Field:
    """One exported column: its name, its kind, and for a decimal its precision and scale."""

    name: str
    kind: Kind
    precision: int = 0
    scale: int = 0


def field(name: str, sqltype: TypeEngine[Any]) -> Field:
    """The Field of a column of this SQLAlchemy type; a type without a mapping is a bug, and says so."""
    if isinstance(sqltype, UtcDateTime | RfcTime):
        return Field(name, Kind.TIME)
    if isinstance(sqltype, Float):  # a Numeric subclass: checked first
        return Field(name, Kind.FLOAT)
    if isinstance(sqltype, Numeric) and sqltype.precision is not None and sqltype.scale is not None:
        return Field(name, Kind.DECIMAL, sqltype.precision, sqltype.scale)
    if isinstance(sqltype, Integer):
        return Field(name, Kind.INTEGER)
    if isinstance(sqltype, Date):
        return Field(name, Kind.DATE)
    if isinstance(sqltype, SqlTime):
        return Field(name, Kind.CLOCK)
    if isinstance(sqltype, String):
        return Field(name, Kind.TEXT)
    raise TypeError(f"column {name}: no export mapping for the SQLAlchemy type {sqltype!r}")


def _integer(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise TypeError(f"expected an integer, got {value!r}")  # a float here would already have lost digits


def _decimal(value: Any) -> str:
    if isinstance(value, Decimal):
        return format(value, "f")  # as stored, never in exponent notation
    raise TypeError(f"expected a Decimal, got {value!r}")


def _float(value: Any) -> str:
    return repr(float(value))


def _date(value: Any) -> str:
    return str(value.isoformat())


def _time(value: Any) -> str:
    return str(value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"))


def _clock(value: Any) -> str:
    return str(value.isoformat())


def _text(value: Any) -> str:
    return str(value)


def _safe_text(value: Any) -> str:
    return spreadsheet_safe(str(value))


def spreadsheet_safe(text: str) -> str:
    """`text` with a `'` before it when a spreadsheet would run it as a formula (OWASP's CSV injection rule)."""
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


CSV_TEXT: dict[Kind, Callable[[Any], str]] = {
    Kind.INTEGER: _integer,
    Kind.DECIMAL: _decimal,
    Kind.FLOAT: _float,
    Kind.DATE: _date,
    Kind.TIME: _time,
    Kind.CLOCK: _clock,
    Kind.TEXT: _text,
}


def arrow_type(pa: Any, column: Field) -> Any:
    """The Arrow type of a Field in Parquet (`pa` is the pyarrow module, imported only when Parquet is asked for)."""
    return {
        Kind.INTEGER: pa.int64,
        Kind.DECIMAL: lambda: pa.decimal128(column.precision, column.scale),
        Kind.FLOAT: pa.float64,
        Kind.DATE: pa.date32,
        Kind.TIME: lambda: pa.timestamp("us", tz="UTC"),
        Kind.CLOCK: lambda: pa.time64("us"),
        Kind.TEXT: pa.string,
    }[column.kind]()


@dataclass(frozen=True)
class Filters:
    """Which rows: inclusive Seoul dates, one account, one exchange; None means all."""

    since: date | None = None
    until: date | None = None
    account: str | None = None
    exchange: str | None = None


class UnknownName(EtlError):
    """NAME is neither a view nor a table that can be exported."""


class FilterNotApplicable(EtlError):
    """A filter option the source has no column for (`option` names it)."""

    def __init__(self, name: str, option: str, why: str) -> None:
        self.name = name
        self.option = option
        super().__init__(f"{option} cannot be used with {name}: {why}")


def source(name: str) -> FromClause:
    """The typed selectable of a view or table, by name."""
    for view in VIEWS:
        if view.name == name:
            return view.table()
    if name in TABLES:
        return TABLES[name]
    raise UnknownName(f"unknown view or table {name!r}; one of: {', '.join(NAMES)}")


def fields(selectable: FromClause) -> list[Field]:
    """The exported columns of a source, in its order."""
    return [field(c.name, c.type) for c in selectable.columns]


def date_column(selectable: FromClause) -> str | None:
    """The column --since/--until apply to: trade_date or settlement_date, else the source's time column, else
    None."""
    for name in (*_DATE_COLUMNS, *_TIME_COLUMNS):
        if name in selectable.columns:
            return name
    return None


def query(name: str, filters: Filters) -> Any:
    """The SELECT of an export: every column, the filters as WHERE clauses; a table in primary-key order."""
    selectable = source(name)
    columns = selectable.columns
    conditions: list[ColumnElement[bool]] = []
    if filters.since is not None or filters.until is not None:
        on = date_column(selectable)
        if on is None:
            option = "--since" if filters.since is not None else "--until"
            raise FilterNotApplicable(name, option, "it has no trade_date nor a time column")
        if on in _DATE_COLUMNS:
            if filters.since is not None:
                conditions.append(columns[on] >= filters.since)
            if filters.until is not None:
                conditions.append(columns[on] <= filters.until)
        else:
            if filters.since is not None:
                conditions.append(columns[on] >= _seoul_midnight(filters.since))
            if filters.until is not None:
                conditions.append(columns[on] < _seoul_midnight(filters.until + timedelta(days=1)))
    by_value = (("--account", "account_no", filters.account), ("--exchange", "exchange", filters.exchange))
    for option, column, value in by_value:
        if value is None:
            continue
        if column not in columns:
            raise FilterNotApplicable(name, option, f"it has no {column} column")
        conditions.append(columns[column] == value)
    statement = select(selectable).where(*conditions)
    if name in TABLES:
        statement = statement.order_by(*TABLES[name].primary_key.columns)
    return statement


def _seoul_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=KST)


def export(
    engine: Engine,
    name: str,
    filters: Filters,
    *,
    fmt: str = "csv",
    out: Path | None = None,
    stdout: IO[bytes] | None = None,
    chunk_rows: int = CHUNK_ROWS,
    protected: Protected = NOTHING_PROTECTED,
    force: bool = False,
    raw_text: bool = False,
) -> int:
    """Write NAME's rows to `out` (written whole or not at all; never a `protected` file, an existing one only with
    `force`) or, as CSV, to `stdout`; return how many. CSV text cells are made spreadsheet-safe unless `raw_text`."""
    statement = query(name, filters)
    columns = fields(source(name))
    pa = pq = None
    if fmt == "parquet":
        pa, pq = require_pyarrow()
        if out is None:
            raise ConfigError("--format parquet needs --out FILE")
    if filters.account is not None:  # before anything is written: a typo is not an empty history
        with storage_errors(engine, "reading the accounts"), engine.connect() as connection:
            require_account(connection, filters.account)
    with _destination(out, stdout, protected, force) as stream:
        writer: _Writer = (
            _ParquetWriter(pa, pq, stream, columns) if fmt == "parquet" else _CsvWriter(stream, columns, raw_text)
        )
        count = 0
        try:
            with storage_errors(engine, f"exporting {name}"), engine.connect() as connection:
                result = connection.execution_options(stream_results=True, yield_per=chunk_rows).execute(statement)
                for chunk in result.partitions():
                    writer.write(chunk)
                    count += len(chunk)
        except BaseException:
            with contextlib.suppress(Exception):
                writer.close()  # now: a Parquet writer collected later writes to a closed file, and says so on stderr
            raise
        writer.close()
    return count


def require_pyarrow() -> tuple[Any, Any]:
    """pyarrow and pyarrow.parquet, or ConfigError naming the extra that brings them."""
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise ConfigError(PARQUET_MISSING) from None
    return pyarrow, pyarrow.parquet


@contextmanager
def _destination(out: Path | None, stdout: IO[bytes] | None, protected: Protected, force: bool) -> Iterator[IO[bytes]]:
    """`stdout`, or etl.files.output_file's stream for `out` (renamed to it only once everything is written)."""
    if out is None:
        if stdout is None:
            raise ValueError("export needs out or stdout")
        yield stdout
        stdout.flush()
        return
    try:
        with output_file(out, protected, force=force) as stream:
            yield stream
    except OSError as exc:
        raise EtlError(f"{out}: cannot be written: {exc.strerror or exc}") from None


class _Writer(Protocol):
    def write(self, rows: Sequence[Sequence[Any]]) -> None: ...

    def close(self) -> None: ...


def csv_text(rows: Sequence[Sequence[str]]) -> str:
    """`rows` as CSV with LF line ends, standard quoting, and a cell holding a carriage return quoted too.

    Python's csv quotes only the line terminator's characters: an unquoted CR would end the row for a reader, and
    a stock name holding one could forge rows. Such rows (rare) are written with CRLF, which quotes CR, then
    given their LF back.
    """
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\n").writerows(rows)
    text = out.getvalue()
    if "\r" not in text:
        return text
    lines = []
    for row in rows:
        one = io.StringIO(newline="")
        csv.writer(one, lineterminator="\r\n").writerow(row)
        lines.append(one.getvalue()[:-2] + "\n")
    return "".join(lines)


class _CsvWriter:
    """UTF-8 CSV, a header row of column names, LF line ends, quoted where needed; NULL is an empty field."""

    def __init__(self, stream: IO[bytes], columns: Sequence[Field], raw_text: bool = False) -> None:
        self.stream = stream
        self.formats = [_safe_text if c.kind is Kind.TEXT and not raw_text else CSV_TEXT[c.kind] for c in columns]
        self.header = [c.name for c in columns]  # written with the first chunk, or alone by close()

    def write(self, rows: Sequence[Sequence[Any]]) -> None:
        formats = self.formats
        lines = [["" if v is None else f(v) for f, v in zip(formats, row, strict=True)] for row in rows]
        self._write([*self._header(), *lines])

    def close(self) -> None:
        self._write(self._header())  # the header of an export without rows

    def _header(self) -> list[list[str]]:
        header, self.header = self.header, []
        return [header] if header else []

    def _write(self, rows: list[list[str]]) -> None:
        if rows:
            self.stream.write(csv_text(rows).encode("utf-8"))


class _ParquetWriter:
    """One row group per chunk, the schema from the columns' types."""

    def __init__(self, pa: Any, pq: Any, stream: IO[bytes], columns: Sequence[Field]) -> None:
        self.pa = pa
        self.schema = pa.schema([pa.field(c.name, arrow_type(pa, c)) for c in columns])
        self.writer = pq.ParquetWriter(stream, self.schema)

    def write(self, rows: Sequence[Sequence[Any]]) -> None:
        pa = self.pa
        values = list(zip(*rows, strict=True))
        arrays = [pa.array(list(v), type=f.type) for v, f in zip(values, self.schema, strict=True)]
        self.writer.write_table(pa.Table.from_arrays(arrays, schema=self.schema))

    def close(self) -> None:
        self.writer.close()
