"""Batch allocation runs: start one, watch its progress, accept its proposals."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, status

from api.deps import Coordinator, SessionDep
from api.routers.inventory import as_of
from api.schemas import (
    AcceptRequest,
    AcceptResult,
    FloorRunRequest,
    RunDetail,
    RunRequest,
    RunResultView,
    RunView,
)
from api.services import audit, runs

router = APIRouter(prefix="/api/runs", tags=["runs"])

# Run ids are database integers: anything outside them is a 422, not an overflow.
RunId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.post("", response_model=RunView, status_code=status.HTTP_202_ACCEPTED)
def start_run(
    request: Request, body: RunRequest, session: SessionDep, user: Coordinator
) -> RunView:
    """Solve every waiting referral in the background; poll `GET /api/runs/{id}`."""
    state = request.app.state
    run = runs.start(
        session,
        state.sessionmaker,
        state.executor,
        user,
        as_of(request),
        body.backend,
        body.time_limit_s,
    )
    return RunView.model_validate(run)


@router.post("/{run_id}/floor", response_model=RunView, status_code=status.HTTP_202_ACCEPTED)
def start_floor_run(
    request: Request, run_id: RunId, body: FloorRunRequest, session: SessionDep, user: Coordinator
) -> RunView:
    """Re-solve this run with a cohort floor: a new run (poll it like any) whose proposals
    meet the floor, with the same data solved without it, so `price` shows what the floor
    costs in placements per band and points of fit. A floor no allocation can meet is
    reported with the best the cohort can have, not refused."""
    state = request.app.state
    run = runs.start_floor(
        session,
        state.sessionmaker,
        state.executor,
        user,
        as_of(request),
        run_id,
        body.floor(),
        body.time_limit_s,
    )
    return RunView.model_validate(run)


@router.get("", response_model=list[RunView])
def list_runs(session: SessionDep, user: Coordinator) -> list[RunView]:
    return [RunView.model_validate(r) for r in runs.list_runs(session)]


@router.get("/{run_id}", response_model=RunDetail)
def get_run(run_id: RunId, session: SessionDep, user: Coordinator) -> RunDetail:
    run = runs.get(session, run_id)
    rows = runs.results(session, run_id)
    results = [RunResultView.model_validate(r) for r in rows]
    equity = runs.run_equity(session, run, rows) if rows else []
    if results:
        audit.record_read(session, user, "referral", [r.referral for r in results])
    return RunDetail.model_validate(
        {
            **RunView.model_validate(run).model_dump(),
            "results": results,
            "equity": equity,
            "price": run.price,
        }
    )


@router.post("/{run_id}/accept", response_model=AcceptResult)
def accept_run(
    request: Request, run_id: RunId, body: AcceptRequest, session: SessionDep, user: Coordinator
) -> AcceptResult:
    """Offer the chosen proposals (all when `referrals` is omitted) in one transaction: all
    of them or, with 409 and every reason, none. A run proposes; accepting it offers, and
    each person then accepts or declines their offer (`/api/offers`)."""
    accepted = runs.accept(session, user, as_of(request), run_id, body.referrals)
    return AcceptResult(accepted=accepted)
