"""What an analyst view is: its name and column docs beside its SQL, rendered for SQLite or PostgreSQL, and read back
as a typed selectable; the column docs that views of several families share.

The two dialects differ only in how `time` is written (timestamptz; RFC 3339 text on SQLite, which Grafana's SQLite
plugin parses), in the name of the floating-point type weights and returns are read in, and in what a view names in
`per_dialect`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import column, table
from sqlalchemy.sql import TableClause

from etl.apis import Base
from etl.apis.totals import AccountDayTotals
from etl.store.dictionary import (
    BIGINT,
    DAILY_CLOSES,
    TIME_TYPE,
    TIMESTAMP,
    UTC_TIME,
    Column,
    Relation,
    with_meaning,
)
from etl.store.models import AccountSnapshot, EtlRun, PositionSnapshot
from etl.store.sqltypes import RfcTime, UtcDateTime

# On SQLite captured_at is UTC text 'YYYY-MM-DD HH:MM:SS.ffffff'; the padding keeps six digits if they are absent.
_TIME = {
    "postgresql": "{c}",
    "sqlite": "strftime('%Y-%m-%dT%H:%M:%S', {c}) || '.' || substr({c} || '.000000', 21, 6) || 'Z'",
}
_FLOAT = {"postgresql": "double precision", "sqlite": "REAL"}
TIME = Column(
    "time",
    TIME_TYPE,
    None,
    "시각",
    UTC_TIME,
    "captured_at under Grafana's name: timestamptz, or RFC 3339 UTC text with 6 decimals and Z on SQLite.",
)
CLOSE_TIME = with_meaning(TIME, "captured_at of the day's close: timestamptz, or RFC 3339 UTC text on SQLite.")
# The close's id as the day views show it, a plain bigint (daily_closes' column says what it points to).
CLOSE_ID = replace(DAILY_CLOSES.column("snapshot_id"), type=BIGINT)


def in_view(columns: tuple[Column, ...]) -> tuple[Column, ...]:
    """A table's columns as a view shows them: a view has no primary key."""
    return tuple(replace(c, type=c.type.removesuffix(", primary key")) for c in columns)


@dataclass(frozen=True)
class View:
    """One analyst view: its name, 한글명, description and columns as the data dictionary shows them, and its SELECT.

    The SELECT is written with {time:…} and {float} where the dialects differ, {name} for each text of `per_dialect`,
    {closes} for the days' closes, and {columns:alias:table} for every column a table has (each time as `time` is
    written). `computed` gives the types
    of the columns the SELECT computes; the others are read with their table's type.
    """

    name: str
    label: str
    description: str
    documented: tuple[Column, ...]
    select: str
    requires: tuple[str, ...] = ()  # tables a revision may not have yet (a fresh database runs 0005 first)
    # Left out of == and hash(): a mapping cannot be hashed, and the name, docs and SELECT say which view it is.
    computed: Mapping[str, Any] = field(default_factory=dict, compare=False)
    per_dialect: Mapping[str, Mapping[str, str]] = field(default_factory=dict, compare=False)

    @property
    def relation(self) -> Relation:
        """The view in the data dictionary: every time column as the view writes it (RFC 3339 text on SQLite)."""
        columns = tuple(replace(c, type=c.type.replace(TIMESTAMP, TIME_TYPE)) for c in self.documented)
        return Relation(self.name, self.label, self.description, columns, is_view=True)

    @property
    def columns(self) -> tuple[str, ...]:
        """Its columns' names in order."""
        return tuple(column.name for column in self.documented)

    def sql(self, dialect: str, columns: Mapping[str, Sequence[str]], closes: str = "daily_closes") -> str:
        """The SELECT for `dialect` (postgresql or sqlite), reading the days' closes from `closes`; `columns` names
        the columns each table has in the database (a later revision may add some)."""
        if dialect not in _TIME:
            raise ValueError(f"no view definitions for the {dialect} dialect")
        out = _every_column(self.select, columns).replace("{closes}", closes).replace("{float}", _FLOAT[dialect])
        for name, forms in self.per_dialect.items():
            out = out.replace("{" + name + "}", forms[dialect])
        while "{time:" in out:
            start = out.index("{time:")
            end = out.index("}", start)
            out = out[:start] + _TIME[dialect].format(c=out[start + len("{time:") : end]) + out[end + 1 :]
        return out

    def table(self) -> TableClause:
        """The view as a typed selectable: rates read as Decimal, times as aware UTC datetimes, on both backends."""
        return table(self.name, *(column(name, self._type(name)) for name in self.columns))

    def _type(self, name: str) -> Any:
        found = self.computed.get(name) or _READ_AS[name]
        return RfcTime() if isinstance(found, UtcDateTime) else found  # a view writes every time as `time` is


def verdict(differs: Mapping[str, str]) -> str:
    """The two columns a checks view ends with, from each compared figure's name and the SQL test that it differs:
    mismatches (the names of those that differ, separated by `, `; NULL when none does) and result (agrees or
    disagrees). Written as a SELECT list's item, after its indent."""
    mismatches = "\n         || ".join(
        f"CASE WHEN {test} THEN ', {name}' ELSE '' END" for name, test in differs.items()
    )
    any_differs = "\n              OR ".join(differs.values())
    return f"""NULLIF(SUBSTR({mismatches}, 3), '') AS mismatches,
       CASE WHEN {any_differs}
            THEN 'disagrees' ELSE 'agrees' END AS result"""


# The type of a column a view does not compute: its table's, and every view's `time`.
_READ_AS: dict[str, Any] = {
    **{
        c.name: c.type
        for model in (AccountDayTotals, EtlRun, PositionSnapshot, AccountSnapshot)
        for c in model.__table__.columns
    },
    "time": RfcTime(),
}


def _every_column(template: str, columns: Mapping[str, Sequence[str]]) -> str:
    """{columns:alias:table} written out: the table's columns, a time column as `time` is (RFC 3339 on SQLite)."""
    while "{columns:" in template:
        start = template.index("{columns:")
        end = template.index("}", start)
        alias, name = template[start + len("{columns:") : end].split(":")
        model = Base.metadata.tables[name].columns
        listed = ", ".join(
            f"{{time:{alias}.{c}}} AS {c}" if c in model and isinstance(model[c].type, UtcDateTime) else f"{alias}.{c}"
            for c in columns[name]
        )
        template = template[:start] + listed + template[end + 1 :]
    return template
