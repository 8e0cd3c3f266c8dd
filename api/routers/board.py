"""The vacancy board, upcoming move-outs and aggregates: no personal data in any of them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from api.deps import Everyone, HousingOptions, SessionDep
from api.routers.inventory import as_of
from api.schemas import MoveOut, Stats
from api.services import board
from capacity.vacancies import VacancyBoard, VacancyFilters, vacancies

router = APIRouter(prefix="/api", tags=["board"])

WithinDays = Annotated[int, Query(ge=0, le=365)]


@router.get("/vacancies", response_model=VacancyBoard)
def vacancy_board(
    request: Request,
    session: SessionDep,
    user: Everyone,
    filters: Annotated[VacancyFilters, Depends()],
    within_days: WithinDays = 28,
) -> Response:
    """Bed-spaces free now and freeing soon, per unit and grouped; refuges' areas and
    addresses only for coordinators and admins."""
    show = user.sees_personal_data
    # Every officer asking with the same filters gets the same board until the data
    # changes: it is made and serialised once per data version, not once per request.
    key = ("vacancies", filters.model_dump_json(), within_days, show)
    board_json = request.app.state.problem_cache.answer(
        session,
        as_of(request),
        key,
        lambda problem: vacancies(
            problem, filters, within_days=within_days, show_confidential=show
        ).model_dump_json(),
    )
    return Response(board_json, media_type="application/json")


@router.get("/move-outs", response_model=list[MoveOut])
def upcoming_move_outs(
    request: Request, session: SessionDep, user: HousingOptions, within_days: WithinDays = 28
) -> list[MoveOut]:
    problem = request.app.state.problem_cache.problem(session, as_of(request))
    return board.move_outs(problem, within_days)


@router.get("/stats", response_model=Stats)
def aggregate_stats(request: Request, session: SessionDep, user: Everyone) -> Stats:
    problem = request.app.state.problem_cache.problem(session, as_of(request))
    return board.stats(session, problem)
