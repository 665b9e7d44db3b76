"""The data dictionary agrees with the models, the migrated database's tables and views, and their comments."""

from __future__ import annotations

from sqlalchemy import inspect, text
from sqlalchemy.dialects import postgresql

from etl.apis import TABLES, Base
from etl.read.dictionary import RELATIONS, VIEWS
from etl.read.views import VIEWS as VIEW_SQL
from etl.store.engine import make_engine
from etl.store.schema import downgrade, migrate

COMMENTS = text(
    """SELECT c.relname, c.relkind, a.attname, obj_description(c.oid, 'pg_class'), col_description(c.oid, a.attnum)
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'v') AND c.relname <> 'alembic_version'
    ORDER BY c.relname, a.attnum"""
)


def test_the_models_columns_are_the_dictionarys_in_order() -> None:
    assert set(Base.metadata.tables) == set(TABLES)
    for table in Base.metadata.sorted_tables:
        assert [c.name for c in table.columns] == [c.name for c in TABLES[table.name].columns], table.name


def test_each_documented_table_type_starts_with_the_models_postgresql_type() -> None:
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            sql = column.type.compile(dialect=postgresql.dialect()).lower().replace(", ", ",")
            documented = TABLES[table.name].column(column.name).type
            assert documented.startswith(sql), (table.name, column.name, documented, sql)


def test_the_views_sql_names_the_dictionarys_columns() -> None:
    assert {view.name: list(view.columns) for view in VIEW_SQL} == {
        name: [c.name for c in view.columns] for name, view in VIEWS.items()
    }


def test_the_migrated_views_have_the_dictionarys_columns_and_types(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        migrate(engine)
        inspector = inspect(engine)
        assert set(inspector.get_view_names()) == set(VIEWS)
        for name, view in VIEWS.items():
            columns = inspector.get_columns(name)
            assert [c["name"] for c in columns] == [c.name for c in view.columns], name
            if engine.dialect.name == "postgresql":  # SQLite declares no types for a view's computed columns
                for column in columns:
                    sql = column["type"].compile(dialect=engine.dialect).lower().replace(", ", ",")
                    assert view.column(column["name"]).type.startswith(sql), (name, column["name"], sql)
    finally:
        engine.dispose()


def test_every_table_view_and_column_has_the_dictionarys_comment_and_the_downgrade_removes_them(
    postgres_url: str,
) -> None:
    engine = make_engine(postgres_url)
    try:
        migrate(engine)
        with engine.connect() as connection:
            rows = connection.execute(COMMENTS).all()
        assert {row.relname for row in rows} == set(RELATIONS)
        for name, kind, column, relation_comment, column_comment in rows:
            relation = RELATIONS[name]
            assert (kind == "v") == relation.is_view, name
            assert relation_comment == relation.comment, name
            assert column_comment == relation.column(column).comment, (name, column)

        downgrade(engine, "0005")
        with engine.connect() as connection:
            left = [row for row in connection.execute(COMMENTS) if row[3] is not None or row[4] is not None]
        assert left == []
    finally:
        engine.dispose()
