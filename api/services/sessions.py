"""Signing out: a token's id (`jti`) goes into `revoked_sessions`, and the token is refused
from the next request on, in every worker process.

Every signed-in request already reads its account (role, still active) from the database
(`api.quick_reads`); whether its token was revoked is asked in that same statement, by
primary key, so signing out costs requests no extra read and no cache to keep in step
between processes. A revoked id is kept only until its token would have expired anyway.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from api.db import hold_sqlite_writer
from api.orm import RevokedSessionRow
from api.security import Principal
from api.services import audit


def revoke(session: Session, user: Principal, expires_at: datetime, client: str) -> None:
    """Refuse `user`'s token from now on, and record the sign-out; commits."""
    if not user.token_id:
        return
    hold_sqlite_writer(session)
    now = audit.now()
    session.execute(delete(RevokedSessionRow).where(RevokedSessionRow.expires_at < now))
    revoked = select(RevokedSessionRow.token_id).where(RevokedSessionRow.token_id == user.token_id)
    if session.scalar(revoked) is None:
        session.add(
            RevokedSessionRow(
                token_id=user.token_id,
                username=user.username,
                expires_at=expires_at,
                revoked_at=now,
            )
        )
    audit.record(session, user, "sign_out", "client", client)
    session.commit()
