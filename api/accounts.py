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

from sqlalchemy import Engine, PoolProxiedConnection, bindparam, select

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
        self._connection: PoolProxiedConnection | None = None
        # The driver is called directly on that path: the read itself takes microseconds,
        # and SQLAlchemy's execution machinery around it several times that.
        self._sql = str(_ACCOUNT.compile(dialect=engine.dialect))

    def read(self, username: str) -> Account | None:
        if not self.reads_on_loop:
            with self.engine.connect() as connection:
                row = connection.execute(_ACCOUNT, {"username": username}).first()
                return None if row is None else Account(row.role, bool(row.active))
        with self._lock:
            if self._connection is None:
                self._connection = self.engine.raw_connection()
            cursor = self._connection.cursor()
            try:
                cursor.execute(self._sql, (username,))
                # All rows fetched, so the statement is done and holds no read open: an open
                # read would pin the WAL, which a checkpoint could then never reset.
                rows = cursor.fetchall()
            finally:
                cursor.close()
        return Account(rows[0][0], bool(rows[0][1])) if rows else None

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None
