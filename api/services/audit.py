"""The audit trail: who read or changed whose data, and when.

Events name subjects by id only; the data itself never goes into the trail. The caller commits
the event with the rest of its work (a read commits it on its own), so an event is never lost
while the data it describes went out.

Reads are committed in groups, by a writer thread (`audit_on_thread`) or, on a SQLite file,
by the event loop itself (`audit_on_loop`): every audited answer waits for a commit, and at
load one commit carries the events of every request that arrived while the last one was
being written, instead of each request queueing for its own.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from api.db import holds_sqlite_writer
from api.orm import AuditEventRow
from api.security import Principal
from api.services.audit_on_loop import commits_on_loop, loop_read_log
from api.services.audit_on_thread import ReadLog


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
