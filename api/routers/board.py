"""The vacancy board, upcoming move-outs and aggregates: no personal data in any of them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from api.deps import Everyone, HousingOptions, SessionDep
from api.routers.inventory import as_of
from api.schemas import MoveOut, Stats
from api.services import board
from api.services.exports import MEDIA_TYPES, ExportFormat, filename, table
from capacity.vacancies import VacancyBoard, VacancyFilters

router = APIRouter(prefix="/api", tags=["board"])

WithinDays = Annotated[int, Query(ge=0, le=365)]
Format = Annotated[ExportFormat, Query(alias="format", description="csv or xlsx")]
SPREADSHEET: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A spreadsheet, one row per line of the on-screen answer",
        "content": {media_type.split(";")[0]: {} for media_type in MEDIA_TYPES.values()},
    }
}
VACANCY_COLUMNS = (
    "unit",
    "name",
    "area",
    "address",
    "kind",
    "gender_policy",
    "age_band",
    "under_18_approved",
    "max_risk",
    "staffing",
    "pathway",
    "confidential",
    "bedspaces",
    "free_now",
    "accessible_free_now",
    "freeing_7_days",
    "freeing_28_days",
    "freeing_within_days",
    "due_to_leave",
    "held",
    "next_free",
)
MOVE_OUT_COLUMNS = ("bedspace", "unit", "expected_leave", "due_to_leave")


def _spreadsheet(content: bytes, fmt: ExportFormat, name: str) -> Response:
    return Response(
        content,
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


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
        lambda problem: board.vacancy_board(
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


@router.get("/vacancies/export", response_class=Response, responses=SPREADSHEET)
def export_vacancies(
    request: Request,
    session: SessionDep,
    user: Everyone,
    filters: Annotated[VacancyFilters, Depends()],
    within_days: WithinDays = 28,
    fmt: Format = ExportFormat.csv,
) -> Response:
    """The vacancy board's units as a spreadsheet, with the same filters and the same
    hiding of refuges as the board shows this role."""
    problem = request.app.state.problem_cache.problem(session, as_of(request))
    shown = board.vacancy_board(
        problem, filters, within_days=within_days, show_confidential=user.sees_personal_data
    )
    rows = (unit.model_dump() for unit in shown.units)
    content = table(rows, VACANCY_COLUMNS, fmt, "Vacancies")
    return _spreadsheet(content, fmt, filename("vacancies", shown.as_of, fmt))


@router.get("/move-outs/export", response_class=Response, responses=SPREADSHEET)
def export_move_outs(
    request: Request,
    session: SessionDep,
    user: HousingOptions,
    within_days: WithinDays = 28,
    fmt: Format = ExportFormat.csv,
) -> Response:
    """Upcoming move-outs as a spreadsheet: bed-space, unit and expected date only."""
    problem = request.app.state.problem_cache.problem(session, as_of(request))
    rows = (m.model_dump() for m in board.move_outs(problem, within_days))
    content = table(rows, MOVE_OUT_COLUMNS, fmt, "Move-outs")
    return _spreadsheet(content, fmt, filename("move-outs", problem.as_of, fmt))
