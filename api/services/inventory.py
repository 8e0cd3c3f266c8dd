"""Create, read, update and delete for areas, units, bed-spaces, support teams and referrals.

An update changes only what it names (`patch`); a replacement (`replace`, HTTP PUT) must
name every field, so no field is ever reset to a default by being left out. Every write is
audited field by field, and every weakening of a safety field on its own
(`api.services.changes`).

Every write is validated the way every other document is: the changed database is assembled
into a `Problem` inside the same transaction, so an unknown area, a duplicate id or a
`keep_apart` naming nobody is refused with the model's own field path and reason, and nothing
is stored. A change to the inventory that would make people already placed break a hard rule
(a unit turned men-only around its women residents) is refused with 409 and every reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import Enum
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.db import lock_for_write
from api.orm import AreaRow, Base, BedSpaceRow, ReferralRow, ResidentRow, SupportTeamRow, UnitRow
from api.security import Principal
from api.services import audit, by_name_list, changes
from api.services.assemble import build_problem
from api.services.changes import RecordChange
from api.services.errors import Conflict, NotFound
from api.services.list_status import ListEvent
from constraints.checker import resident_violations
from matcher.errors import Issue, ProblemInvalid
from matcher.model import Area, BedSpace, Problem, Referral, SupportTeam, Unit


@dataclass(frozen=True)
class Kind:
    """One stored collection: its name in the problem document, its model and its table."""

    collection: str
    what: str
    model: type[BaseModel]
    row: type[Base]
    # Changes to these can make people already placed break a rule, so they are re-checked.
    shapes_placements: bool = True

    @property
    def subject(self) -> str:
        """The audit trail's name for one of these ("bed-space" -> "bedspace")."""
        return self.what.replace("-", "").replace(" ", "_")


AREAS = Kind("areas", "area", Area, AreaRow, shapes_placements=False)
UNITS = Kind("units", "unit", Unit, UnitRow)
BEDSPACES = Kind("bedspaces", "bed-space", BedSpace, BedSpaceRow)
SUPPORT_TEAMS = Kind("support_teams", "support team", SupportTeam, SupportTeamRow)
REFERRALS = Kind("referrals", "referral", Referral, ReferralRow, shapes_placements=False)
KINDS = {kind.collection: kind for kind in (AREAS, UNITS, BEDSPACES, SUPPORT_TEAMS, REFERRALS)}
# Fields that name a stored row (foreign keys): checked first, so an unknown id is a 422
# naming the field, not a database error.
REFERENCES: dict[str, list[tuple[str, type[Base], str]]] = {
    "units": [("area", AreaRow, "area")],
    "bedspaces": [("unit", UnitRow, "unit")],
    "support_teams": [("area", AreaRow, "area")],
}


def reference_issues(
    session: Session, kind: Kind, item: BaseModel, loc: tuple[str | int, ...] = ("body",)
) -> list[Issue]:
    issues = []
    for field, row, what in REFERENCES.get(kind.collection, []):
        value = getattr(item, field)
        if session.get(row, value) is None:
            issues.append(Issue((*loc, field), f"unknown {what} id {value!r}"))
    return issues


def columns(item: BaseModel) -> dict[str, Any]:
    """A model's fields as column values: enums as their strings, dates kept as dates."""

    def plain(value: Any) -> Any:
        if isinstance(value, Enum):
            return value.value
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value

    return {name: plain(getattr(item, name)) for name in type(item).model_fields}


def list_rows(
    session: Session, kind: Kind, *, limit: int | None = None, offset: int = 0, where: Any = None
) -> list[Any]:
    query = select(kind.row).order_by(kind.row.id)  # type: ignore[attr-defined]
    if where is not None:
        query = query.where(where)
    if limit is not None:
        query = query.limit(limit).offset(offset)
    return list(session.scalars(query))


def get_row(session: Session, kind: Kind, item_id: str) -> Any:
    row = session.get(kind.row, item_id)
    if row is None:
        raise NotFound(kind.what, item_id)
    return row


def create(session: Session, as_of: date, kind: Kind, item: BaseModel, user: Principal) -> Any:
    item_id = getattr(item, "id")  # noqa: B009 - every stored kind has an id
    missing = sorted(changes.required_on_create(kind.collection) - item.model_fields_set)
    if missing:
        raise ProblemInvalid(
            [Issue(("body", name), "field required: it has no safe default") for name in missing]
        )
    lock_for_write(session)
    if session.get(kind.row, item_id) is not None:
        session.rollback()
        raise Conflict(f"{kind.what} id {item_id!r} already exists")
    issues = reference_issues(session, kind, item)
    if issues:
        session.rollback()
        raise ProblemInvalid(issues)
    row = kind.row(**columns(item))
    session.add(row)
    record_change(session, user, kind, changes.created(kind.collection, item))
    if isinstance(item, Referral):
        by_name_list.follow(
            session, user, item.case_reference, ListEvent.new_referral, item.referred
        )
    _commit_if_valid(session, as_of, kind, item_id)
    return row


def replace(
    session: Session, as_of: date, kind: Kind, item_id: str, item: BaseModel, user: Principal
) -> Any:
    """Replace a record whole (HTTP PUT): every field must be given, so nothing is reset to a
    default by being left out."""
    # Fields added to the model later may be left out (they then read as not recorded), so
    # a client written before them still works: contract, add, never rename.
    added: frozenset[str] = getattr(kind.model, "added_later", frozenset())
    missing = sorted(set(kind.model.model_fields) - item.model_fields_set - added)
    if missing:
        raise ProblemInvalid(
            [
                Issue(
                    ("body", name),
                    "field required: PUT replaces the whole record; "
                    "PATCH changes only the fields it names",
                )
                for name in missing
            ]
        )
    if getattr(item, "id") != item_id:  # noqa: B009
        raise ProblemInvalid([Issue(("body", "id"), f"must match the id in the path, {item_id!r}")])
    return _change(session, as_of, kind, item_id, lambda stored: item, user)


def patch(
    session: Session,
    as_of: date,
    kind: Kind,
    item_id: str,
    given: dict[str, Any],
    user: Principal,
) -> Any:
    """Change only the fields `given` names (HTTP PATCH); every other field keeps its value."""
    return _change(
        session, as_of, kind, item_id, lambda stored: changes.merge(kind.model, stored, given), user
    )


def _change(
    session: Session,
    as_of: date,
    kind: Kind,
    item_id: str,
    make: Any,
    user: Principal,
) -> Any:
    """Store `make(stored values)` in place of the record, re-checked as every write is."""
    lock_for_write(session)
    try:
        row = get_row(session, kind, item_id)
        if kind is REFERRALS and row.status != "waiting":
            raise Conflict(f"referral {item_id!r} is {row.status}, so it can no longer be changed")
        stored = changes.stored_values(kind.model, row)
        item = make(stored)
        issues = reference_issues(session, kind, item)
        if issues:
            raise ProblemInvalid(issues)
        before = _resident_findings(session, as_of) if kind.shapes_placements else set()
    except BaseException:
        session.rollback()
        raise
    for name, value in columns(item).items():
        setattr(row, name, value)
    record_change(session, user, kind, changes.diff(kind.collection, item_id, stored, item))
    _commit_if_valid(session, as_of, kind, item_id, before)
    return row


def delete(session: Session, as_of: date, kind: Kind, item_id: str, user: Principal) -> None:
    """Remove an item; a referral is withdrawn instead (its history stays)."""
    lock_for_write(session)
    row = get_row(session, kind, item_id)
    if kind is REFERRALS:
        if row.status != "waiting":
            session.rollback()
            raise Conflict(f"referral {item_id!r} is {row.status}, so it cannot be withdrawn")
        row.status = "withdrawn"
        audit.record(session, user, "withdraw", kind.subject, item_id)
        session.commit()
        return
    stored = changes.stored_values(kind.model, row)
    before = _resident_findings(session, as_of) if kind.shapes_placements else set()
    session.delete(row)
    detail = "; ".join(f"{name}: {value}" for name, value in stored.items() if name != "id")
    audit.record(session, user, "delete", kind.subject, item_id, detail)
    _commit_if_valid(session, as_of, kind, item_id, before)


def record_change(session: Session, user: Principal, kind: Kind, change: RecordChange) -> None:
    """Audit a created or changed record, and each safety field it weakens on its own, in the
    caller's transaction. A person's record is audited without its values, but for the old
    and new values of each safety field weakened."""
    if change.created:
        detail = "" if kind.collection in changes.PERSONAL_COLLECTIONS else change.audit_detail()
        audit.record(session, user, "create", kind.subject, change.id, detail)
        return
    if not change.fields:
        return
    audit.record(session, user, "update", kind.subject, change.id, change.audit_detail())
    for weakened in change.weakened:
        audit.record(
            session,
            user,
            "weaken",
            kind.subject,
            change.id,
            RecordChange(kind.collection, change.id, False, (weakened,)).audit_detail(),
        )


def _resident_findings(session: Session, as_of: date) -> set[tuple[str, str]]:
    problem = build_problem(session, as_of)
    return {(v.rule, v.message) for v in resident_violations(problem)}


def _commit_if_valid(
    session: Session,
    as_of: date,
    kind: Kind,
    item_id: str,
    before: set[tuple[str, str]] | None = None,
) -> None:
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(f"{kind.what} {item_id!r} is still referred to by other records") from None
    try:
        problem = build_problem(session, as_of)
    except ProblemInvalid as error:
        refusal = _as_request_error(session, kind, item_id, error.issues)
        session.rollback()
        raise refusal from None
    if before is not None and kind.shapes_placements:
        after = resident_violations(problem)
        new = [v.message for v in after if (v.rule, v.message) not in before]
        if new:
            session.rollback()
            raise Conflict(
                f"changing {kind.what} {item_id!r} would break hard rules for people placed", new
            )
    session.commit()


def _as_request_error(
    session: Session, kind: Kind, item_id: str, issues: Sequence[Issue]
) -> Exception:
    """Issues about the item itself become body field errors (422); others a conflict."""
    ids = _collection_ids(session, kind)
    own: list[Issue] = []
    other: list[str] = []
    for issue in issues:
        loc = issue.loc
        if (
            len(loc) >= 2
            and loc[0] == kind.collection
            and isinstance(loc[1], int)
            and loc[1] < len(ids)
            and ids[loc[1]] == item_id
        ):
            own.append(Issue(("body", *loc[2:]), issue.msg))
        else:
            other.append(str(issue))
    if own and not other:
        return ProblemInvalid(own)
    reasons = other + [str(i) for i in own]
    return Conflict(f"the change to {kind.what} {item_id!r} is inconsistent", reasons)


def _collection_ids(session: Session, kind: Kind) -> list[str]:
    """Ids in the order `build_problem` lists them, so an issue's index maps back to an id."""
    row: Any = kind.row
    query = select(row.id).order_by(row.id)
    if kind is REFERRALS:
        query = query.where(ReferralRow.status == "waiting")
    return list(session.scalars(query))


def problem_ids(problem: Problem, kind: Kind) -> list[str]:
    return [item.id for item in getattr(problem, kind.collection)]


def present_residents(session: Session) -> list[ResidentRow]:
    return list(
        session.scalars(
            select(ResidentRow).where(ResidentRow.left_on.is_(None)).order_by(ResidentRow.id)
        )
    )
