"""Which database a URL names, without its credentials: what a spooled snapshot records as the database it was meant
for, so that `flush` loads it there and nowhere else.

A SQLite database is its file's resolved path. A PostgreSQL database is its name on its servers (each host:port of
a multi-host URL) and, once a connection has told it, the cluster's `system_identifier`: a standby promoted after a
failover keeps its primary's, so two identities that both know theirs match on it, whatever hosts the URLs name.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from etl.files import sqlite_path

DEFAULT_PORTS = {"postgresql": 5432}


@dataclass(frozen=True)
class DatabaseIdentity:
    """A database as a spool file names it: never a user name or a password."""

    backend: str  # sqlite, postgresql
    database: str  # SQLite: the file's resolved path; else the database's name
    hosts: tuple[str, ...] = ()  # host:port of every server the URL names, sorted
    system_identifier: str | None = None  # PostgreSQL's pg_control_system(); None while unknown

    def matches(self, other: DatabaseIdentity) -> bool:
        """Whether the two name the same database: by system identifier when both know it, else by a shared server."""
        if (self.backend, self.database) != (other.backend, other.database):
            return False
        if self.backend == "sqlite":
            return True
        if self.system_identifier and other.system_identifier:
            return self.system_identifier == other.system_identifier
        return bool(set(self.hosts) & set(other.hosts))

    def __str__(self) -> str:
        if self.backend == "sqlite":
            return f"SQLite file {self.database}"
        system = self.system_identifier or "unknown"
        return f"{self.backend} database {self.database} on {','.join(self.hosts)} (system identifier {system})"

    def as_dict(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "database": self.database,
            "hosts": list(self.hosts),
            "system_identifier": self.system_identifier,
        }

    @classmethod
    def from_dict(cls, raw: Any) -> DatabaseIdentity:
        """The identity a spool file holds. Raises KeyError or TypeError for one that is not."""
        if not isinstance(raw, dict):
            raise TypeError(f"target is a {type(raw).__name__}, not an object")
        hosts = raw.get("hosts") or ()
        if not isinstance(hosts, list | tuple):
            raise TypeError(f"target's hosts is a {type(hosts).__name__}, not a list")
        system = raw.get("system_identifier")
        return cls(
            backend=str(raw["backend"]),
            database=str(raw["database"]),
            hosts=tuple(str(h) for h in hosts),
            system_identifier=str(system) if system else None,
        )


def identity_of(url: URL) -> DatabaseIdentity:
    """What `url` names, from the URL alone (the system identifier stays unknown)."""
    backend = url.get_backend_name()
    if backend == "sqlite":
        path = sqlite_path(url)
        return DatabaseIdentity(backend, str(path.resolve()) if path else ":memory:")
    default_port = url.port or DEFAULT_PORTS.get(backend)
    named = url.query.get("host")  # psycopg's multi-host form: ?host=A:5432&host=B:5433
    hosts = [url.host] if url.host else []
    hosts += [named] if isinstance(named, str) else list(named or ())
    pairs = {_host_port(h, default_port) for h in hosts if h}
    return DatabaseIdentity(backend, url.database or "", tuple(sorted(pairs or {f"localhost:{default_port}"})))


def _host_port(host: str, port: int | None) -> str:
    """One server as host:port, an IPv6 address in brackets ([::1]:5432), a socket folder as it is: the URL's
    host ("::1", its port apart) and a ?host= ("[::1]:5433", "db1:5433", "db1") spell it alike. An IPv6 address
    is not taken for a host with its port: two clusters on one machine are two servers."""
    if host.startswith("/") or (host.startswith("[") and "]:" in host):
        return host
    if host.startswith("["):
        return f"{host}:{port}"
    if host.count(":") > 1:  # a bare IPv6 address
        return f"[{host}]:{port}"
    return host if ":" in host else f"{host}:{port}"


def learn_identity(engine: Engine) -> DatabaseIdentity:
    """What `engine` names, with PostgreSQL's system identifier when the server answers (else without it)."""
    identity = identity_of(engine.url)
    if identity.backend != "postgresql":
        return identity
    # An engine of its own: the caller's may refuse to connect to a database at another revision, which has its
    # identity all the same (reading it writes nothing).
    reader = create_engine(engine.url, poolclass=NullPool)
    try:
        with reader.connect() as connection:
            system = connection.exec_driver_sql("SELECT system_identifier FROM pg_control_system()").scalar()
    except SQLAlchemyError:  # away, or a role the function is not granted to
        return identity
    finally:
        reader.dispose()
    return replace(identity, system_identifier=str(system) if system is not None else None)
