"""The commissioner's pages: the home page with the portfolio's headline figures, and the
scenarios (make one from the live portfolio, change it, run it with progress, read its
figures per cohort with plots, compare up to four, download the report). Same services,
role checks and audit as `/api/scenarios`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from api.deps import Commissioners, SessionDep
from api.routers.inventory import as_of
from api.routers.pages import render, require_csrf
from api.routers.scenarios import ScenarioId
from api.security import Principal
from api.services import commissioner_home, scenario_form, scenarios
from api.services.errors import Conflict, NotFound
from api.services.scenario_plan import LivePortfolio, ScenarioPlan, apply_plan, describe
from api.services.scenario_report import PLOT_NAMES, PLOT_TITLES
from capacity.quotas import WomenOnlyShare, women_only_share
from capacity.report import COHORT_COLUMNS, cohort_rows, portfolio_rows
from matcher.errors import ProblemInvalid

router = APIRouter(include_in_schema=False)


@router.get("/home/portfolio.png")
def portfolio_plot(request: Request, session: SessionDep, user: Commissioners) -> Response:
    """The women-safe shares against their target and the occupancy, drawn once per data
    version."""
    cache = request.app.state.problem_cache
    png = cache.answer(session, as_of(request), "portfolio.png", commissioner_home.headline_plot)
    return Response(png, media_type="image/png")


@router.get("/scenarios", response_class=HTMLResponse)
def scenarios_page(request: Request, session: SessionDep, user: Commissioners) -> Response:
    return _list_page(request, session, user)


def _list_page(
    request: Request, session: Session, user: Principal, code: int = 200, **context: Any
) -> Response:
    rows = scenarios.list_scenarios(session)
    return render(
        request,
        "scenarios.html",
        user,
        code=code,
        scenarios=rows,
        headline={r.id: commissioner_home.headline(r) for r in rows},
        **context,
    )


@router.post("/scenarios")
async def create_scenario_from_page(
    request: Request, session: SessionDep, user: Commissioners
) -> Response:
    form = await request.form()
    require_csrf(request, _text(form.get("csrf_token")))
    name = _text(form.get("name")) or ""

    def create() -> Response:
        try:
            row = scenarios.create(session, user, as_of(request), name)
        except ProblemInvalid as error:
            session.rollback()
            return _list_page(
                request,
                session,
                user,
                code=422,
                message="Not made: " + "; ".join(i.msg for i in error.issues),
                message_kind="error",
            )
        return RedirectResponse(f"/scenarios/{row.id}", status.HTTP_303_SEE_OTHER)

    return await run_in_threadpool(create)


@router.get("/scenarios/compare", response_class=HTMLResponse)
def compare_page(
    request: Request,
    session: SessionDep,
    user: Commissioners,
    ids: Annotated[list[Annotated[int, Query(ge=1, le=2**31 - 1)]], Query()] = [],  # noqa: B006
) -> Response:
    """Up to four scenarios side by side: headline and per-cohort tables, and every plot."""
    try:
        found = scenarios.finished(session, ids)
    except (ProblemInvalid, Conflict, NotFound) as error:
        return _list_page(
            request,
            session,
            user,
            code=_code(error),
            message=f"Cannot compare: {_said(error)}",
            message_kind="error",
        )
    summaries = [s for _, s in found]
    query = "&".join(f"ids={row.id}" for row, _ in found)
    return render(
        request,
        "scenarios_compare.html",
        user,
        rows=[row for row, _ in found],
        portfolio=portfolio_rows(summaries),
        cohorts=cohort_rows(summaries),
        cohort_columns=COHORT_COLUMNS,
        plots=[(name, PLOT_TITLES[name]) for name in PLOT_NAMES],
        query=query,
    )


def _scenario_page(
    request: Request,
    session: Session,
    user: Principal,
    scenario_id: int,
    code: int = 200,
    **context: Any,
) -> Response:
    row = scenarios.get(session, scenario_id)
    summary = scenarios.summary_of(row)
    live = scenarios.live_of(row)
    plan = scenarios.plan_of(row)
    return render(
        request,
        "scenario.html",
        user,
        code=code,
        scenario=row,
        plan=plan,
        changes=describe(plan),
        before=women_only_share(live.problem),
        after=_after(live, plan),
        choices=scenario_form.choices(live.problem, user.sees_personal_data),
        portfolio=portfolio_rows([summary]) if summary else [],
        cohorts=cohort_rows([summary]) if summary else [],
        cohort_columns=COHORT_COLUMNS,
        plots=[(name, PLOT_TITLES[name]) for name in PLOT_NAMES],
        **context,
    )


@router.get("/scenarios/{scenario_id}", response_class=HTMLResponse)
def scenario_page(
    request: Request, scenario_id: ScenarioId, session: SessionDep, user: Commissioners
) -> Response:
    message = "Saved." if request.query_params.get("saved") else None
    return _scenario_page(request, session, user, scenario_id, message=message)


@router.get("/scenarios/{scenario_id}/progress", response_class=HTMLResponse)
def scenario_progress(
    request: Request, scenario_id: ScenarioId, session: SessionDep, user: Commissioners
) -> Response:
    return render(
        request, "scenario_progress.html", user, scenario=scenarios.get(session, scenario_id)
    )


@router.post("/scenarios/{scenario_id}/plan")
async def change_plan_from_page(
    request: Request, scenario_id: ScenarioId, session: SessionDep, user: Commissioners
) -> Response:
    """One of the page's forms: its fields change the plan; the rest of the plan stays."""
    form = await request.form()
    require_csrf(request, _text(form.get("csrf_token")))

    def save() -> Response:
        try:
            row = scenarios.get(session, scenario_id)
            plan = scenario_form.updated_plan(dict(row.plan), form)
            scenarios.change(session, user, scenario_id, plan=plan)
        except (ProblemInvalid, Conflict) as error:
            session.rollback()
            return _scenario_page(
                request,
                session,
                user,
                scenario_id,
                code=_code(error),
                message="Not changed: the scenario keeps its plan.",
                message_kind="error",
                reasons=_reasons(error),
            )
        return RedirectResponse(f"/scenarios/{scenario_id}?saved=1", status.HTTP_303_SEE_OTHER)

    return await run_in_threadpool(save)


@router.post("/scenarios/{scenario_id}/run")
async def run_from_page(
    request: Request, scenario_id: ScenarioId, session: SessionDep, user: Commissioners
) -> Response:
    form = await request.form()
    require_csrf(request, _text(form.get("csrf_token")))
    state = request.app.state
    try:
        scenarios.start(
            session,
            state.sessionmaker,
            state.scenario_executor,
            state.settings,
            user,
            scenario_id,
            state.scenario_stopping,
        )
    except Conflict as error:
        return _scenario_page(
            request,
            session,
            user,
            scenario_id,
            code=409,
            message=f"Not started: {error.message}",
            message_kind="error",
        )
    return RedirectResponse(f"/scenarios/{scenario_id}", status.HTTP_303_SEE_OTHER)


def _after(live: LivePortfolio, plan: ScenarioPlan) -> WomenOnlyShare:
    """The shares the plan makes; the live ones where the stored plan no longer applies
    (its run then fails with the reason, on the page)."""
    try:
        return women_only_share(apply_plan(live, plan))
    except ProblemInvalid:
        return women_only_share(live.problem)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _code(error: Exception) -> int:
    if isinstance(error, ProblemInvalid):
        return 422
    return 404 if isinstance(error, NotFound) else 409


def _said(error: Exception) -> str:
    if isinstance(error, ProblemInvalid):
        return "; ".join(i.msg for i in error.issues)
    return str(getattr(error, "message", None) or error)


def _reasons(error: Exception) -> list[str]:
    if isinstance(error, ProblemInvalid):
        return [scenario_form.readable(issue) for issue in error.issues]
    return [_said(error), *getattr(error, "reasons", [])]
