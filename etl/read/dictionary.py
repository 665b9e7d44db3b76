"""The data dictionary whole: the tables as etl.store.dictionary and the declarations (etl.apis) describe them and
the analyst views as etl.read.views does, beside their SQL; and the one door the migrations set the `COMMENT ON` of
both through.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection

from etl.apis import TABLES
from etl.read.views import VIEWS as _VIEWS
from etl.store.dictionary import Relation, write_comments

VIEWS: dict[str, Relation] = {view.name: view.relation for view in _VIEWS}
RELATIONS: dict[str, Relation] = {**TABLES, **VIEWS}


def apply_comments(connection: Connection, names: Iterable[str] | None = None, *, clear: bool = False) -> None:
    """Set the dictionary's comments on `names` (default: every table and view), or remove them with `clear`.

    Nothing happens on SQLite, which has no comments. Relations and columns the database lacks are left out, so that
    a migration comments what its revision has.
    """
    write_comments(
        connection, RELATIONS.values() if names is None else [RELATIONS[name] for name in names], clear=clear
    )
