"""Referrals, residents, ranking and placements: personal data, so coordinators and admins
only, and every read is written to the audit trail before the data goes out."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Annotated, Literal
from weakref import WeakKeyDictionary

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select

from api.deps import Coordinator, SessionDep
from api.orm import OverrideRow, PlacementRow, ReferralRow, ResidentRow
from api.quick_reads import QuickReads
from api.routers.inventory import Limit, Offset, as_of
from api.schemas import (
    DateBody,
    MoveOutBody,
    OverrideView,
    PathId,
    PlacementRequest,
    PlacementResult,
    PlacementView,
    ReferralPatch,
    ReferralReplacement,
    ReferralView,
    ResidentView,
)
from api.services import audit, inventory, offers, placements, referral_search
from api.services.inventory import REFERRALS
from api.services.ranking import CONTEXT, cached_context, ensure_waiting, rank_waiting
from api.services.referral_search import ReferralQuery
from matcher.explain_referral import ExplainContext, ReferralExplanation, explain_referral
from matcher.free_dates import FreeDates
from matcher.model import Flag, Pathway, Referral
from matcher.ranking import RankResult

router = APIRouter(prefix="/api", tags=["people"])


def referral_view(row: ReferralRow) -> ReferralView:
    data = Referral.model_validate(row, from_attributes=True).model_dump()
    return ReferralView.model_validate({**data, "status": row.status})


def resident_view(row: ResidentRow) -> ResidentView:
    return ResidentView.model_validate(row, from_attributes=True)


# --- referrals -------------------------------------------------------------------------


@router.get("/referrals", response_model=list[ReferralView])
def list_referrals(
    request: Request,
    response: Response,
    session: SessionDep,
    user: Coordinator,
    status_is: Annotated[
        Literal["waiting", "offered", "placed", "withdrawn"] | None, Query(alias="status")
    ] = None,
    q: Annotated[
        str, Query(max_length=200, description="part of a name, case reference or id")
    ] = "",
    min_priority: Annotated[int, Query(ge=1, le=5)] = 1,
    flag: Flag | None = None,
    pathway: Pathway | None = None,
    waited_days: Annotated[int, Query(ge=0, le=36_500)] = 0,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[ReferralView]:
    """Find referrals by name, case reference or id, status, priority, flag, pathway and
    days waited, in id order, a page at a time (`X-Total-Count`: how many match in all)."""
    query = ReferralQuery(
        text=q.strip(),
        status=status_is,
        min_priority=min_priority,
        flag=flag,
        pathway=pathway,
        waited_days=waited_days,
        limit=limit,
        offset=offset,
        by_id=True,
    )
    found, total = referral_search.search(session, query, as_of(request))
    response.headers["X-Total-Count"] = str(total)
    views = [
        ReferralView.model_validate({**f.referral.model_dump(), "status": f.status}) for f in found
    ]
    audit.record_read(session, user, "referral", [v.id for v in views])
    return views


@router.get("/referrals/{referral_id}", response_model=ReferralView)
def get_referral(referral_id: PathId, session: SessionDep, user: Coordinator) -> ReferralView:
    view = referral_view(inventory.get_row(session, REFERRALS, referral_id))
    audit.record_read(session, user, "referral", view.id)
    return view


@router.post("/referrals", response_model=ReferralView, status_code=status.HTTP_201_CREATED)
def create_referral(
    request: Request, body: Referral, session: SessionDep, user: Coordinator
) -> ReferralView:
    """Create a referral. `risk` must be given: the service never assumes a person is low
    risk."""
    return referral_view(inventory.create(session, as_of(request), REFERRALS, body, user))


@router.put("/referrals/{referral_id}", response_model=ReferralView)
def replace_referral(
    request: Request,
    referral_id: PathId,
    body: ReferralReplacement,
    session: SessionDep,
    user: Coordinator,
) -> ReferralView:
    """Replace a waiting referral whole: every field must be given (PATCH changes some)."""
    row = inventory.replace(session, as_of(request), REFERRALS, referral_id, body, user)
    return referral_view(row)


@router.patch("/referrals/{referral_id}", response_model=ReferralView)
def patch_referral(
    request: Request,
    referral_id: PathId,
    body: ReferralPatch,
    session: SessionDep,
    user: Coordinator,
) -> ReferralView:
    """Change the fields given of a waiting referral; every other field keeps its value."""
    given = body.model_dump(exclude_unset=True)
    return referral_view(
        inventory.patch(session, as_of(request), REFERRALS, referral_id, given, user)
    )


@router.delete("/referrals/{referral_id}", status_code=status.HTTP_204_NO_CONTENT)
def withdraw_referral(
    request: Request, referral_id: PathId, session: SessionDep, user: Coordinator
) -> Response:
    inventory.delete(session, as_of(request), REFERRALS, referral_id, user)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


_placement_turns: WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = WeakKeyDictionary()


def placement_turn() -> asyncio.Lock:
    """The running event loop's queue of placements (a lock belongs to one loop)."""
    loop = asyncio.get_running_loop()
    turn = _placement_turns.get(loop)
    if turn is None:
        turn = _placement_turns[loop] = asyncio.Lock()
    return turn


# The longest summary answered on the event loop (see `rank_referral`).
ON_LOOP_MAX_TOP = 25


@router.get("/referrals/{referral_id}/rank", response_model=RankResult)
async def rank_referral(
    request: Request,
    referral_id: PathId,
    user: Coordinator,
    top: Annotated[int, Query(ge=1, le=1000)] = 10,
    detail: Annotated[
        Literal["full", "summary"],
        Query(description="summary: excluded units counted per rule instead of listed"),
    ] = "full",
    ask_again: Annotated[
        bool, Query(description="also propose the bed-spaces this person declined before")
    ] = False,
) -> Response:
    """Every safe placement for a waiting referral, best first, with reasons, cost to
    others, and every excluded unit with every reason (`detail=summary`: counted per rule).
    The bed-spaces the person declined are left out, as on their page, unless `ask_again`."""

    reads: QuickReads = request.app.state.quick_reads
    cache = request.app.state.problem_cache
    version = reads.data_version() if reads.on_loop else None  # else read in the session

    def leave_out_declined(result: RankResult, declined: frozenset[str]) -> RankResult:
        kept = offers.without_declined(result, declined)
        return kept.model_copy(update={"ranked": kept.ranked[:top]})

    def answer() -> tuple[str, list[str]]:
        # A session only on this path: the answer on the loop reads nothing.
        with request.app.state.sessionmaker() as session:
            declined: frozenset[str] = frozenset()
            if not ask_again:
                every = cache.derived(
                    session,
                    as_of(request),
                    offers.DECLINED,
                    lambda _problem: offers.declined_by_referral(session),
                    large=False,
                )
                declined = every.get(referral_id, frozenset())
            _, result = rank_waiting(
                session,
                referral_id,
                cache=cache,
                as_of=as_of(request),
                version=version,
                top=top + len(declined),
                detail=detail,
            )
            result = leave_out_declined(result, declined)
            # Serialised once by pydantic-core: on a large portfolio the full answer lists
            # every excluded unit's bed-spaces (hundreds of KB), and FastAPI's re-validation
            # and dict round trip would cost more than ranking did.
            return result.model_dump_json(), result.people_named()

    # A screen-sized answer from a context already built for this version is about a
    # millisecond of CPU and reads nothing, so it is worked out right here on the event loop:
    # sent to the thread pool it would take the same interpreter lock after a hand-over that
    # costs more than the answer (one process at 20 clients: p50 85 -> 52 ms). Anything that
    # reads the database (a context to build, a referral not waiting, declined bed-spaces
    # not yet gathered for this version) or runs long (the full answer, a long list) goes to
    # the pool.
    ready = declined_now = None
    if version is not None and detail == "summary" and top <= ON_LOOP_MAX_TOP:
        ready = cache.derived_now(version, as_of(request), CONTEXT)
        declined_now = (
            {} if ask_again else cache.derived_now(version, as_of(request), offers.DECLINED)
        )
    if ready is not None and declined_now is not None and ready.is_waiting(referral_id):
        declined = declined_now.get(referral_id, frozenset())
        _, result = rank_waiting(
            None, referral_id, context=ready, top=top + len(declined), detail=detail
        )
        result = leave_out_declined(result, declined)
        body, named = result.model_dump_json(), result.people_named()
    else:
        body, named = await run_in_threadpool(answer)
    # The wait for the audit commit is on the loop too, holding no thread, so that under
    # load one commit carries the events of many answers. Everyone the answer names was read.
    await audit.record_read_async(request.app.state.engine, user, "referral", named)
    return Response(body, media_type="application/json")


@router.get("/referrals/{referral_id}/explain", response_model=ReferralExplanation)
def explain_referral_route(
    request: Request, referral_id: PathId, session: SessionDep, user: Coordinator
) -> ReferralExplanation:
    """What stands between a waiting referral and a place: the nearest places with exactly
    the rules that block them, the earliest date a safe bed-space frees up, and who of equal
    or higher priority competes for the places they may take (see `bedmatch explain`)."""
    cache = request.app.state.problem_cache
    ranking = cached_context(session, cache, as_of(request))
    ensure_waiting(session, ranking, referral_id)
    free_dates = cache.derived(session, as_of(request), "free_dates", FreeDates.build)
    if free_dates.problem is not ranking.problem:  # the data changed between the two reads
        free_dates = FreeDates.build(ranking.problem)
    result = explain_referral(ExplainContext(ranking, free_dates), referral_id)
    # Other people's places and priorities are personal data: every one named is audited.
    audit.record_read(session, user, "referral", result.people_named())
    return result


# --- residents -------------------------------------------------------------------------


@router.get("/residents", response_model=list[ResidentView])
def list_residents(
    session: SessionDep,
    user: Coordinator,
    include_left: bool = False,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[ResidentView]:
    query = select(ResidentRow).order_by(ResidentRow.id).limit(limit).offset(offset)
    if not include_left:
        query = query.where(ResidentRow.left_on.is_(None))
    views = [resident_view(r) for r in session.scalars(query)]
    audit.record_read(session, user, "resident", [v.id for v in views])
    return views


@router.get("/residents/{resident_id}", response_model=ResidentView)
def get_resident(resident_id: PathId, session: SessionDep, user: Coordinator) -> ResidentView:
    from api.services.errors import NotFound

    row = session.get(ResidentRow, resident_id)
    if row is None:
        raise NotFound("resident", resident_id)
    audit.record_read(session, user, "resident", resident_id)
    return resident_view(row)


@router.post("/residents/{resident_id}/arrival", response_model=ResidentView)
def record_arrival(
    request: Request, resident_id: PathId, body: DateBody, session: SessionDep, user: Coordinator
) -> ResidentView:
    cache = request.app.state.problem_cache
    row = placements.arrive(session, user, resident_id, body.on, as_of(request), cache)
    return resident_view(row)


@router.post("/residents/{resident_id}/move-out", response_model=ResidentView)
def record_move_out(
    request: Request,
    resident_id: PathId,
    body: MoveOutBody,
    session: SessionDep,
    user: Coordinator,
) -> ResidentView:
    """The date the stay ends (a later date is kept as the expected leaving date), and why
    and where to, for the returns."""
    cache = request.app.state.problem_cache
    row = placements.move_out(
        session,
        user,
        as_of(request),
        resident_id,
        body.on,
        cache,
        reason=body.reason,
        destination=body.destination,
        note=body.note,
    )
    return resident_view(row)


# --- placements and overrides ----------------------------------------------------------


@router.post("/placements", response_model=PlacementResult, status_code=status.HTTP_201_CREATED)
async def create_placement(
    request: Request, body: PlacementRequest, session: SessionDep, user: Coordinator
) -> PlacementResult:
    """Place a referral. The top-ranked bed-space needs no reason; any other safe one is an
    override and needs one. 409 with every reason if a hard rule or another placement
    stands in the way; nothing is stored then."""

    def place() -> PlacementResult:
        placed = placements.place(
            session,
            user,
            as_of(request),
            body.referral,
            body.bedspace,
            body.support_team,
            body.reason,
            cache=request.app.state.problem_cache,
        )
        return PlacementResult(
            placements=[PlacementView.model_validate(p) for p in placed.placements],
            override_id=placed.override.id if placed.override else None,
        )

    # Placements go one at a time (`placements.place`); they queue here, on the event loop,
    # not in the few request threads, which stay free for everything else meanwhile.
    async with placement_turn():
        return await run_in_threadpool(place)


@router.get("/placements", response_model=list[PlacementView])
def list_placements(
    session: SessionDep, user: Coordinator, limit: Limit = 100, offset: Offset = 0
) -> list[PlacementView]:
    rows = session.scalars(
        select(PlacementRow).order_by(PlacementRow.id.desc()).limit(limit).offset(offset)
    )
    views = [PlacementView.model_validate(r) for r in rows]
    audit.record_read(session, user, "referral", [v.referral for v in views])
    return views


@router.get("/overrides", response_model=list[OverrideView])
def list_overrides(
    session: SessionDep, user: Coordinator, limit: Limit = 100, offset: Offset = 0
) -> list[OverrideView]:
    rows = session.scalars(
        select(OverrideRow).order_by(OverrideRow.id.desc()).limit(limit).offset(offset)
    )
    views = [OverrideView.model_validate(r) for r in rows]
    audit.record_read(session, user, "referral", [v.referral for v in views])
    return views


__all__ = ["router", "date"]
