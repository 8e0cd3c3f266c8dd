"""The account behind a token, read on every signed-in request.

The role comes from the account, not the token, so a changed role or a closed account takes
effect on the next request: one indexed read per request. On SQLite that read is a lookup
in a local file taking microseconds, so it is made on the event loop over a connection kept
for it alone, which no request can be holding: a trip to the thread pool and back would
cost the request several times the read. Over a network (PostgreSQL) the read waits on a
round trip, so it is made in the thread pool with a pooled connection, never blocking the
loop.
"""

from __future__ import annotations

import threading
from typing import NamedTuple

from sqlalchemy import Connection, Engine, bindparam, select

from api.orm import UserRow

# Asked on every signed-in request: the statement is built once.
_ACCOUNT = select(UserRow.role, UserRow.active).where(UserRow.username == bindparam("username"))


class Account(NamedTuple):
    role: str
    active: bool


class AccountReader:
    """`read(username)`: the account's role and whether it is active, or None."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # In-process and local: cheap enough for the event loop (see the module docstring).
        self.reads_on_loop = engine.dialect.name == "sqlite"
        self._lock = threading.Lock()
        self._connection: Connection | None = None

    def read(self, username: str) -> Account | None:
        if not self.reads_on_loop:
            with self.engine.connect() as connection:
                return _account(connection, username)
        with self._lock:
            if self._connection is None:
                self._connection = self.engine.connect()
            try:
                return _account(self._connection, username)
            finally:
                # Ends the read at once: a read left open would pin the WAL, which a
                # checkpoint could then never reset.
                self._connection.rollback()

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None


def _account(connection: Connection, username: str) -> Account | None:
    row = connection.execute(_ACCOUNT, {"username": username}).first()
    return None if row is None else Account(row.role, bool(row.active))
