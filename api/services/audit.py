"""The audit trail: who read or changed whose data, and when.

Events name subjects by id only; the data itself never goes into the trail. The caller commits
the event with the rest of its work (a read commits it on its own), so an event is never lost
while the data it describes went out.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db import hold_sqlite_writer
from api.orm import AuditEventRow
from api.security import Principal


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def record(
    session: Session,
    user: Principal,
    action: str,
    subject_type: str,
    subject_ids: str | Iterable[str],
    detail: str = "",
) -> None:
    """Add one event per subject id (a list read names every person it showed)."""
    ids = [subject_ids] if isinstance(subject_ids, str) else list(subject_ids)
    at = now()
    for subject_id in ids:
        session.add(
            AuditEventRow(
                at=at,
                username=user.username,
                role=user.role.value,
                action=action,
                subject_type=subject_type,
                subject_id=subject_id,
                detail=detail,
            )
        )


def record_read(
    session: Session, user: Principal, subject_type: str, subject_ids: str | Iterable[str]
) -> None:
    """Record a read of personal data and commit it before the data is returned."""
    hold_sqlite_writer(session)
    record(session, user, "read", subject_type, subject_ids)
    session.commit()


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
