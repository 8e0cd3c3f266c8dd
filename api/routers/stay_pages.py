"""A person's stay on screen: where they are and since when, and the steps a coordinator
records: arrival, move-out (with why and where to), transfer to another bed-space, and
undoing a placement made in error within a day. Same services, checks and audit as the API.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, TypeVar

from fastapi import APIRouter, Form, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import Coordinator, SessionDep
from api.orm import (
    AuditEventRow,
    BedSpaceRow,
    PlacementRow,
    ReferralRow,
    ResidentRow,
    UnitRow,
)
from api.routers.inventory import as_of
from api.routers.pages import CsrfField, render, require_csrf
from api.schemas import REASON_MAX_LENGTH, PathId
from api.security import Principal
from api.services import audit, placements, stays, stays_due
from api.services.departure_reasons import (
    DESTINATION_WORDS,
    REASON_WORDS,
    DepartureReason,
    Destination,
)
from api.services.errors import Conflict, NotFound
from matcher.errors import Issue, ProblemInvalid
from matcher.limits import ID_MAX_LENGTH, ID_PATTERN, TEXT_PATTERN

router = APIRouter(include_in_schema=False)
E = TypeVar("E", bound=StrEnum)

Text = Annotated[str, Form(max_length=REASON_MAX_LENGTH, pattern=TEXT_PATTERN)]


def _stay_page(
    request: Request,
    session: Session,
    user: Principal,
    resident_id: str,
    code: int = 200,
    message: str | None = None,
    message_kind: str = "ok",
    reasons: list[str] | None = None,
) -> Response:
    resident = session.get(ResidentRow, resident_id)
    if resident is None:
        raise NotFound("resident", resident_id)
    audit.record_read(session, user, "resident", resident_id)
    history = session.scalars(
        select(PlacementRow).where(PlacementRow.referral == resident_id).order_by(PlacementRow.id)
    ).all()
    units = {u.id: u.name or u.id for u in session.scalars(select(UnitRow))}
    unit_of = {b.id: b.unit for b in session.scalars(select(BedSpaceRow))}
    occupied = {
        r.bedspace
        for r in session.scalars(select(ResidentRow).where(ResidentRow.left_on.is_(None)))
    }
    free_by_unit: dict[str, list[str]] = {}
    for bed, unit in sorted(unit_of.items(), key=lambda item: (units.get(item[1], ""), item[0])):
        if bed not in occupied:
            free_by_unit.setdefault(units.get(unit, unit), []).append(bed)
    # Only the latest placement, a first one (a transfer is moved back by a transfer), made
    # less than a day ago, of a stay still going.
    last = history[-1] if history else None
    undoable = (
        last
        if last is not None
        and last.undone_at is None
        and last.transfer_from is None
        and resident.left_on is None
        and audit.now() - last.placed_at <= stays.UNDO_WITHIN
        else None
    )
    return render(
        request,
        "stay.html",
        user,
        code=code,
        resident=resident,
        referral=session.get(ReferralRow, resident_id),
        unit_name=units.get(unit_of.get(resident.bedspace, ""), ""),
        history=history,
        unit_of_bed=lambda bed: units.get(unit_of.get(bed, ""), bed),
        free_by_unit=free_by_unit,
        undoable=undoable,
        reasons_words={r.value: w for r, w in REASON_WORDS.items()},
        destination_words={d.value: w for d, w in DESTINATION_WORDS.items()},
        today=as_of(request),
        message=message,
        message_kind=message_kind,
        reasons=reasons or [],
    )


def _date(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ProblemInvalid([Issue((field,), "give a date")]) from None


def _choice(codes: type[E], value: str, field: str, what: str) -> E:
    try:
        return codes(value)
    except ValueError:
        raise ProblemInvalid([Issue((field,), f"choose {what}")]) from None


@router.get("/arrivals-and-move-outs", response_class=HTMLResponse)
def stays_due_page(request: Request, session: SessionDep, user: Coordinator) -> Response:
    """People placed and not arrived, oldest first; residents due to leave within two
    weeks or past their date; each naming the person and linking to their stay."""
    due = stays_due.stays_due(session, as_of(request))
    audit.record_read(session, user, "resident", due.people)
    return render(
        request,
        "stays_due.html",
        user,
        due=due,
        within_days=stays_due.LEAVING_WITHIN_DAYS,
    )


@router.get("/residents/{resident_id}", response_class=HTMLResponse)
def stay_page(
    request: Request, resident_id: PathId, session: SessionDep, user: Coordinator
) -> Response:
    done = request.query_params.get("done")
    said = {
        "arrival": "Arrival recorded.",
        "move-out": "Move-out recorded.",
        "transfer": "Moved.",
    }.get(done or "")
    if done == "transfer":
        said = " ".join(["Moved.", *_what_the_move_changed(session, resident_id)])
    return _stay_page(request, session, user, resident_id, message=said)


def _what_the_move_changed(session: Session, resident_id: str) -> list[str]:
    """The latest transfer's change of pathway and of support team, as its audit event
    recorded them (`api.services.stays.transfer`), in sentences."""
    detail = session.scalar(
        select(AuditEventRow.detail)
        .where(
            AuditEventRow.action == "transfer",
            AuditEventRow.subject_type == "resident",
            AuditEventRow.subject_id == resident_id,
        )
        .order_by(AuditEventRow.id.desc())
        .limit(1)
    )
    sentences = []
    for part in (detail or "").split("; ")[1:]:
        if part.startswith("pathway "):
            before, _, after = part.removeprefix("pathway ").partition(" -> ")
            sentences.append(
                f"From the {before.replace('_', ' ')} pathway to {after.replace('_', ' ')}."
            )
        else:
            sentences.append(part[:1].upper() + part[1:])
    return sentences


def _refused(
    request: Request, session: Session, user: Principal, resident_id: str, error: Exception
) -> Response:
    session.rollback()
    reasons = getattr(error, "reasons", None) or [str(i) for i in getattr(error, "issues", [])]
    code = 422 if isinstance(error, ProblemInvalid) else 409
    said = getattr(error, "message", None) or str(error)
    return _stay_page(
        request,
        session,
        user,
        resident_id,
        code=code,
        message=f"Not recorded: {said}",
        message_kind="error",
        reasons=reasons,
    )


@router.post("/residents/{resident_id}/arrival")
def arrival_from_page(
    request: Request,
    resident_id: PathId,
    session: SessionDep,
    user: Coordinator,
    on: Annotated[str, Form(max_length=10)] = "",
    csrf_token: CsrfField = "",
) -> Response:
    require_csrf(request, csrf_token)
    cache = request.app.state.problem_cache
    try:
        day = _date(on, "on")
        placements.arrive(session, user, resident_id, day, as_of(request), cache)
    except (Conflict, ProblemInvalid) as error:
        return _refused(request, session, user, resident_id, error)
    return RedirectResponse(f"/residents/{resident_id}?done=arrival", status.HTTP_303_SEE_OTHER)


@router.post("/residents/{resident_id}/move-out")
def move_out_from_page(
    request: Request,
    resident_id: PathId,
    session: SessionDep,
    user: Coordinator,
    on: Annotated[str, Form(max_length=10)] = "",
    reason: Annotated[str, Form(max_length=32)] = "",
    destination: Annotated[str, Form(max_length=32)] = "",
    note: Text = "",
    csrf_token: CsrfField = "",
) -> Response:
    require_csrf(request, csrf_token)
    cache = request.app.state.problem_cache
    try:
        day = _date(on, "on")
        why = _choice(DepartureReason, reason, "reason", "why the stay ends")
        where = _choice(Destination, destination, "destination", "where they go")
        placements.move_out(
            session,
            user,
            as_of(request),
            resident_id,
            day,
            cache,
            reason=why,
            destination=where,
            note=note or None,
        )
    except (Conflict, ProblemInvalid) as error:
        return _refused(request, session, user, resident_id, error)
    return RedirectResponse(f"/residents/{resident_id}?done=move-out", status.HTTP_303_SEE_OTHER)


@router.post("/residents/{resident_id}/transfer")
def transfer_from_page(
    request: Request,
    resident_id: PathId,
    session: SessionDep,
    user: Coordinator,
    bedspace: Annotated[str, Form(max_length=ID_MAX_LENGTH, pattern=ID_PATTERN)] = "",
    reason: Text = "",
    csrf_token: CsrfField = "",
) -> Response:
    require_csrf(request, csrf_token)
    try:
        if not bedspace:
            raise ProblemInvalid([Issue(("bedspace",), "choose the bed-space to move to")])
        stays.transfer(
            session,
            user,
            as_of(request),
            resident_id,
            bedspace,
            reason,
            cache=request.app.state.problem_cache,
        )
    except (Conflict, ProblemInvalid, NotFound) as error:
        return _refused(request, session, user, resident_id, error)
    return RedirectResponse(f"/residents/{resident_id}?done=transfer", status.HTTP_303_SEE_OTHER)


@router.post("/placements/{placement_id}/undo")
def undo_from_page(
    request: Request,
    placement_id: int,
    session: SessionDep,
    user: Coordinator,
    reason: Text = "",
    csrf_token: CsrfField = "",
) -> Response:
    require_csrf(request, csrf_token)
    placement = session.get(PlacementRow, placement_id)
    if placement is None:
        raise NotFound("placement", str(placement_id))
    referral = placement.referral
    try:
        stays.undo_placement(session, user, placement_id, reason, audit.now())
    except (Conflict, ProblemInvalid) as error:
        return _refused(request, session, user, referral, error)
    return RedirectResponse(f"/referrals/{referral}?undone=1", status.HTTP_303_SEE_OTHER)
