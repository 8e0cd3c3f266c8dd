"""The By Name List on screen: counts per cohort and status, the people (coordinators and
admins), each flagged where no bed-space anywhere is safe for them, with filters; and the
steps a coordinator records there: adding a person, contact, leaving. Same services, checks
and audit as `/api/by-name-list`."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, TypeVar

from fastapi import APIRouter, Form, Path, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from api.deps import Admin, Aggregates, Coordinator, SessionDep
from api.routers.by_name_list import read_list
from api.routers.inventory import as_of
from api.routers.pages import CsrfField, render, require_csrf
from api.schemas import REASON_MAX_LENGTH
from api.security import Principal
from api.services import by_name_list
from api.services.errors import Conflict, NotFound
from api.services.figures import SMALL_COUNT
from api.services.list_status import COHORT_WORDS, STATUS_WORDS, Cohort, ListStatus
from api.services.no_safe_option import PANEL
from matcher.errors import Issue, ProblemInvalid
from matcher.limits import LABEL_MAX_LENGTH, NAME_MAX_LENGTH, TEXT_PATTERN

router = APIRouter(include_in_schema=False)
E = TypeVar("E", bound=StrEnum)

MemberId = Annotated[int, Path(ge=1, le=2**62)]
Text = Annotated[str, Form(max_length=REASON_MAX_LENGTH, pattern=TEXT_PATTERN)]

SAID = {
    "added": "Added to the list.",
    "contact": "Contact recorded.",
    "left": "Taken off the list.",
}


def _choice(codes: type[E], value: str, field: str) -> E | None:
    if not value:
        return None
    try:
        return codes(value)
    except ValueError:
        known = ", ".join(c.value for c in codes)
        raise ProblemInvalid(
            [Issue((field,), f"unknown {field} {value!r}: one of {known}")]
        ) from None


def _page(
    request: Request,
    session: Session,
    user: Principal,
    cohort: str = "",
    list_status: str = "",
    code: int = 200,
    message: str | None = None,
    message_kind: str = "ok",
    reasons: list[str] | None = None,
) -> Response:
    chosen_cohort = _choice(Cohort, cohort, "cohort")
    chosen_status = _choice(ListStatus, list_status, "status")
    view = read_list(request, session, user, chosen_cohort, chosen_status)
    sees_people = user.sees_personal_data

    def shown(n: int) -> str:
        return str(n) if sees_people or n == 0 or n >= SMALL_COUNT else f"fewer than {SMALL_COUNT}"

    def share(n: int) -> str:
        if not sees_people and 0 < n < SMALL_COUNT:
            return ""
        return f"{100 * view.counts.share(n):.0f}%"

    return render(
        request,
        "by_name_list.html",
        user,
        code=code,
        view=view,
        sees_people=sees_people,
        shown=shown,
        share=share,
        cohort_words={c.value: w for c, w in COHORT_WORDS.items()},
        status_words={s.value: w for s, w in STATUS_WORDS.items()},
        cohort=chosen_cohort.value if chosen_cohort else "",
        list_status=chosen_status.value if chosen_status else "",
        panel=PANEL,
        message=message,
        message_kind=message_kind,
        reasons=reasons or [],
    )


@router.get("/by-name-list", response_class=HTMLResponse)
def list_page(
    request: Request,
    session: SessionDep,
    user: Aggregates,
    cohort: Annotated[str, Query(max_length=32)] = "",
    status_is: Annotated[str, Query(max_length=32, alias="status")] = "",
    done: Annotated[str, Query(max_length=16)] = "",
) -> Response:
    """The list, filtered by cohort and status when given (422 naming an unknown one)."""
    said = SAID.get(done)
    try:
        return _page(request, session, user, cohort, status_is, message=said)
    except ProblemInvalid as error:
        session.rollback()
        return _page(
            request,
            session,
            user,
            code=422,
            message=f"Not shown: {error.issues[0].msg}",
            message_kind="error",
        )


def _refused(request: Request, session: Session, user: Principal, error: Exception) -> Response:
    session.rollback()
    reasons = getattr(error, "reasons", None) or [str(i) for i in getattr(error, "issues", [])]
    code = 422 if isinstance(error, ProblemInvalid) else 404 if isinstance(error, NotFound) else 409
    said = getattr(error, "message", None) or str(error)
    return _page(
        request,
        session,
        user,
        code=code,
        message=f"Not recorded: {said}",
        message_kind="error",
        reasons=reasons,
    )


def _done(what: str) -> Response:
    return RedirectResponse(f"/by-name-list?done={what}", status.HTTP_303_SEE_OTHER)


@router.post("/by-name-list")
def add_from_page(
    request: Request,
    session: SessionDep,
    user: Coordinator,
    case_reference: Annotated[str, Form(max_length=LABEL_MAX_LENGTH)] = "",
    cohort: Annotated[str, Form(max_length=32)] = "",
    name: Annotated[str, Form(max_length=NAME_MAX_LENGTH)] = "",
    csrf_token: CsrfField = "",
) -> Response:
    require_csrf(request, csrf_token)
    try:
        if not case_reference.strip():
            raise ProblemInvalid([Issue(("case_reference",), "give the person's case reference")])
        chosen = _choice(Cohort, cohort, "cohort")
        if chosen is None:
            raise ProblemInvalid([Issue(("cohort",), "choose a cohort")])
        by_name_list.add(
            session, user, as_of(request), case_reference, chosen, name.strip() or None
        )
    except (Conflict, ProblemInvalid) as error:
        return _refused(request, session, user, error)
    return _done("added")


@router.post("/by-name-list/{member_id}/contact")
def contact_from_page(
    request: Request,
    member_id: MemberId,
    session: SessionDep,
    user: Coordinator,
    note: Text = "",
    csrf_token: CsrfField = "",
) -> Response:
    require_csrf(request, csrf_token)
    try:
        by_name_list.record_contact(session, user, as_of(request), member_id, note)
    except (Conflict, ProblemInvalid, NotFound) as error:
        return _refused(request, session, user, error)
    return _done("contact")


@router.post("/by-name-list/{member_id}/leave")
def leave_from_page(
    request: Request,
    member_id: MemberId,
    session: SessionDep,
    user: Coordinator,
    reason: Text = "",
    csrf_token: CsrfField = "",
) -> Response:
    require_csrf(request, csrf_token)
    try:
        by_name_list.leave(session, user, as_of(request), member_id, reason)
    except (Conflict, ProblemInvalid, NotFound) as error:
        return _refused(request, session, user, error)
    return _done("left")


@router.post("/admin/settings/list-inactive-days")
def set_inactive_days_from_page(
    request: Request,
    session: SessionDep,
    user: Admin,
    days: Annotated[
        int, Form(ge=1, le=by_name_list.INACTIVE_DAYS_MAX)
    ] = by_name_list.DEFAULT_INACTIVE_DAYS,
    csrf_token: CsrfField = "",
) -> Response:
    require_csrf(request, csrf_token)
    by_name_list.set_inactive_days(session, user, days)
    return RedirectResponse("/admin/settings?changed=1", status.HTTP_303_SEE_OTHER)
