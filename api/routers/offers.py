"""Offers under /api/offers: make one (holding a bed-space), accept it with an arrival date,
decline it with a reason code, withdraw it; list them by person or bed-space. Personal data:
coordinators and admins only, every read audited. The days an offer holds its bed-space are
an admin setting."""

from __future__ import annotations

from fastapi import APIRouter, Request, status

from api.deps import Admin, Coordinator, SessionDep
from api.routers.inventory import Limit, Offset, as_of
from api.schemas import (
    AcceptOffer,
    DeclineOffer,
    OfferDays,
    OfferRequest,
    OfferView,
    PlacementView,
    WithdrawOffer,
)
from api.services import audit, offers
from api.services.errors import NotFound
from api.services.offers import OfferState
from matcher.limits import Id

router = APIRouter(prefix="/api", tags=["offers"])


@router.post("/offers", response_model=OfferView, status_code=status.HTTP_201_CREATED)
def create_offer(
    request: Request, body: OfferRequest, session: SessionDep, user: Coordinator
) -> OfferView:
    """Offer a bed-space to a waiting person, holding it until they answer or the offer
    expires. The top-ranked bed-space needs no reason; any other safe one needs one. 409,
    naming the rule or the holder's step, for an excluded or held bed-space, a person not
    waiting, or a bed-space they declined (unless `ask_again`); nothing is stored then."""
    row = offers.make_offer(
        session,
        user,
        as_of(request),
        body.referral,
        body.bedspace,
        now=audit.now(),
        support_team=body.support_team,
        reason=body.reason,
        ask_again=body.ask_again,
        cache=request.app.state.problem_cache,
    )
    return OfferView.model_validate(row)


@router.get("/offers", response_model=list[OfferView])
def list_offers(
    request: Request,
    session: SessionDep,
    user: Coordinator,
    referral: Id | None = None,
    bedspace: Id | None = None,
    state: OfferState | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[OfferView]:
    """Offers, newest first: of one person (`referral`), one bed-space (`bedspace`), or all;
    offers past their time are closed as expired first."""
    offers.expire_due(session, audit.now(), as_of(request), request.app.state.problem_cache)
    rows = offers.list_offers(session, referral, bedspace, state, limit, offset)
    views = [OfferView.model_validate(r) for r in rows]
    audit.record_read(session, user, "referral", sorted({v.referral for v in views}))
    return views


@router.get("/offers/{offer_id}", response_model=OfferView)
def get_offer(offer_id: int, session: SessionDep, user: Coordinator) -> OfferView:
    row = session.get(offers.OfferRow, _known(offer_id))
    if row is None:
        raise NotFound("offer", offer_id)
    audit.record_read(session, user, "referral", row.referral)
    return OfferView.model_validate(row)


@router.post("/offers/{offer_id}/accept", response_model=PlacementView)
def accept_offer(
    request: Request, offer_id: int, body: AcceptOffer, session: SessionDep, user: Coordinator
) -> PlacementView:
    """The person accepts and arrives on `arrival_on`: the stay begins. Hard rules are
    checked again on the data as it is now; 409 if the offer is not open or has expired."""
    placement = offers.accept(
        session,
        user,
        as_of(request),
        _known(offer_id),
        body.arrival_on,
        now=audit.now(),
        cache=request.app.state.problem_cache,
    )
    return PlacementView.model_validate(placement)


@router.post("/offers/{offer_id}/decline", response_model=OfferView)
def decline_offer(
    request: Request, offer_id: int, body: DeclineOffer, session: SessionDep, user: Coordinator
) -> OfferView:
    """The offer is declined with a reason code (`other` needs `text`): the person waits
    again, and is not offered this bed-space again unless the coordinator asks."""
    row = offers.decline(
        session,
        user,
        as_of(request),
        _known(offer_id),
        body.reason_code,
        body.text,
        now=audit.now(),
        cache=request.app.state.problem_cache,
    )
    return OfferView.model_validate(row)


@router.post("/offers/{offer_id}/withdraw", response_model=OfferView)
def withdraw_offer(
    request: Request, offer_id: int, body: WithdrawOffer, session: SessionDep, user: Coordinator
) -> OfferView:
    """The coordinator withdraws the offer, saying why: the person waits again."""
    row = offers.withdraw(
        session,
        user,
        as_of(request),
        _known(offer_id),
        body.reason,
        now=audit.now(),
        cache=request.app.state.problem_cache,
    )
    return OfferView.model_validate(row)


def _known(offer_id: int) -> int:
    if not 1 <= offer_id <= 2**31 - 1:
        raise NotFound("offer", offer_id)
    return offer_id


@router.get("/settings/offer-days", response_model=OfferDays)
def get_offer_days(session: SessionDep, user: Admin) -> OfferDays:
    """How many days an offer holds its bed-space before it expires."""
    return OfferDays(days=offers.offer_days(session))


@router.put("/settings/offer-days", response_model=OfferDays)
def put_offer_days(body: OfferDays, session: SessionDep, user: Admin) -> OfferDays:
    """Change how many days new offers hold their bed-space (audited old -> new)."""
    offers.set_offer_days(session, user, body.days)
    return OfferDays(days=body.days)
