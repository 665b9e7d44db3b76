"""Stage 4, the write side's jobs: one snapshot (flush, fetch, load), the ledger, the day's totals, backfill, the spool
and its flush, replay, import, doctor.

They compose the stages below: what to fetch, for which accounts, and where it goes when the database is away.
"""
