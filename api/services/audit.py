"""The audit trail: who read or changed whose data, and when.

Events name subjects by id only; the data itself never goes into the trail. The caller commits
the event with the rest of its work (a read commits it on its own), so an event is never lost
while the data it describes went out.

Reads are committed in groups (`ReadLog`): every audited answer waits for a commit, and at
load one commit can carry the events of every request that arrived while the last one was
being written, instead of each request queueing for its own.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, cast
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, Table, insert, select
from sqlalchemy.orm import Session

from api.db import hold_sqlite_writer
from api.orm import AuditEventRow
from api.security import Principal


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
    rows = _event_values(user, "read", subject_type, subject_ids)
    if rows:  # an empty answer showed nobody
        _read_log(session.get_bind()).write(session, rows)


class _Group:
    """Read events that go into the database in one commit."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.done = False
        self.error: BaseException | None = None


class ReadLog:
    """Group commit of read events for one database.

    A caller adds its events to the open group. If no commit is under way it takes the group
    and commits it with its own session (the events of everyone who joined meanwhile
    included); otherwise it waits: either its group was committed by another caller, or the
    commit under way ended and it takes the group itself. Every caller returns only after the
    commit that holds its events, and gets the commit's error if that failed.
    """

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._open = _Group()
        self._committing = False

    def write(self, session: Session, rows: list[dict[str, Any]]) -> None:
        with self._changed:
            group = self._open
            group.rows.extend(rows)
            while self._committing and not group.done:
                self._changed.wait()
            leads = not group.done
            if leads:  # nothing is being committed, so `group` is still the open one
                self._committing = True
                self._open = _Group()
        if not leads:
            if group.error is not None:
                raise group.error
            return
        try:
            hold_sqlite_writer(session)
            # A Core insert of the table: the ORM's bulk path costs more than the statement.
            session.execute(insert(cast(Table, AuditEventRow.__table__)), group.rows)
            session.commit()
        except BaseException as error:
            group.error = error
            raise
        finally:
            with self._changed:
                group.done = True
                self._committing = False
                self._changed.notify_all()


_read_logs: WeakKeyDictionary[Engine, ReadLog] = WeakKeyDictionary()
_read_logs_lock = threading.Lock()


def _read_log(bind: Any) -> ReadLog:
    engine: Engine = bind.engine  # a Connection or an Engine: its Engine
    with _read_logs_lock:
        log = _read_logs.get(engine)
        if log is None:
            log = _read_logs[engine] = ReadLog()
        return log


def events(
    session: Session,
    *,
    username: str | None = None,
    subject_id: str | None = None,
    limit: int = 200,
) -> list[AuditEventRow]:
    query = select(AuditEventRow).order_by(AuditEventRow.id.desc()).limit(limit)
    if username:
        query = query.where(AuditEventRow.username == username)
    if subject_id:
        query = query.where(AuditEventRow.subject_id == subject_id)
    return list(session.scalars(query))
