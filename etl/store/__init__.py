"""Stage 3, rows → tables: the models and column types, the engine and migrations glue, and the one load.

Every way data enters the tables (a fetch, a flush, an import, a replay) goes through `etl.store.load.load`.
"""
