"""The APIs (the floor above the store, below the jobs and the read side): each Kiwoom API the project fetches, declared
once in a module of its own — its endpoint, how a run of it is claimed, its normaliser, its tables (those only it
writes described and declared beside it) and its load — for the jobs, replay, status, the statistics and the metrics
to read.

This package is where the schema is whole: importing it declares every table on `Base`, whose metadata Alembic,
export and the data dictionary read, and gives etl_runs its check of the declared api-ids and the docs that name
what their runs are.

- `api`: what a declaration says (the `Api` class);
- `snapshot`: kt00005, the balance and positions; `ledger`: kt00015, the transaction ledger;
- `totals`: kt00017, the account's totals of the day; `estimates`: kt00002, the daily estimated assets;
- `instruments`: ka10099 and ka10100, the instrument master; `charts`: ka20006 and ka10081, the index and stock
  daily bars (market APIs: asked for no account).
- `realized`: ka10074, Kiwoom's daily realised profit.

A new account API is a module here and one line below, its normaliser, its migration, its tests (with its renderer in
etl.sim) and its docs; what runs it is a job in etl.jobs called by a use case of etl.app.
"""

from sqlalchemy import CheckConstraint

from etl.apis.api import Api
from etl.apis.charts import INDEX_DAILY, STOCK_DAILY
from etl.apis.estimates import ESTIMATES
from etl.apis.instruments import INSTRUMENT_SINGLE, INSTRUMENTS
from etl.apis.ledger import LEDGER
from etl.apis.realized import REALIZED
from etl.apis.snapshot import SNAPSHOT
from etl.apis.totals import DAY_TOTALS
from etl.store.dictionary import TABLES as STORE_TABLES
from etl.store.dictionary import Relation, etl_runs
from etl.store.models import Base, EtlRun, describe, one_of, relation_of

__all__ = [
    "API_IDS",
    "APIS",
    "DAY_TOTALS",
    "ESTIMATES",
    "INDEX_DAILY",
    "INSTRUMENTS",
    "INSTRUMENT_SINGLE",
    "LEDGER",
    "REALIZED",
    "SNAPSHOT",
    "STOCK_DAILY",
    "TABLES",
    "Api",
    "Base",
]

APIS: tuple[Api, ...] = (
    SNAPSHOT,
    LEDGER,
    DAY_TOTALS,
    ESTIMATES,
    REALIZED,
    INSTRUMENTS,
    INSTRUMENT_SINGLE,
    INDEX_DAILY,
    STOCK_DAILY,
)

# etl_runs.api_id: what each run fetched. The migration that adds an API widens the database's check; this one is
# what Alembic compares with it.
API_IDS: tuple[str, ...] = tuple(api.api_id for api in APIS)
EtlRun.__table__.append_constraint(CheckConstraint(one_of("api_id", API_IDS), name="api_id"))
# Its docs name what each declared API's runs are (the declarations say it).
describe(EtlRun.__table__, etl_runs(APIS))

# Every table described, in the order export lists them: the store's own, then those of each declaration.
TABLES: dict[str, Relation] = {
    **STORE_TABLES,
    EtlRun.__tablename__: relation_of(EtlRun.__table__),
    **{table.name: relation_of(table) for api in APIS for table in api.tables},
}
