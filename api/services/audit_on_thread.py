"""Read events committed in groups by a writer thread, one per database.

Every audited answer waits for the commit holding its event. At load one commit carries the
events of every request that arrived while the last one was being written, instead of each
request queueing for its own. `audit_on_loop` commits on the event loop instead where that is
cheaper (a SQLite file), and hands a group it cannot commit at once to this writer.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Any, cast

from sqlalchemy import Engine, Table, insert
from sqlalchemy.orm import Session

from api.db import hold_sqlite_writer
from api.orm import AuditEventRow


class _Group:
    """Read events that go into the database in one commit, and who waits for it."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.error: Exception | None = None
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._futures: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []

    def finish(self, error: Exception | None) -> None:
        with self._lock:
            self.error = error
            self._done.set()
            futures, self._futures = self._futures, []
        for loop, future in futures:
            # A loop that has closed has nobody waiting on it any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_resolve, future)

    def wait(self) -> None:
        self._done.wait()
        if self.error is not None:
            raise self.error

    async def wait_async(self) -> None:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._lock:
            if self._done.is_set():
                future.set_result(None)
            else:
                self._futures.append((loop, future))
        await future
        if self.error is not None:
            raise self.error


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():  # a request given up on (the client left) cancelled its wait
        future.set_result(None)


class ReadLog:
    """Group commit of read events for one database, by a writer thread of its own.

    A caller adds its events to the open group and waits for that group's commit: a thread
    on an event (`write`), a coroutine on a future (`write_async`, holding no thread). The
    writer commits the open group, then the one that filled while it was committing, and so
    on: under load one commit carries the events of every request that arrived during the
    last, however many requests are waiting. Every caller returns only after the commit that
    holds its events, and gets the commit's error if that failed. The writer stops after
    `linger_s` without events and is started again by the next.
    """

    linger_s = 0.5

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._changed = threading.Condition()
        self._open = _Group()
        self._writer: threading.Thread | None = None

    def write(self, rows: list[dict[str, Any]]) -> None:
        self._join(rows).wait()

    async def write_async(self, rows: list[dict[str, Any]]) -> None:
        await self._join(rows).wait_async()

    def _join(self, rows: list[dict[str, Any]]) -> _Group:
        with self._changed:
            group = self._open
            group.rows.extend(rows)
            if self._writer is None:
                self._writer = threading.Thread(
                    target=self._write_groups, name="audit-writer", daemon=True
                )
                self._writer.start()
            else:
                self._changed.notify()
        return group

    def _write_groups(self) -> None:
        while True:
            with self._changed:
                if not self._open.rows:
                    self._changed.wait(self.linger_s)
                if not self._open.rows:
                    self._writer = None  # under the lock: the next `_join` starts another
                    return
                group, self._open = self._open, _Group()
            group.finish(self._commit(group.rows))

    def _commit(self, rows: list[dict[str, Any]]) -> Exception | None:
        try:
            with Session(self._engine) as session:
                hold_sqlite_writer(session)
                # A Core insert of the table: the ORM's bulk path costs more than the statement.
                session.execute(insert(cast(Table, AuditEventRow.__table__)), rows)
                session.commit()
        except Exception as error:  # every caller in the group gets it
            return error
        return None
