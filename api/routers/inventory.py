"""Areas, travel links, units, bed-spaces and support teams: read by every role (a refuge's
area and address only by coordinators and admins), changed by coordinators and admins."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from sqlalchemy import select

from api.deps import Coordinator, Everyone, SessionDep
from api.orm import AreaRow, LinkRow
from api.schemas import (
    BedSpacePatch,
    BedSpaceReplacement,
    PathId,
    SupportTeamPatch,
    SupportTeamReplacement,
    UnitPatch,
    UnitReplacement,
    UnitView,
)
from api.security import Principal
from api.services import inventory
from api.services.inventory import AREAS, BEDSPACES, SUPPORT_TEAMS, UNITS
from capacity.vacancies import CONFIDENTIAL_NAME
from matcher.limits import ID_MAX_LENGTH, ID_PATTERN
from matcher.model import Area, BedSpace, Link, SupportTeam, Unit

router = APIRouter(prefix="/api", tags=["inventory"])

Limit = Annotated[int, Query(ge=1, le=10_000)]
# Bounded so a huge offset is a 422, not an integer the database cannot hold.
Offset = Annotated[int, Query(ge=0, le=1_000_000_000)]


def as_of(request: Request) -> date:
    return request.app.state.settings.placement_date()


def unit_view(row: object, user: Principal) -> UnitView:
    unit = Unit.model_validate(row, from_attributes=True)
    data = unit.model_dump()
    if unit.confidential_address and not user.sees_personal_data:
        data.update(area=None, address=None, name=CONFIDENTIAL_NAME)
    return UnitView.model_validate(data)


# --- areas and links -------------------------------------------------------------------


@router.get("/areas", response_model=list[Area])
def list_areas(session: SessionDep, user: Everyone) -> list[Area]:
    return [
        Area.model_validate(r, from_attributes=True) for r in inventory.list_rows(session, AREAS)
    ]


@router.post("/areas", response_model=Area, status_code=status.HTTP_201_CREATED)
def create_area(request: Request, body: Area, session: SessionDep, user: Coordinator) -> Area:
    row = inventory.create(session, as_of(request), AREAS, body, user)
    return Area.model_validate(row, from_attributes=True)


@router.get("/links", response_model=list[Link])
def list_links(session: SessionDep, user: Everyone) -> list[Link]:
    rows = session.scalars(select(LinkRow).order_by(LinkRow.id))
    return [Link(a=r.a, b=r.b, minutes=r.minutes) for r in rows]


@router.post("/links", response_model=Link, status_code=status.HTTP_201_CREATED)
def create_link(body: Link, session: SessionDep, user: Coordinator) -> Link:
    from api.db import lock_for_write
    from api.services import audit
    from api.services.errors import NotFound

    lock_for_write(session)
    for end in (body.a, body.b):
        if session.get(AreaRow, end) is None:
            session.rollback()
            raise NotFound("area", end)
    session.add(LinkRow(a=body.a, b=body.b, minutes=body.minutes))
    audit.record(session, user, "create", "link", f"{body.a}-{body.b}", f"minutes: {body.minutes}")
    session.commit()
    return body


# --- units -----------------------------------------------------------------------------


@router.get("/units", response_model=list[UnitView])
def list_units(
    session: SessionDep, user: Everyone, limit: Limit = 1000, offset: Offset = 0
) -> list[UnitView]:
    rows = inventory.list_rows(session, UNITS, limit=limit, offset=offset)
    return [unit_view(r, user) for r in rows]


@router.get("/units/{unit_id}", response_model=UnitView)
def get_unit(unit_id: PathId, session: SessionDep, user: Everyone) -> UnitView:
    return unit_view(inventory.get_row(session, UNITS, unit_id), user)


@router.post("/units", response_model=UnitView, status_code=status.HTTP_201_CREATED)
def create_unit(request: Request, body: Unit, session: SessionDep, user: Coordinator) -> UnitView:
    return unit_view(inventory.create(session, as_of(request), UNITS, body, user), user)


@router.put("/units/{unit_id}", response_model=UnitView)
def replace_unit(
    request: Request, unit_id: PathId, body: UnitReplacement, session: SessionDep, user: Coordinator
) -> UnitView:
    """Replace the unit whole: every field must be given (PATCH changes some)."""
    row = inventory.replace(session, as_of(request), UNITS, unit_id, body, user)
    return unit_view(row, user)


@router.patch("/units/{unit_id}", response_model=UnitView)
def patch_unit(
    request: Request, unit_id: PathId, body: UnitPatch, session: SessionDep, user: Coordinator
) -> UnitView:
    """Change the fields given; every other field keeps its value."""
    given = body.model_dump(exclude_unset=True)
    return unit_view(inventory.patch(session, as_of(request), UNITS, unit_id, given, user), user)


@router.delete("/units/{unit_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_unit(
    request: Request, unit_id: PathId, session: SessionDep, user: Coordinator
) -> Response:
    inventory.delete(session, as_of(request), UNITS, unit_id, user)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- bed-spaces ------------------------------------------------------------------------


@router.get("/bedspaces", response_model=list[BedSpace])
def list_bedspaces(
    session: SessionDep,
    user: Everyone,
    unit: Annotated[str | None, Query(max_length=ID_MAX_LENGTH, pattern=ID_PATTERN)] = None,
    limit: Limit = 1000,
    offset: Offset = 0,
) -> list[BedSpace]:
    where = BEDSPACES.row.unit == unit if unit is not None else None  # type: ignore[attr-defined]
    rows = inventory.list_rows(session, BEDSPACES, limit=limit, offset=offset, where=where)
    return [BedSpace.model_validate(r, from_attributes=True) for r in rows]


@router.get("/bedspaces/{bedspace_id}", response_model=BedSpace)
def get_bedspace(bedspace_id: PathId, session: SessionDep, user: Everyone) -> BedSpace:
    row = inventory.get_row(session, BEDSPACES, bedspace_id)
    return BedSpace.model_validate(row, from_attributes=True)


@router.post("/bedspaces", response_model=BedSpace, status_code=status.HTTP_201_CREATED)
def create_bedspace(
    request: Request, body: BedSpace, session: SessionDep, user: Coordinator
) -> BedSpace:
    row = inventory.create(session, as_of(request), BEDSPACES, body, user)
    return BedSpace.model_validate(row, from_attributes=True)


@router.put("/bedspaces/{bedspace_id}", response_model=BedSpace)
def replace_bedspace(
    request: Request,
    bedspace_id: PathId,
    body: BedSpaceReplacement,
    session: SessionDep,
    user: Coordinator,
) -> BedSpace:
    """Replace the bed-space whole: every field must be given (PATCH changes some)."""
    row = inventory.replace(session, as_of(request), BEDSPACES, bedspace_id, body, user)
    return BedSpace.model_validate(row, from_attributes=True)


@router.patch("/bedspaces/{bedspace_id}", response_model=BedSpace)
def patch_bedspace(
    request: Request,
    bedspace_id: PathId,
    body: BedSpacePatch,
    session: SessionDep,
    user: Coordinator,
) -> BedSpace:
    """Change the fields given; every other field keeps its value."""
    given = body.model_dump(exclude_unset=True)
    row = inventory.patch(session, as_of(request), BEDSPACES, bedspace_id, given, user)
    return BedSpace.model_validate(row, from_attributes=True)


@router.delete("/bedspaces/{bedspace_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_bedspace(
    request: Request, bedspace_id: PathId, session: SessionDep, user: Coordinator
) -> Response:
    inventory.delete(session, as_of(request), BEDSPACES, bedspace_id, user)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- support teams ---------------------------------------------------------------------


@router.get("/support-teams", response_model=list[SupportTeam])
def list_support_teams(session: SessionDep, user: Everyone) -> list[SupportTeam]:
    rows = inventory.list_rows(session, SUPPORT_TEAMS)
    return [SupportTeam.model_validate(r, from_attributes=True) for r in rows]


@router.get("/support-teams/{team_id}", response_model=SupportTeam)
def get_support_team(team_id: PathId, session: SessionDep, user: Everyone) -> SupportTeam:
    row = inventory.get_row(session, SUPPORT_TEAMS, team_id)
    return SupportTeam.model_validate(row, from_attributes=True)


@router.post("/support-teams", response_model=SupportTeam, status_code=status.HTTP_201_CREATED)
def create_support_team(
    request: Request, body: SupportTeam, session: SessionDep, user: Coordinator
) -> SupportTeam:
    row = inventory.create(session, as_of(request), SUPPORT_TEAMS, body, user)
    return SupportTeam.model_validate(row, from_attributes=True)


@router.put("/support-teams/{team_id}", response_model=SupportTeam)
def replace_support_team(
    request: Request,
    team_id: PathId,
    body: SupportTeamReplacement,
    session: SessionDep,
    user: Coordinator,
) -> SupportTeam:
    """Replace the team whole: every field must be given (PATCH changes some)."""
    row = inventory.replace(session, as_of(request), SUPPORT_TEAMS, team_id, body, user)
    return SupportTeam.model_validate(row, from_attributes=True)


@router.patch("/support-teams/{team_id}", response_model=SupportTeam)
def patch_support_team(
    request: Request,
    team_id: PathId,
    body: SupportTeamPatch,
    session: SessionDep,
    user: Coordinator,
) -> SupportTeam:
    """Change the fields given; every other field keeps its value."""
    given = body.model_dump(exclude_unset=True)
    row = inventory.patch(session, as_of(request), SUPPORT_TEAMS, team_id, given, user)
    return SupportTeam.model_validate(row, from_attributes=True)


@router.delete("/support-teams/{team_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_support_team(
    request: Request, team_id: PathId, session: SessionDep, user: Coordinator
) -> Response:
    inventory.delete(session, as_of(request), SUPPORT_TEAMS, team_id, user)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
