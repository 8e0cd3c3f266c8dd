"""`/api/by-name-list`: the list with its counts, and the steps a coordinator records: adding
a person, a status change by the event that caused it, contact, leaving. Coordinators and
admins see people (every read audited); commissioners see the counts only, small ones
suppressed; Housing Options sees nothing (LIFECYCLE.md, who sees what)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, status
from pydantic import BaseModel, ConfigDict, Field

from api.deps import Admin, Aggregates, Coordinator, SessionDep
from api.routers.inventory import as_of
from api.schemas import REASON_MAX_LENGTH
from api.security import Principal
from api.services import audit, by_name_list, list_view
from api.services.figures import SMALL_COUNT
from api.services.list_status import Cohort, ListEvent, ListStatus
from api.services.list_view import ListEntry, ListView
from matcher.limits import TEXT_PATTERN, Label, Name

router = APIRouter(prefix="/api", tags=["by name list"])

MemberId = Annotated[int, Path(ge=1, le=2**62)]
Note = Annotated[str, Field(max_length=REASON_MAX_LENGTH, pattern=TEXT_PATTERN)]


class ListAddition(BaseModel):
    """A person to put on the list: their case reference (across referrals) and cohort; a
    name is needed only when no referral has that case reference."""

    model_config = ConfigDict(extra="forbid")
    case_reference: Annotated[Label, Field(min_length=1)]
    cohort: Cohort
    name: Name | None = None
    note: Note = ""


class StatusChange(BaseModel):
    """The status wanted and the event that causes it."""

    model_config = ConfigDict(extra="forbid")
    status: ListStatus
    event: ListEvent
    note: Note = ""


class ContactNote(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: Note = ""


class Leaving(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Annotated[Note, Field(min_length=1)]


class InactiveDays(BaseModel):
    model_config = ConfigDict(extra="forbid")
    days: Annotated[int, Field(ge=1, le=by_name_list.INACTIVE_DAYS_MAX)]


def entry_json(entry: ListEntry) -> dict[str, Any]:
    options = entry.options
    return {
        "id": entry.id,
        "case_reference": entry.case_reference,
        "name": entry.name,
        "cohort": entry.cohort,
        "status": entry.status,
        "joined_on": entry.joined_on.isoformat(),
        "days_since_contact": entry.days_since_contact,
        "place": entry.place,
        "resident": entry.resident,
        "support_team": entry.support_team,
        "referral": entry.referral,
        "safe_bedspaces": None if options is None else options.bedspaces,
        "safe_support_teams": None if options is None else options.support_teams,
        "no_safe_option": entry.no_safe_option,
        "blocking_families": []
        if options is None
        else [{"family": f.number, "name": f.words, "units": f.units} for f in options.blocking],
    }


def counts_json(view: ListView, sees_people: bool) -> dict[str, Any]:
    counts = view.counts

    def figure(n: int) -> dict[str, Any]:
        if not sees_people and 0 < n < SMALL_COUNT:
            return {"count": f"fewer than {SMALL_COUNT}", "share": None}
        return {"count": n, "share": round(counts.share(n), 3)}

    return {
        "total": counts.total,
        "cohorts": [{"cohort": c, **figure(n)} for c, n in counts.by_cohort.items()],
        "statuses": [{"status": s, **figure(n)} for s, n in counts.by_status.items()],
    }


def read_list(
    request: Request,
    session: Any,
    user: Principal,
    cohort: Cohort | None,
    list_status: ListStatus | None,
) -> ListView:
    """The list now, after marking quiet people inactive; people's reads audited."""
    today = as_of(request)
    by_name_list.mark_quiet_inactive(session, today)
    problem = request.app.state.problem_cache.problem(session, today)
    view = list_view.list_view(session, problem, today, cohort, list_status)
    session.rollback()
    if user.sees_personal_data:
        audit.record_read(session, user, "list_member", [str(e.id) for e in view.entries])
    return view


@router.get("/by-name-list")
def get_list(
    request: Request,
    session: SessionDep,
    user: Aggregates,
    cohort: Cohort | None = None,
    status: ListStatus | None = None,
) -> dict[str, Any]:
    """The By Name List: counts per cohort and status (each with its share), and for
    coordinators and admins each person with where they are, their support team, days since
    last contact, and `no_safe_option` with the rule families that block them."""
    view = read_list(request, session, user, cohort, status)
    answer: dict[str, Any] = {
        "as_of": view.as_of.isoformat(),
        "inactive_days": view.inactive_days,
        "counts": counts_json(view, user.sees_personal_data),
    }
    if user.sees_personal_data:
        answer["no_safe_option"] = view.no_safe_option
        answer["people"] = [entry_json(e) for e in view.entries]
    return answer


@router.post("/by-name-list", status_code=status.HTTP_201_CREATED)
def add_to_list(
    request: Request, body: ListAddition, session: SessionDep, user: Coordinator
) -> dict[str, Any]:
    """Put a person on the list (409 if they are on it already)."""
    row = by_name_list.add(
        session, user, as_of(request), body.case_reference, body.cohort, body.name, body.note
    )
    return {"id": row.id, "case_reference": row.case_reference, "status": row.status}


@router.get("/by-name-list/{member_id}")
def get_entry(member_id: MemberId, session: SessionDep, user: Coordinator) -> dict[str, Any]:
    """One person's listing and its whole history, oldest first."""
    row = by_name_list.member(session, member_id)
    steps = by_name_list.history(session, member_id)
    answer = {
        "id": row.id,
        "case_reference": row.case_reference,
        "name": row.name,
        "cohort": row.cohort,
        "status": row.status,
        "joined_on": row.joined_on.isoformat(),
        "last_contact_on": row.last_contact_on.isoformat(),
        "left_on": row.left_on.isoformat() if row.left_on else None,
        "left_reason": row.left_reason,
        "history": [
            {
                "event": h.event,
                "from_status": h.from_status,
                "to_status": h.to_status,
                "on": h.on.isoformat(),
                "at": h.at.isoformat(),
                "by": h.by,
                "note": h.note,
            }
            for h in steps
        ],
    }
    session.rollback()
    audit.record_read(session, user, "list_member", str(member_id))
    return answer


@router.post("/by-name-list/{member_id}/status")
def change_status(
    request: Request,
    member_id: MemberId,
    body: StatusChange,
    session: SessionDep,
    user: Coordinator,
) -> dict[str, Any]:
    """Move a person to a status by the event that caused it: 409 naming why when that
    event does not lead there or has not happened."""
    row = by_name_list.change_status(
        session, user, as_of(request), member_id, body.status, body.event, body.note
    )
    return {"id": row.id, "status": row.status}


@router.post("/by-name-list/{member_id}/contact")
def record_contact(
    request: Request,
    member_id: MemberId,
    body: ContactNote,
    session: SessionDep,
    user: Coordinator,
) -> dict[str, Any]:
    """Contact with the person today: an inactive person is active again."""
    row = by_name_list.record_contact(session, user, as_of(request), member_id, body.note)
    return {"id": row.id, "status": row.status, "last_contact_on": row.last_contact_on.isoformat()}


@router.post("/by-name-list/{member_id}/leave")
def leave_list(
    request: Request,
    member_id: MemberId,
    body: Leaving,
    session: SessionDep,
    user: Coordinator,
) -> dict[str, Any]:
    """Take a person off the list, with why."""
    row = by_name_list.leave(session, user, as_of(request), member_id, body.reason)
    left = row.left_on.isoformat() if row.left_on else None
    return {"id": row.id, "left_on": left}


@router.get("/settings/list-inactive-days", response_model=InactiveDays)
def get_inactive_days(session: SessionDep, user: Admin) -> InactiveDays:
    """Days without contact after which a person on the list is inactive."""
    return InactiveDays(days=by_name_list.inactive_days(session))


@router.put("/settings/list-inactive-days", response_model=InactiveDays)
def put_inactive_days(body: InactiveDays, session: SessionDep, user: Admin) -> InactiveDays:
    by_name_list.set_inactive_days(session, user, body.days)
    return InactiveDays(days=body.days)
