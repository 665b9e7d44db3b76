"""Stage 4, the jobs: one snapshot (flush, fetch, load), the spool and its flush, replay, import, the demo.

They compose the stages below: what to fetch, for which accounts, and where it goes when the database is away.
"""
