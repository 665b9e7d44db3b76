"""Stage 3½, the APIs: each Kiwoom API the project fetches, declared once (etl.apis.api) in a module of its own —
its endpoint, how a run of it is claimed, its normaliser, its table and its load — for the jobs, replay, status and
the metrics to read.

A new account API is a module here, one line below, its normaliser, its migration, its tests and its docs.
"""

from etl.apis.api import Api
from etl.apis.estimates import ESTIMATES
from etl.apis.ledger import LEDGER
from etl.apis.snapshot import SNAPSHOT
from etl.apis.totals import DAY_TOTALS

APIS: tuple[Api, ...] = (SNAPSHOT, LEDGER, DAY_TOTALS, ESTIMATES)
