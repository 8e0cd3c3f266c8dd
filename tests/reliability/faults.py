"""Tools for injecting faults into a running service and seeing what they left behind.

`snapshot(url)` reads every table, in a fixed order, through its own connection, so two
snapshots compare equal exactly when the database holds the same rows. `fault_at(engine, ...)`
arms a one-shot fault on the service's own engine, fired just before the first statement that
starts with a given SQL prefix: the point "half-way" through a request's transaction.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
from sqlalchemy import Engine, event, select

from api.db import make_engine
from api.orm import Base

Snapshot = dict[str, list[tuple[Any, ...]]]


def snapshot(url: str) -> Snapshot:
    """Every row of every service table, sorted, read on a fresh connection."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return {
                table.name: sorted(
                    (tuple(row) for row in connection.execute(select(table))), key=repr
                )
                for table in Base.metadata.sorted_tables
            }
    finally:
        engine.dispose()


def libpq_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def terminate_backend(url: str, pid: int) -> None:
    """Kill one server process from another connection, and wait until it has gone."""
    with psycopg.connect(libpq_url(url), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        for _ in range(200):
            gone = admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,))
            if gone.fetchone() is None:
                return
            time.sleep(0.01)
    raise RuntimeError(f"PostgreSQL backend {pid} did not stop")


def run_sql(url: str, sql: str, params: tuple[Any, ...] = ()) -> None:
    """Run and commit one statement on a separate connection (another writer)."""
    with psycopg.connect(libpq_url(url), autocommit=True) as other:
        # Never wait for ever on a lock the service holds while this runs inside its request.
        other.execute("SET lock_timeout = '5s'")
        other.execute(sql, params)  # type: ignore[arg-type]


@dataclass
class Fault:
    """A fault armed on an engine; `fired` says whether the statement was reached."""

    prefix: str
    fired: list[str] = field(default_factory=list)


@contextmanager
def fault_at(
    engine: Engine, prefix: str, action: Callable[[Any], None], carrying: str = ""
) -> Iterator[Fault]:
    """Call `action(dbapi_connection)` before the first statement on `engine` that starts
    with `prefix` (case-insensitive) and whose parameters mention `carrying`, once; the
    listener is removed on exit."""
    fault = Fault(prefix)

    def before(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if fault.fired or not statement.lstrip().upper().startswith(prefix.upper()):
            return
        if carrying not in repr(parameters):
            return
        fault.fired.append(statement)
        action(conn.connection.dbapi_connection)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield fault
    finally:
        event.remove(engine, "before_cursor_execute", before)


def kill_connection(url: str) -> Callable[[Any], None]:
    """A fault action: the server ends this connection (as a crash or failover would)."""

    def action(dbapi_connection: Any) -> None:
        terminate_backend(url, dbapi_connection.info.backend_pid)

    return action
