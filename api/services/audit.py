"""The audit trail: who read or changed whose data, and when.

Events name subjects by id only; the data itself never goes into the trail. The caller commits
the event with the rest of its work (a read commits it on its own), so an event is never lost
while the data it describes went out.

Reads are committed in groups (`ReadLog`): every audited answer waits for a commit, and at
load one commit carries the events of every request that arrived while the last one was
being written, instead of each request queueing for its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, cast
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, Table, insert, select
from sqlalchemy.orm import Session

from api.db import hold_sqlite_writer, holds_sqlite_writer
from api.orm import AuditEventRow
from api.security import Principal
from api.services.audit_on_loop import commits_on_loop, loop_read_log


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _event_values(
    user: Principal,
    action: str,
    subject_type: str,
    subject_ids: str | Iterable[str],
    detail: str = "",
) -> list[dict[str, Any]]:
    """One event (as column values) per subject id, all stamped now."""
    ids = [subject_ids] if isinstance(subject_ids, str) else list(subject_ids)
    at = now()
    return [
        {
            "at": at,
            "username": user.username,
            "role": user.role.value,
            "action": action,
            "subject_type": subject_type,
            "subject_id": subject_id,
            "detail": detail,
        }
        for subject_id in ids
    ]


def record(
    session: Session,
    user: Principal,
    action: str,
    subject_type: str,
    subject_ids: str | Iterable[str],
    detail: str = "",
) -> None:
    """Add one event per subject id (a list read names every person it showed), to be
    committed with the caller's work."""
    session.add_all(
        AuditEventRow(**event)
        for event in _event_values(user, action, subject_type, subject_ids, detail)
    )


def record_read(
    session: Session, user: Principal, subject_type: str, subject_ids: str | Iterable[str]
) -> None:
    """Record a read of personal data; return once it is committed, so before the data is
    returned. Raises what the commit raised (the caller then returns nothing)."""
    if holds_sqlite_writer(session):
        # The log's writer would wait for this session's turn to write, and this session
        # for the log's writer: a hang. A read is recorded after the write is settled.
        raise RuntimeError("record a read after committing or rolling back the write")
    rows = _event_values(user, "read", subject_type, subject_ids)
    if rows:  # an empty answer showed nobody
        _read_log(session.get_bind()).write(rows)


async def record_read_async(
    engine: Engine, user: Principal, subject_type: str, subject_ids: str | Iterable[str]
) -> None:
    """`record_read` for a coroutine: it waits for the commit without holding a thread. On
    a SQLite file the event loop commits it (`audit_on_loop`)."""
    rows = _event_values(user, "read", subject_type, subject_ids)
    if not rows:
        return
    if commits_on_loop(engine):
        await loop_read_log(engine, _read_log(engine)).write(rows)
    else:
        await _read_log(engine).write_async(rows)


def record_at_once(
    session: Session,
    username: str,
    role: str,
    action: str,
    subject_type: str,
    subject_id: str,
    detail: str = "",
) -> None:
    """Record an event by someone who may not be signed in (a sign-in attempt); return once
    it is committed, in a group with other events, outside the caller's transaction."""
    row = {
        "at": now(),
        "username": username,
        "role": role,
        "action": action,
        "subject_type": subject_type,
        "subject_id": subject_id,
        "detail": detail,
    }
    _read_log(session.get_bind()).write([row])


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


_read_logs: WeakKeyDictionary[Engine, ReadLog] = WeakKeyDictionary()
_read_logs_lock = threading.Lock()


def _read_log(bind: Any) -> ReadLog:
    engine: Engine = bind.engine  # a Connection or an Engine: its Engine
    with _read_logs_lock:
        log = _read_logs.get(engine)
        if log is None:
            log = _read_logs[engine] = ReadLog(engine)
        return log


def events(
    session: Session,
    *,
    username: str | None = None,
    subject_id: str | None = None,
    action: str | None = None,
    before: int | None = None,
    limit: int = 200,
) -> list[AuditEventRow]:
    """The newest events first, those before event id `before` when given (a next page)."""
    query = select(AuditEventRow).order_by(AuditEventRow.id.desc()).limit(limit)
    if username:
        query = query.where(AuditEventRow.username == username)
    if subject_id:
        query = query.where(AuditEventRow.subject_id == subject_id)
    if action:
        query = query.where(AuditEventRow.action == action)
    if before is not None:
        query = query.where(AuditEventRow.id < before)
    return list(session.scalars(query))
