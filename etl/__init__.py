"""kiwoom-etl: snapshots of a Kiwoom Securities account (kt00005) loaded exactly into SQL history tables.

Data flows one way, one module per stage::

    settings ─► client (Kiwoom REST: tokens, pacing, retries) ─► pages (raw answers)
             ─► transform (pure: pages → rows) ─► load (one transaction per snapshot) ─► tables (models)

The command line (``etl.cli``) is the user's interface; the tables are the analyst's.
"""

__version__ = "0.1.0"
