"""The offer steps on a person's page: offer a bed-space, then accept (with the arrival
date), decline (with a reason code) or withdraw it. Each form is reached through a
confirmation on the page, and posts to the same services as `/api/offers`."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Form, Request, status
from fastapi.responses import RedirectResponse, Response

from api.deps import Admin, Coordinator, SessionDep
from api.orm import OfferRow
from api.routers.inventory import as_of
from api.routers.pages import CsrfField, _referral_page, require_csrf
from api.schemas import REASON_MAX_LENGTH, PathId
from api.services import audit, offers
from api.services.errors import Conflict, NotFound
from matcher.errors import PlacementRefused, ProblemInvalid
from matcher.limits import ID_MAX_LENGTH, ID_PATTERN, TEXT_PATTERN

router = APIRouter(include_in_schema=False)

Reason = Annotated[str, Form(max_length=REASON_MAX_LENGTH, pattern=TEXT_PATTERN)]
REFUSALS = (Conflict, PlacementRefused, ProblemInvalid)


def _refused(
    request: Request,
    session: SessionDep,
    user: Coordinator,
    referral_id: str,
    what: str,
    error: Exception,
) -> Response:
    reasons = getattr(error, "reasons", None) or [i.msg for i in getattr(error, "issues", [])]
    return _referral_page(
        request,
        session,
        user,
        referral_id,
        code=422 if isinstance(error, ProblemInvalid) else 409,
        message=f"{what}: {getattr(error, 'message', None) or error}",
        message_kind="error",
        reasons=reasons,
    )


@router.post("/referrals/{referral_id}/offer")
def offer_from_page(
    request: Request,
    referral_id: PathId,
    session: SessionDep,
    user: Coordinator,
    bedspace: Annotated[str, Form(max_length=ID_MAX_LENGTH, pattern=ID_PATTERN)] = "",
    reason: Reason = "",
    ask_again: Annotated[str, Form(max_length=8)] = "",
    csrf_token: CsrfField = "",
) -> Response:
    require_csrf(request, csrf_token)
    try:
        offers.make_offer(
            session,
            user,
            as_of(request),
            referral_id,
            bedspace,
            now=audit.now(),
            reason=reason or None,
            ask_again=ask_again == "on",
            cache=request.app.state.problem_cache,
        )
    except REFUSALS as error:
        return _refused(request, session, user, referral_id, "Not offered", error)
    return RedirectResponse(
        f"/referrals/{referral_id}?offered={bedspace}", status.HTTP_303_SEE_OTHER
    )


def _offer(session: SessionDep, offer_id: int) -> OfferRow:
    row = session.get(OfferRow, offer_id) if 1 <= offer_id <= 2**31 - 1 else None
    if row is None:
        raise NotFound("offer", offer_id)
    return row


@router.post("/offers/{offer_id}/accept")
def accept_from_page(
    request: Request,
    offer_id: int,
    session: SessionDep,
    user: Coordinator,
    arrival_on: Annotated[date | None, Form()] = None,
    csrf_token: CsrfField = "",
) -> Response:
    require_csrf(request, csrf_token)
    referral_id = _offer(session, offer_id).referral
    try:
        if arrival_on is None:
            raise ProblemInvalid([])  # a date is needed: said on the page
        offers.accept(
            session,
            user,
            as_of(request),
            offer_id,
            arrival_on,
            now=audit.now(),
            cache=request.app.state.problem_cache,
        )
    except REFUSALS as error:
        if isinstance(error, ProblemInvalid) and not error.issues:
            return _referral_page(
                request, session, user, referral_id, code=422,
                message="Not accepted: give the arrival date", message_kind="error",
            )  # fmt: skip
        return _refused(request, session, user, referral_id, "Not accepted", error)
    return RedirectResponse(f"/referrals/{referral_id}?accepted=1", status.HTTP_303_SEE_OTHER)


@router.post("/offers/{offer_id}/decline")
def decline_from_page(
    request: Request,
    offer_id: int,
    session: SessionDep,
    user: Coordinator,
    reason_code: Annotated[str, Form(max_length=32)] = "",
    text: Reason = "",
    csrf_token: CsrfField = "",
) -> Response:
    require_csrf(request, csrf_token)
    referral_id = _offer(session, offer_id).referral
    try:
        if reason_code not in offers.DeclineReason.__members__:
            raise ProblemInvalid([])
        offers.decline(
            session,
            user,
            as_of(request),
            offer_id,
            offers.DeclineReason(reason_code),
            text or None,
            now=audit.now(),
            cache=request.app.state.problem_cache,
        )
    except REFUSALS as error:
        if isinstance(error, ProblemInvalid) and not error.issues:
            return _referral_page(
                request, session, user, referral_id, code=422,
                message="Not declined: choose the reason", message_kind="error",
            )  # fmt: skip
        return _refused(request, session, user, referral_id, "Not declined", error)
    return RedirectResponse(f"/referrals/{referral_id}?declined=1", status.HTTP_303_SEE_OTHER)


@router.post("/offers/{offer_id}/withdraw")
def withdraw_from_page(
    request: Request,
    offer_id: int,
    session: SessionDep,
    user: Coordinator,
    reason: Reason = "",
    csrf_token: CsrfField = "",
) -> Response:
    require_csrf(request, csrf_token)
    referral_id = _offer(session, offer_id).referral
    try:
        offers.withdraw(
            session,
            user,
            as_of(request),
            offer_id,
            reason,
            now=audit.now(),
            cache=request.app.state.problem_cache,
        )
    except REFUSALS as error:
        return _refused(request, session, user, referral_id, "Not withdrawn", error)
    return RedirectResponse(f"/referrals/{referral_id}?withdrawn=1", status.HTTP_303_SEE_OTHER)


@router.post("/admin/settings/offer-days")
def set_offer_days_from_page(
    request: Request,
    session: SessionDep,
    user: Admin,
    days: Annotated[int, Form(ge=1, le=offers.OFFER_DAYS_MAX)] = offers.DEFAULT_OFFER_DAYS,
    csrf_token: CsrfField = "",
) -> Response:
    require_csrf(request, csrf_token)
    offers.set_offer_days(session, user, days)
    return RedirectResponse("/admin/settings?changed=1", status.HTTP_303_SEE_OTHER)
