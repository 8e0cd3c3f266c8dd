"""Read events committed by the event loop itself, on a SQLite file database.

On SQLite, committing a few audit rows is an append to the WAL file of about a hundred
microseconds. Handed to the writer thread (`audit_on_thread.ReadLog`) the same commit waits for the
interpreter lock behind the loop's work at every step, and every answer waiting on it waits
too: rank summary, 10,000 bed-spaces, 20 clients on two processes, p50 26 -> 19 ms and p99
54 -> 43 ms with the loop committing. So the loop commits each turn's events itself, but
never sleeps:

- it takes the writer's turn only if it is free (`try_sqlite_writer_turn`), on a connection
  whose busy timeout is 0, so SQLite does not nap on a lock either; a taken turn is tried
  again `retry_s` later, and a group that has waited `hand_over_s` goes to the writer thread,
  which waits for its turn there;
- its connection never checkpoints (a checkpoint syncs files to disk): a thread does, every
  `checkpoint_every` commits, in passive mode, which holds up no writer.

A commit that fails on the loop goes to the writer thread too, whose error, if it fails
again, every read of the group gets. No read returns before the commit holding its event.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Any, cast
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, PoolProxiedConnection, Table, insert

from api.db import sqlite_file, try_sqlite_writer_turn
from api.orm import AuditEventRow
from api.services.audit_on_thread import ReadLog

_TABLE = cast(Table, AuditEventRow.__table__)
_COLUMNS = ("at", "username", "role", "action", "subject_type", "subject_id", "detail")


def commits_on_loop(engine: Engine) -> bool:
    """Whether reads of this database are committed by the event loop: a SQLite file (an
    in-memory database is one connection, which requests in threads are using)."""
    return sqlite_file(engine) is not None


class LoopReadLog:
    """Group commit of read events by one event loop (see the module docstring)."""

    retry_s = 0.001
    hand_over_s = 0.05
    checkpoint_every = 200

    def __init__(self, engine: Engine, loop: asyncio.AbstractEventLoop, fallback: ReadLog) -> None:
        self._engine = engine
        self._loop = loop
        self._fallback = fallback  # the engine's `audit_on_thread.ReadLog`
        self._rows: list[dict[str, Any]] = []
        self._waiting: list[asyncio.Future[None]] = []
        self._flush_due: asyncio.Handle | None = None
        self._first_refused: float | None = None  # when the open group first found no turn
        self._connection: PoolProxiedConnection | None = None
        self._commits = 0
        self._checkpointing = False
        self._handed_over: set[asyncio.Task[None]] = set()  # the loop keeps only weak refs
        statement = insert(_TABLE).compile(dialect=engine.dialect, column_keys=list(_COLUMNS))
        self._sql = str(statement)
        order = statement.positiontup or list(_COLUMNS)
        processors = [_TABLE.c[name].type.bind_processor(engine.dialect) for name in order]
        self._order = list(zip(order, processors, strict=True))

    async def write(self, rows: list[dict[str, Any]]) -> None:
        future = self._loop.create_future()
        self._rows.extend(rows)
        self._waiting.append(future)
        if self._flush_due is None:
            # At the end of this loop turn: every answer finished in the turn joins the group.
            self._flush_due = self._loop.call_soon(self._flush)
        await future

    def _flush(self) -> None:
        self._flush_due = None
        if not self._rows:
            return
        give_back = try_sqlite_writer_turn(self._engine)
        if give_back is None:
            now = self._loop.time()
            if self._first_refused is None:
                self._first_refused = now
            if now - self._first_refused < self.hand_over_s:
                self._flush_due = self._loop.call_later(self.retry_s, self._flush)
                return
        rows, waiting = self._rows, self._waiting
        self._rows, self._waiting, self._first_refused = [], [], None
        if give_back is None:
            self._hand_over(rows, waiting)
            return
        try:
            committed = self._commit(rows)
        finally:
            give_back()
        if not committed:
            self._hand_over(rows, waiting)
            return
        _settle(waiting, None)
        self._commits += 1
        if self._commits % self.checkpoint_every == 0 and not self._checkpointing:
            self._checkpointing = True
            threading.Thread(target=self._checkpoint, name="audit-checkpoint").start()

    def _commit(self, rows: list[dict[str, Any]]) -> bool:
        """Commit `rows` now; False if SQLite refused (a writer outside the turn, or a row
        the database rejects): the writer thread then tries, and reports any error."""
        try:
            connection = self._connect()
            cursor = connection.cursor()
            try:
                cursor.executemany(self._sql, [self._parameters(row) for row in rows])
                connection.commit()
            finally:
                cursor.close()
        except Exception:
            if self._connection is not None:
                with contextlib.suppress(Exception):
                    self._connection.rollback()
            return False
        return True

    def _parameters(self, row: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(
            process(row[name]) if process is not None else row[name]
            for name, process in self._order
        )

    def _connect(self) -> PoolProxiedConnection:
        if self._connection is None:
            connection = self._engine.raw_connection()
            cursor = connection.cursor()
            cursor.execute("PRAGMA busy_timeout=0")
            cursor.execute("PRAGMA wal_autocheckpoint=0")
            cursor.close()
            self._connection = connection
        return self._connection

    def _hand_over(self, rows: list[dict[str, Any]], waiting: list[asyncio.Future[None]]) -> None:
        async def through_the_writer_thread() -> None:
            try:
                await self._fallback.write_async(rows)
            except Exception as error:
                _settle(waiting, error)
            else:
                _settle(waiting, None)

        task = self._loop.create_task(through_the_writer_thread())
        self._handed_over.add(task)
        task.add_done_callback(self._handed_over.discard)

    def _checkpoint(self) -> None:
        try:
            with self._engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except Exception:  # the next one tries again; commits go on meanwhile
            pass
        finally:
            self._checkpointing = False

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def _settle(waiting: list[asyncio.Future[None]], error: Exception | None) -> None:
    """Tell every reader of a group how its commit went."""
    for future in waiting:
        if future.done():  # a request given up on (the client left) is cancelled
            continue
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)


_logs: WeakKeyDictionary[Engine, WeakKeyDictionary[asyncio.AbstractEventLoop, LoopReadLog]] = (
    WeakKeyDictionary()
)
_logs_lock = threading.Lock()


def loop_read_log(engine: Engine, fallback: ReadLog) -> LoopReadLog:
    """The running loop's log for `engine` (made on first use)."""
    loop = asyncio.get_running_loop()
    with _logs_lock:
        by_loop = _logs.setdefault(engine, WeakKeyDictionary())
        log = by_loop.get(loop)
        if log is None:
            log = by_loop[loop] = LoopReadLog(engine, loop, fallback)
        return log


def close_loop_read_logs(engine: Engine) -> None:
    """Close the connections the loops' logs of `engine` keep (at shutdown)."""
    with _logs_lock:
        by_loop = _logs.pop(engine, None)
    for log in list(by_loop.values()) if by_loop is not None else []:
        log.close()
