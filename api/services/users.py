"""Accounts: created by an admin (or once, at start, from `BEDMATCH_ADMIN_PASSWORD`).

Usernames are unique regardless of case (the database holds a unique index on the lowered
name too), and an account is found by its name in any case: `Kim` and `kim` are one person,
never two accounts with two roles.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.orm import UserRow
from api.security import Role, hash_password
from api.services import service_settings
from api.services.errors import Conflict, NotFound


class DemoDatabaseRefused(Exception):
    """A real admin was asked for in the demo database, whose logins are public."""


def find(session: Session, username: str) -> UserRow | None:
    """The account named `username`, in any case."""
    return session.scalar(select(UserRow).where(func.lower(UserRow.username) == username.lower()))


def create_user(session: Session, username: str, password: str, role: Role) -> UserRow:
    if find(session, username) is not None:
        raise Conflict(f"username {username!r} is taken")
    user = UserRow(username=username, password_hash=hash_password(password), role=role.value)
    session.add(user)
    session.commit()
    return user


def ensure_admin(session: Session, username: str, password: str) -> None:
    """Create the admin account if it does not exist (an existing one is left alone), and
    mark the database as one that has had a real admin: it never gets the demo logins.
    Refused in the demo database (`DemoDatabaseRefused`)."""
    from api.demo import SERVICE, DatabaseKind, kind_of

    if kind_of(session) is DatabaseKind.demo:
        raise DemoDatabaseRefused(
            "this is the demo database, whose logins are public: a real admin needs a "
            "database of its own (a new BEDMATCH_DATABASE_URL, or --database-url)"
        )
    service_settings.put(session, service_settings.HAD_REAL_ADMIN, "on", SERVICE.username)
    if find(session, username) is None:
        create_user(session, username, password, Role.admin)
    session.commit()


def list_users(session: Session) -> list[UserRow]:
    return list(session.scalars(select(UserRow).order_by(UserRow.username)))


def deactivate(session: Session, username: str) -> UserRow:
    """Close an account: its tokens stop working at once; its history stays."""
    user = find(session, username)
    if user is None:
        raise NotFound("user", username)
    user.active = False
    session.commit()
    return user
