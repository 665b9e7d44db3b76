"""Keeping the house: the schema migrated to the newest revision, and doctor's diagnosis of the database, the spool
and the state directory."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from etl.jobs.doctor import Diagnosis, diagnose
from etl.settings import Settings
from etl.store.schema import migrate as upgrade


@dataclass(frozen=True)
class Migrated:
    """The schema revision before and after (before is None for an empty database)."""

    before: str | None
    after: str

    @property
    def changed(self) -> bool:
        return self.before != self.after


def migrate(settings: Settings, engine: Engine) -> Migrated:
    """Create or upgrade the tables to the newest revision (Alembic); safe to run again."""
    before, after = upgrade(engine, settings.database_mode)
    return Migrated(before, after)


def doctor(settings: Settings, engine: Engine) -> Diagnosis:
    """The database, the spool and the state directory examined; reads only."""
    return diagnose(engine, settings.state_dir, settings.timezone)
