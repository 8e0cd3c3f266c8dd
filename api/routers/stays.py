"""Stays after they begin: transfers to another bed-space, and placements undone within a
day (`api.services.stays`). Move-outs, with their reason and destination, are under
`/api/residents/{id}/move-out`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request

from api.deps import Coordinator, SessionDep
from api.orm import ResidentRow
from api.routers.inventory import as_of
from api.routers.people import resident_view
from api.schemas import PathId, TransferRequest, TransferView, UndoneView, UndoRequest
from api.services import audit, stays

router = APIRouter(prefix="/api", tags=["people"])

PlacementId = Annotated[int, Path(ge=1, le=2**62)]


@router.post("/residents/{resident_id}/transfer", response_model=TransferView)
def transfer_resident(
    request: Request,
    resident_id: PathId,
    body: TransferRequest,
    session: SessionDep,
    user: Coordinator,
) -> TransferView:
    """Move a resident to another bed-space (a step up or down, or onto another pathway,
    included), checked as a placement is: 409 with every rule it would break, nothing
    changed. Their support team follows where its rules allow; where not, `team_note` says
    why and who supports them now. A unit of another pathway moves them onto it."""
    moved = stays.transfer(
        session,
        user,
        as_of(request),
        resident_id,
        body.bedspace,
        body.reason,
        body.support_team,
        request.app.state.problem_cache,
    )
    row = session.get(ResidentRow, resident_id)
    assert row is not None
    return TransferView(
        **resident_view(row).model_dump(),
        pathway=moved.pathway_to,
        pathway_before=moved.pathway_from,
        team_note=moved.team_note,
    )


@router.post("/placements/{placement_id}/undo", response_model=UndoneView)
def undo_placement(
    placement_id: PlacementId, body: UndoRequest, session: SessionDep, user: Coordinator
) -> UndoneView:
    """Take back a placement made in error, within a day: the person waits again. 409 past a
    day, after a move-out or transfer, or for a transfer itself."""
    undone = stays.undo_placement(session, user, placement_id, body.reason, audit.now())
    return UndoneView.model_validate(undone)
