"""The demo database: a small seeded portfolio and one login per role.

The demo logins below are public by design (the README lists them); they exist only in a
database seeded by `bedmatch serve --demo` (the default on a fresh SQLite file), never in one
created any other way.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db import lock_for_write
from api.orm import (
    AreaRow,
    BedSpaceRow,
    LinkRow,
    ReferralRow,
    ResidentRow,
    SupportTeamRow,
    UnitRow,
    UserRow,
)
from api.security import Role, hash_password
from api.services.inventory import columns
from fixtures.generator import generate
from matcher.model import Problem

DEMO_LOGINS: dict[str, tuple[str, Role]] = {
    "coordinator": ("coordinator-demo", Role.coordinator),
    "housing": ("housing-demo", Role.housing_options),
    "commissioner": ("commissioner-demo", Role.commissioner),
    "admin": ("admin-demo", Role.admin),
}

_STREETS = ("Station Road", "Church Street", "Victoria Road", "Park Lane", "Mill Street")


def is_seeded(session: Session) -> bool:
    return session.scalar(select(UnitRow.id).limit(1)) is not None


def store_problem(session: Session, problem: Problem) -> None:
    """Insert a whole problem document (inventory, residents, waiting referrals)."""
    lock_for_write(session)
    session.add_all(AreaRow(**columns(a)) for a in problem.areas)
    session.flush()
    session.add_all(LinkRow(a=link.a, b=link.b, minutes=link.minutes) for link in problem.links)
    for index, unit in enumerate(problem.units):
        values = columns(unit)
        if values["address"] is None:
            street = _STREETS[index % len(_STREETS)]
            values["address"] = f"{index + 1} {street}, {unit.area}"
        session.add(UnitRow(**values))
    session.flush()
    session.add_all(BedSpaceRow(**columns(b)) for b in problem.bedspaces)
    session.add_all(SupportTeamRow(**columns(t)) for t in problem.support_teams)
    session.flush()
    session.add_all(ResidentRow(**columns(r)) for r in problem.residents)
    session.add_all(ReferralRow(**columns(r), status="waiting") for r in problem.referrals)
    session.commit()


def seed(session: Session, seed: int = 8, referrals: int = 60, beds: int = 120) -> None:
    """Seed the demo portfolio and logins into an empty database (no-op if seeded)."""
    if not is_seeded(session):
        store_problem(session, generate(seed, referrals, beds))
    for username, (password, role) in DEMO_LOGINS.items():
        if session.scalar(select(UserRow.id).where(UserRow.username == username)) is None:
            session.add(
                UserRow(username=username, password_hash=hash_password(password), role=role.value)
            )
    session.commit()
