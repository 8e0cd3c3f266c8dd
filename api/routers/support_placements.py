"""Support placements: a team alone for a person at home (`api.services.support_placements`).
Personal data, so coordinators and admins only, as for placements in bed-spaces."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, status

from api.deps import Coordinator, SessionDep
from api.routers.inventory import as_of
from api.schemas import (
    PathId,
    SupportEndBody,
    SupportPlacementRequest,
    SupportPlacementView,
)
from api.services import audit, support_placements

router = APIRouter(prefix="/api", tags=["people"])

PlacementId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("/support-placements", response_model=list[SupportPlacementView])
def list_support_placements(
    session: SessionDep,
    user: Coordinator,
    referral: Annotated[PathId | None, Query()] = None,
    support_team: Annotated[PathId | None, Query()] = None,
    open_only: Annotated[bool, Query(alias="open")] = False,
) -> list[SupportPlacementView]:
    rows = support_placements.listed(session, referral, support_team, open_only)
    views = [SupportPlacementView.model_validate(r) for r in rows]
    audit.record_read(session, user, "referral", [v.referral for v in views])
    return views


@router.post(
    "/support-placements",
    response_model=SupportPlacementView,
    status_code=status.HTTP_201_CREATED,
)
def create_support_placement(
    request: Request, body: SupportPlacementRequest, session: SessionDep, user: Coordinator
) -> SupportPlacementView:
    """Give a waiting referral a support team alone, where they live. 409 with every reason
    if a team rule stands in the way (area, Housing First, female worker, caseload, hours at
    home); 422 naming the field for an unknown team; nothing is stored then."""
    row = support_placements.start(
        session, user, as_of(request), body.referral, body.support_team, body.lives_in
    )
    return SupportPlacementView.model_validate(row)


@router.post("/support-placements/{placement_id}/end", response_model=SupportPlacementView)
def end_support_placement(
    placement_id: PlacementId, body: SupportEndBody, session: SessionDep, user: Coordinator
) -> SupportPlacementView:
    """End a support placement on a date, with the reason; the team's caseload frees."""
    row = support_placements.end(session, user, placement_id, body.ended, body.reason)
    return SupportPlacementView.model_validate(row)
