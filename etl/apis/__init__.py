"""Stage 3½, the APIs (the floor above the store, below the jobs and the read side): each Kiwoom API the project
fetches, declared once in a module of its own — its endpoint, how a run of it is claimed, its normaliser, its
table and its load — for the jobs, replay, status and the metrics to read.

- `api`: what a declaration says (the `Api` class);
- `snapshot`: kt00005, the balance and positions; `ledger`: kt00015, the transaction ledger;
- `totals`: kt00017, the account's totals of the day; `estimates`: kt00002, the daily estimated assets.

A new account API is a module here, one line below, its normaliser, its migration, its tests and its docs.
"""

from etl.apis.api import Api
from etl.apis.estimates import ESTIMATES
from etl.apis.ledger import LEDGER
from etl.apis.snapshot import SNAPSHOT
from etl.apis.totals import DAY_TOTALS

APIS: tuple[Api, ...] = (SNAPSHOT, LEDGER, DAY_TOTALS, ESTIMATES)
