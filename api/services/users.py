"""Accounts: created by an admin (or once, at start, from `BEDMATCH_ADMIN_PASSWORD`)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.orm import UserRow
from api.security import Role, hash_password
from api.services.errors import Conflict, NotFound


def create_user(session: Session, username: str, password: str, role: Role) -> UserRow:
    if session.scalar(select(UserRow.id).where(UserRow.username == username)) is not None:
        raise Conflict(f"username {username!r} is taken")
    user = UserRow(username=username, password_hash=hash_password(password), role=role.value)
    session.add(user)
    session.commit()
    return user


def ensure_admin(session: Session, username: str, password: str) -> None:
    """Create the admin account if it does not exist (an existing one is left alone)."""
    if session.scalar(select(UserRow.id).where(UserRow.username == username)) is None:
        create_user(session, username, password, Role.admin)


def list_users(session: Session) -> list[UserRow]:
    return list(session.scalars(select(UserRow).order_by(UserRow.username)))


def deactivate(session: Session, username: str) -> UserRow:
    """Close an account: its tokens stop working at once; its history stays."""
    user = session.scalar(select(UserRow).where(UserRow.username == username))
    if user is None:
        raise NotFound("user", username)
    user.active = False
    session.commit()
    return user
