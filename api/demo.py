"""The demo database: a small seeded portfolio and one login per role.

The demo logins below are public by design (the README lists them), so they exist only in a
database created as the demo: `seed` fills an empty database and marks it `CREATED_AS_DEMO`,
and refuses (`NotADemoDatabase`) any database that holds anything else. A database that has
had a real admin (`HAD_REAL_ADMIN`) is never a demo again, and a real admin is never added to a
demo (`api.services.users.ensure_admin`): real people's details must not sit behind public
passwords.

Databases from before these marks are classified once, when first seen: one whose every
account is a demo login still on its public password is the demo; one with any other account
has had a real admin; one with data and no account is not a demo either. In a database that
is not the demo, a demo login still on its public password (added to a real database by an
older version) is closed at every start, and the closing audited.
"""

from __future__ import annotations

from collections import Counter
from enum import StrEnum

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.db import lock_for_write
from api.demo_by_name_list import seed_list
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
from api.security import Principal, Role, hash_password, verify_password
from api.services import audit, service_settings
from api.services.inventory import columns
from fixtures.generator import generate
from matcher.model import Pathway, Problem, UnitKind

DEMO_LOGINS: dict[str, tuple[str, Role]] = {
    "coordinator": ("coordinator-demo", Role.coordinator),
    "housing": ("housing-demo", Role.housing_options),
    "commissioner": ("commissioner-demo", Role.commissioner),
    "admin": ("admin-demo", Role.admin),
}

_STREETS = ("Station Road", "Church Street", "Victoria Road", "Park Lane", "Mill Street")

# Made-up names for the demo's made-up people, paired by gender, so a coordinator trying the
# demo reads people, not rows. Never real people.
_GIVEN = {
    "woman": ("Aisha", "Bethany", "Chloe", "Danielle", "Emma", "Fatima", "Grace", "Hannah"),
    "man": ("Adam", "Ben", "Callum", "Daniel", "Ethan", "Farhan", "George", "Harry"),
    "non_binary": ("Alex", "Robin", "Sam", "Jordan"),
}
_FAMILY = (
    "Ahmed", "Bennett", "Clarke", "Dawson", "Evans", "Fletcher", "Green", "Hussain",
    "Irving", "Jones", "Khan", "Lawson", "Murphy", "Nowak", "Okafor", "Patel",
    "Quinn", "Robinson", "Singh", "Taylor", "Walsh", "Young",
)  # fmt: skip


def demo_name(gender: str, index: int) -> str:
    """The `index`th made-up name for a person of this gender."""
    given = _GIVEN[gender]
    return f"{given[index % len(given)]} {_FAMILY[(index * 7) % len(_FAMILY)]}"


def with_demo_names(problem: Problem) -> Problem:
    """The problem with a made-up name and a case reference (SPA-2026-nnnn) for each referral."""
    named = []
    for index, referral in enumerate(problem.referrals):
        name = demo_name(referral.gender.value, index)
        named.append(
            referral.model_copy(
                update={"name": name, "case_reference": f"SPA-2026-{1000 + index:04d}"}
            )
        )
    return problem.model_copy(update={"referrals": named})


# Every how-many-th adult referral in the demo is for step-down.
DEMO_STEP_DOWN_EVERY = 7


def with_step_down(problem: Problem) -> Problem:
    """The problem with a step-down house (Oxfordshire's short stays after hospital or a
    crisis: the smallest mixed adult crisis unit, redesignated, so no bed-space is added) and
    some adults referred for it, so the demo shows the pathway."""
    size = Counter(b.unit for b in problem.bedspaces)
    crisis = [
        u
        for u in problem.units
        if u.kind is UnitKind.adult_mixed and u.pathway is Pathway.emergency
    ]
    house = min(crisis, key=lambda u: (size[u.id], u.id), default=None)
    units = [
        u.model_copy(update={"pathway": Pathway.step_down, "name": f"{u.name} (step-down)"})
        if house is not None and u.id == house.id
        else u
        for u in problem.units
    ]
    referrals = [
        r.model_copy(update={"pathway": Pathway.step_down})
        if index % DEMO_STEP_DOWN_EVERY == 0
        and r.age >= 18
        and r.household_size == 1
        and r.pathway is not Pathway.housing_first
        else r
        for index, r in enumerate(problem.referrals)
    ]
    return problem.model_copy(update={"units": units, "referrals": referrals})


# Who the service itself acts as, in the audit trail, at start (not a valid username).
SERVICE = Principal("(bedmatch)", Role.admin)


class NotADemoDatabase(Exception):
    """The database holds more than the demo (or nothing of it): no demo data or logins."""


class DatabaseKind(StrEnum):
    empty = "empty"  # nothing in it yet: it becomes whatever is asked first
    demo = "demo"  # created as the demo: public logins, generated people
    real = "real"  # has had a real admin, or holds data the demo did not put there


def is_seeded(session: Session) -> bool:
    return session.scalar(select(UnitRow.id).limit(1)) is not None


def kind_of(session: Session) -> DatabaseKind:
    """What the database is, from its marks (a database from before them is marked here)."""
    if service_settings.is_on(session, service_settings.HAD_REAL_ADMIN):
        return DatabaseKind.real
    if service_settings.is_on(session, service_settings.CREATED_AS_DEMO):
        return DatabaseKind.demo
    accounts = list(session.scalars(select(UserRow)))
    holds_data = is_seeded(session) or session.scalar(select(ReferralRow.id).limit(1))
    if not accounts and not holds_data:
        return DatabaseKind.empty
    if accounts and all(_on_public_password(user) for user in accounts):
        _mark(session, service_settings.CREATED_AS_DEMO)
        return DatabaseKind.demo
    if accounts:
        _mark(session, service_settings.HAD_REAL_ADMIN)
    return DatabaseKind.real


def _mark(session: Session, key: str) -> None:
    """Switch `key` on and commit; another worker process starting at the same moment may
    have done it first, which is as good."""
    try:
        service_settings.put(session, key, "on", SERVICE.username)
        session.commit()
    except IntegrityError:
        session.rollback()


def _on_public_password(user: UserRow) -> bool:
    login = DEMO_LOGINS.get(user.username.lower())
    return login is not None and verify_password(user.password_hash, login[0])


def close_public_logins(session: Session) -> list[str]:
    """Close every demo login still on its public password in a database that is not the
    demo (each closing audited); the usernames closed."""
    if kind_of(session) is not DatabaseKind.real:
        return []
    folded = [func.lower(UserRow.username) == name for name in DEMO_LOGINS]
    candidates = session.scalars(select(UserRow).where(UserRow.active, or_(*folded)))
    closed = [user for user in candidates if _on_public_password(user)]
    for user in closed:
        user.active = False
        audit.record(
            session, SERVICE, "deactivate", "user", user.username, "a public demo password"
        )
    session.commit()
    return [user.username for user in closed]


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
    """Seed the demo portfolio and logins into an empty database; in the demo database, add
    a missing login. Any other database is refused (`NotADemoDatabase`)."""
    kind = kind_of(session)
    if kind is DatabaseKind.real:
        raise NotADemoDatabase(
            "this database is not a demo database (it has had a real admin, or holds data "
            "the demo did not create), so it gets no demo data and no demo logins"
        )
    if kind is DatabaseKind.empty:
        lock_for_write(session)  # the mark and the data are stored together, or neither
        service_settings.put(session, service_settings.CREATED_AS_DEMO, "on", SERVICE.username)
        problem = with_step_down(with_demo_names(generate(seed, referrals, beds)))
        store_problem(session, problem)
        seed_list(session, problem, seed, demo_name)
    for username, (password, role) in DEMO_LOGINS.items():
        taken = select(UserRow.id).where(func.lower(UserRow.username) == username)
        if session.scalar(taken) is None:
            session.add(
                UserRow(username=username, password_hash=hash_password(password), role=role.value)
            )
    session.commit()
