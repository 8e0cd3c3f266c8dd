"""Scenarios of the portfolio: made from the live one, changed, run in the background with
progress, compared side by side and downloaded (`api.services.scenarios`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from api.deps import Commissioners, SessionDep
from api.routers.inventory import as_of
from api.schemas import ScenarioChange, ScenarioCreate, ScenarioView
from api.services import exports, scenario_report, scenarios
from api.services.scenario_report import PLOT_NAMES, SHEET_COLUMNS, ReportFormat
from capacity.report import plot_png
from matcher.errors import Issue, ProblemInvalid

router = APIRouter(prefix="/api/scenarios", tags=["scenarios"])

ScenarioId = Annotated[int, Path(ge=1, le=2**31 - 1)]
ScenarioIds = Annotated[
    list[Annotated[int, Query(ge=1, le=2**31 - 1)]],
    Query(description="the scenarios, up to four; the latest run ones when left out"),
]


@router.post("", response_model=ScenarioView, status_code=status.HTTP_201_CREATED)
def create_scenario(
    request: Request, body: ScenarioCreate, session: SessionDep, user: Commissioners
) -> ScenarioView:
    """A scenario on the live portfolio as it is now; an unsafe change is refused (422)."""
    row = scenarios.create(session, user, as_of(request), body.name, body.plan)
    return ScenarioView.model_validate(row)


@router.get("", response_model=list[ScenarioView])
def list_scenarios(session: SessionDep, user: Commissioners) -> list[ScenarioView]:
    return [ScenarioView.model_validate(r) for r in scenarios.list_scenarios(session)]


REPORT: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The report (Markdown or HTML, plots inside) or the figures (CSV, XLSX)",
        "content": {
            "text/markdown": {},
            "text/html": {},
            **{media.split(";")[0]: {} for media in exports.MEDIA_TYPES.values()},
        },
    }
}
PNG: dict[int | str, dict[str, Any]] = {
    200: {"description": "A plot", "content": {"image/png": {}}}
}


@router.get("/report", response_class=Response, responses=REPORT)
async def scenario_report_download(
    session: SessionDep,
    user: Commissioners,
    ids: ScenarioIds = [],  # noqa: B006 - FastAPI copies a query default
    format: Annotated[ReportFormat, Query(description="md, html, csv or xlsx")] = ReportFormat.md,
) -> Response:
    """Scenarios side by side: the report (Markdown or HTML, plots inside) or the figures
    (CSV or XLSX, one row per figure with its interval)."""

    def build() -> Response:
        summaries = [s for _, s in scenarios.finished(session, ids)]
        if format is ReportFormat.md:
            body = scenario_report.markdown_report(summaries).encode()
            media = "text/markdown; charset=utf-8"
        elif format is ReportFormat.html:
            body = scenario_report.html_report(summaries).encode()
            media = "text/html; charset=utf-8"
        else:
            fmt = exports.ExportFormat(format.value)
            rows = scenario_report.sheet_rows(summaries)
            body = exports.table(rows, SHEET_COLUMNS, fmt, "scenarios")
            media = exports.MEDIA_TYPES[fmt]
        name = "scenarios-" + "-".join(str(i) for i in ids) if ids else "scenarios-latest"
        disposition = f'attachment; filename="{name}.{format.value}"'
        return Response(body, media_type=media, headers={"Content-Disposition": disposition})

    return await run_in_threadpool(build)


@router.get("/plots/{plot}", response_class=Response, responses=PNG)
async def scenario_plot(
    session: SessionDep,
    user: Commissioners,
    plot: Annotated[str, Path(max_length=32)],
    ids: ScenarioIds = [],  # noqa: B006
) -> Response:
    """One plot of the scenarios' figures (PNG): `over_time`, or a figure per cohort
    (`wait_p50_days`, `wait_p90_days`, `still_waiting_share`, `never_placed_share`,
    `los_breaches`)."""
    if plot not in PLOT_NAMES:
        choices = ", ".join(PLOT_NAMES)
        raise ProblemInvalid([Issue(("path", "plot"), f"unknown plot; one of {choices}")])

    def draw() -> bytes:
        return plot_png([s for _, s in scenarios.finished(session, ids)], plot)

    return Response(await run_in_threadpool(draw), media_type="image/png")


@router.get("/{scenario_id}", response_model=ScenarioView)
def get_scenario(scenario_id: ScenarioId, session: SessionDep, user: Commissioners) -> ScenarioView:
    return ScenarioView.model_validate(scenarios.get(session, scenario_id))


@router.patch("/{scenario_id}", response_model=ScenarioView)
def change_scenario(
    scenario_id: ScenarioId, body: ScenarioChange, session: SessionDep, user: Commissioners
) -> ScenarioView:
    """Rename it, or replace its plan whole (an unsafe change is refused, 422); its figures
    are cleared when the plan changes."""
    row = scenarios.change(session, user, scenario_id, body.name, body.plan)
    return ScenarioView.model_validate(row)


@router.post("/{scenario_id}/run", response_model=ScenarioView, status_code=202)
def run_scenario(
    request: Request, scenario_id: ScenarioId, session: SessionDep, user: Commissioners
) -> ScenarioView:
    """Run it in the background and answer at once; poll `GET /api/scenarios/{id}` for its
    progress and figures."""
    state = request.app.state
    row = scenarios.start(
        session,
        state.sessionmaker,
        state.scenario_executor,
        state.settings,
        user,
        scenario_id,
        state.scenario_stopping,
    )
    return ScenarioView.model_validate(row)
