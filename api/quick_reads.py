"""The two small reads most requests make: the account behind the token, and the data version.

The role comes from the account, not the token, so a changed role or a closed account takes
effect on the next request: one indexed read per request, which also says whether the token
was signed out (a primary-key probe in the same statement: `api.services.sessions`). The
data version says whether the cached problem and ranking context are still current: one row.
On SQLite each read is a lookup in a local file taking microseconds, so it is made on the
event loop over a connection kept for these reads alone, which no request can be holding: a
trip to the thread pool and back would cost the request several times the read. Over a
network (PostgreSQL) a read waits on a round trip, so the account is read in the thread pool
with a pooled connection, never blocking the loop, and the version in the request's own
transaction.
"""

from __future__ import annotations

import threading
from typing import Any, NamedTuple

from sqlalchemy import Engine, PoolProxiedConnection, bindparam, exists, select

from api.db import VERSION_STATEMENT
from api.orm import RevokedSessionRow, UserRow

# Asked on every signed-in request: the statement is built once.
_REVOKED = exists().where(RevokedSessionRow.token_id == bindparam("token_id"))
_ACCOUNT = select(UserRow.role, UserRow.active, _REVOKED).where(
    UserRow.username == bindparam("username")
)


class Account(NamedTuple):
    role: str
    active: bool
    revoked: bool = False  # the token asked about was signed out


class QuickReads:
    """`account(username)`: the account's role and whether it is active, or None;
    `data_version()` on SQLite. `on_loop` says whether they are meant for the event loop."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # In-process and local: cheap enough for the event loop (see the module docstring).
        self.on_loop = engine.dialect.name == "sqlite"
        self._lock = threading.Lock()
        self._connection: PoolProxiedConnection | None = None
        # The driver is called directly on that path: the read itself takes microseconds,
        # and SQLAlchemy's execution machinery around it several times that.
        account = _ACCOUNT.compile(dialect=engine.dialect)
        self._account_sql = str(account)
        self._account_order = tuple(account.positiontup or ())
        version = VERSION_STATEMENT.compile(dialect=engine.dialect)
        self._version_sql = str(version)
        self._version_parameters = tuple(version.params[k] for k in version.positiontup or ())

    def account(self, username: str, token_id: str = "") -> Account | None:
        """The account's role and state, and whether the token `token_id` was revoked."""
        values = {"username": username, "token_id": token_id}
        if not self.on_loop:
            with self.engine.connect() as connection:
                row = connection.execute(_ACCOUNT, values).first()
        else:
            rows = self._local(self._account_sql, tuple(values[k] for k in self._account_order))
            row = rows[0] if rows else None
        return None if row is None else Account(row[0], bool(row[1]), bool(row[2]))

    def data_version(self) -> int:
        """As `api.db.data_version` reads it (0 before the first write); SQLite only."""
        if not self.on_loop:
            raise RuntimeError("the data version is read in the request's transaction here")
        rows = self._local(self._version_sql, self._version_parameters)
        return int(rows[0][0] or 0) if rows else 0

    def _local(self, sql: str, parameters: tuple[object, ...]) -> list[Any]:
        with self._lock:
            if self._connection is None:
                self._connection = self.engine.raw_connection()
            cursor = self._connection.cursor()
            try:
                cursor.execute(sql, parameters)
                # All rows fetched, so the statement is done and holds no read open: an open
                # read would pin the WAL, which a checkpoint could then never reset.
                return list(cursor.fetchall())
            finally:
                cursor.close()

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None
