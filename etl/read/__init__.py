"""The read side: what the history answers — the analyst views' SQL, status, returns, the report and the exports.

It reads what the write side (etl.jobs through etl.store) loaded and writes nothing to the database.
"""
