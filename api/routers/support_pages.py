"""Support at home on the pages: start it from a person's ranking (the "support only"
option), end it with a date and reason, and a team's caseload (people in bed-spaces it
supports and people it supports at home). Posts go to `api.services.support_placements`."""

from __future__ import annotations

from datetime import date
from typing import Annotated, get_args

from fastapi import APIRouter, Form, Path, Request, status
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from api.deps import Coordinator, SessionDep
from api.orm import ResidentRow, SupportPlacementRow, SupportTeamRow
from api.routers.inventory import as_of
from api.routers.offer_pages import REFUSALS, _refused
from api.routers.pages import CsrfField, render, require_csrf
from api.schemas import LivesIn, PathId, SupportEndReason
from api.services import audit, support_placements
from api.services.errors import NotFound
from matcher.errors import Issue, ProblemInvalid

router = APIRouter(include_in_schema=False)

PlacementId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.post("/referrals/{referral_id}/support")
def support_from_page(
    request: Request,
    referral_id: PathId,
    session: SessionDep,
    user: Coordinator,
    support_team: Annotated[str, Form(max_length=64)] = "",
    lives_in: Annotated[LivesIn, Form()] = "own",
    csrf_token: CsrfField = "",
) -> Response:
    require_csrf(request, csrf_token)
    try:
        support_placements.start(session, user, as_of(request), referral_id, support_team, lives_in)
    except REFUSALS as error:
        return _refused(request, session, user, referral_id, "Not supported", error)
    return RedirectResponse(
        f"/referrals/{referral_id}?supported={support_team}", status.HTTP_303_SEE_OTHER
    )


@router.post("/support-placements/{placement_id}/end")
def end_support_from_page(
    request: Request,
    placement_id: PlacementId,
    session: SessionDep,
    user: Coordinator,
    ended: Annotated[str, Form(max_length=10)] = "",
    reason: Annotated[str, Form(max_length=32)] = "",
    csrf_token: CsrfField = "",
) -> Response:
    require_csrf(request, csrf_token)
    row = session.get(SupportPlacementRow, placement_id)
    if row is None:
        raise NotFound("support placement", placement_id)
    referral_id = row.referral
    try:
        why = _one_of(SupportEndReason, "reason", reason)
        try:
            on = date.fromisoformat(ended)
        except ValueError:
            raise ProblemInvalid([Issue(("form", "ended"), "must be a date")]) from None
        support_placements.end(session, user, placement_id, on, why)
    except REFUSALS as error:
        return _refused(request, session, user, referral_id, "Support not ended", error)
    return RedirectResponse(f"/referrals/{referral_id}", status.HTTP_303_SEE_OTHER)


def _one_of(allowed: object, field: str, value: str) -> str:
    choices = get_args(allowed)
    if value not in choices:
        raise ProblemInvalid([Issue(("form", field), f"must be one of {', '.join(choices)}")])
    return value


@router.get("/support-teams/{team_id}")
def team_caseload_page(
    request: Request, team_id: PathId, session: SessionDep, user: Coordinator
) -> Response:
    """A team's caseload: the people it supports in bed-spaces and at home, with its room."""
    team = session.get(SupportTeamRow, team_id)
    if team is None:
        raise NotFound("support team", team_id)
    in_beds = session.scalars(
        select(ResidentRow)
        .where(ResidentRow.support_team == team_id, ResidentRow.left_on.is_(None))
        .order_by(ResidentRow.id)
    ).all()
    at_home = support_placements.listed(session, team=team_id, open_only=True)
    audit.record_read(
        session, user, "referral", [r.id for r in in_beds] + [s.referral for s in at_home]
    )
    areas = support_placements.area_names(session)
    return render(
        request, "team.html", user, team=team, in_beds=in_beds, at_home=at_home, areas=areas
    )
