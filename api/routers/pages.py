"""Server-rendered pages: sign-in, the coordinator's referral page (ranked list, reasons,
cost to others, override form), the vacancy board, batch runs with progress and accept
buttons, and the figures page. Same services, same role checks and audit as the API."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, cast

from fastapi import APIRouter, Form, HTTPException, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from api.deps import TOKEN_COOKIE, Admin, Coordinator, Everyone, SessionDep, SettingsDep
from api.routers.auth import login as check_login
from api.routers.inventory import as_of
from api.routers.runs import RunId
from api.schemas import REASON_MAX_LENGTH, PathId
from api.security import (
    Principal,
    Role,
    create_token,
    csrf_ok,
    csrf_token,
    decode_token,
    token_expiry,
)
from api.services import (
    audit,
    board,
    by_name_list,
    changes,
    clocks,
    commissioner_home,
    departures,
    floor_price,
    inventory,
    offer_view,
    offers,
    person_view,
    placements,
    referral_form,
    referral_search,
    run_view,
    runs,
    sessions,
    support_placements,
    vacancy_view,
)
from api.services import (
    figures as portfolio_figures,
)
from api.services import (
    scenarios as scenario_service,
)
from api.services.errors import Conflict, NotFound
from api.services.inventory import REFERRALS
from api.services.ranking import cached_context, rank_waiting
from api.sign_in import client_address
from constraints.cohorts import COHORT_NAMES
from matcher.errors import Issue, PlacementRefused, ProblemInvalid
from matcher.limits import ID_MAX_LENGTH, ID_PATTERN, TEXT_PATTERN
from matcher.model import Flag, Pathway, Referral

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(Path(__file__).resolve().parent.parent / "templates"))


def render(
    request: Request, name: str, user: Principal | None, code: int = 200, **context: Any
) -> Response:
    session_token = request.cookies.get(TOKEN_COOKIE)
    csrf = csrf_token(request.app.state.settings, session_token) if session_token else ""
    demo = getattr(request.app.state, "demo_database", False)
    response = templates.TemplateResponse(
        request, name, {"user": user, "csrf": csrf, "demo": demo, **context}, status_code=code
    )
    return response  # never cached, never framed: see `install_security_headers`


CsrfField = Annotated[str, Form()]


def require_csrf(request: Request, given: str | None) -> None:
    """Refuse a form not rendered by this service for this sign-in (400)."""
    if not csrf_ok(request.app.state.settings, request.cookies.get(TOKEN_COOKIE), given):
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, "the form has expired or did not come from this site"
        )


def signed_in_user(request: Request) -> Principal | None:
    token = request.cookies.get(TOKEN_COOKIE)
    return decode_token(request.app.state.settings, token) if token else None


def _safe_next(target: str) -> str:
    # Only same-site paths, so the sign-in form cannot bounce anyone to another site.
    return target if target.startswith("/") and not target.startswith("//") else "/"


def _cookie_needs_https(request: Request) -> bool:
    """Whether this sign-in page was reached over plain HTTP although the sign-in cookie is
    sent over HTTPS only: the browser would not keep anyone signed in, so the page says so."""
    return request.url.scheme != "https" and not request.app.state.settings.insecure_http


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/") -> Response:
    return render(
        request,
        "login.html",
        None,
        next=_safe_next(next),
        needs_https=_cookie_needs_https(request),
    )


@router.post("/login")
def login_submit(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    try:
        principal = check_login(request, session, username, password)
    except HTTPException as error:
        return render(
            request,
            "login.html",
            None,
            code=error.status_code,
            next=_safe_next(next),
            needs_https=_cookie_needs_https(request),
            message=str(error.detail),
            message_kind="error",
        )
    response = RedirectResponse(_safe_next(next), status.HTTP_303_SEE_OTHER)
    response.set_cookie(
        TOKEN_COOKIE,
        create_token(settings, principal),
        max_age=settings.token_minutes * 60,
        httponly=True,
        samesite="strict",
        secure=not settings.insecure_http,
    )
    return response


@router.post("/logout")
def logout(
    request: Request, session: SessionDep, settings: SettingsDep, csrf_token: CsrfField = ""
) -> Response:
    """Sign out: the cookie's token is refused from now on (server-side), and the cookie
    deleted. Without this sign-in's form token nothing happens (400)."""
    require_csrf(request, csrf_token)
    token = request.cookies.get(TOKEN_COOKIE) or ""
    user, expires = decode_token(settings, token), token_expiry(settings, token)
    if user is not None and expires is not None:
        sessions.revoke(session, user, expires, client_address(request))
    response = RedirectResponse("/login", status.HTTP_303_SEE_OTHER)
    response.delete_cookie(
        TOKEN_COOKIE, httponly=True, samesite="strict", secure=not settings.insecure_http
    )
    return response


@router.get("/", response_class=HTMLResponse)
def home(request: Request, session: SessionDep, user: Everyone) -> Response:
    """Links for everyone; for coordinators (and admins) first the 8-hour responses still
    owed; for commissioners (and admins) the portfolio's headline figures and the last
    scenarios too."""
    owed = clocks.waiting_clocks(session, audit.now()) if user.sees_personal_data else []
    if owed:
        audit.record_read(session, user, "referral", [c.referral for c in owed])
    if user.role not in (Role.commissioner, Role.admin):
        return render(request, "home.html", user, owed=owed)
    problem = request.app.state.problem_cache.problem(session, as_of(request))
    last = scenario_service.list_scenarios(session, limit=commissioner_home.LAST_SCENARIOS)
    return render(
        request,
        "home.html",
        user,
        owed=owed,
        portfolio=commissioner_home.portfolio(problem),
        scenarios=last,
        headline={row.id: commissioner_home.headline(row) for row in last},
        any_run=any(row.figures for row in last),
    )


# --- coordinators: referrals ------------------------------------------------------------


@router.get("/referrals", response_class=HTMLResponse)
def referrals_page(
    request: Request,
    session: SessionDep,
    user: Coordinator,
    q: Annotated[str, Query(max_length=200)] = "",
    status_is: Annotated[str, Query(alias="status", max_length=16)] = "waiting",
    priority: Annotated[int, Query(ge=1, le=5)] = 1,
    flag: Annotated[str, Query(max_length=32)] = "",
    pathway: Annotated[str, Query(max_length=32)] = "",
    waited: Annotated[int, Query(ge=0, le=36_500)] = 0,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:
    """Find people: by name, case reference or id, status, priority, flag, pathway and time
    waiting."""
    filters = {
        "q": q,
        "status": status_is,
        "priority": priority,
        "flag": flag,
        "pathway": pathway,
        "waited": waited,
    }
    problems = [
        f"{name}: {value!r} is not one of the choices"
        for name, value, allowed in (
            ("status", status_is, {"waiting", "offered", "placed", "withdrawn", "any"}),
            ("flag", flag, {"", *(f.value for f in Flag)}),
            ("pathway", pathway, {"", *(p.value for p in Pathway)}),
        )
        if value not in allowed
    ]
    found: list[referral_search.Found] = []
    total = 0
    if not problems:
        query = referral_search.ReferralQuery(
            text=q.strip(),
            status=None if status_is == "any" else cast(referral_search.Status, status_is),
            min_priority=priority,
            flag=Flag(flag) if flag else None,
            pathway=Pathway(pathway) if pathway else None,
            waited_days=waited,
            limit=REFERRALS_PAGE,
            offset=(page - 1) * REFERRALS_PAGE,
        )
        found, total = referral_search.search(session, query, as_of(request))
    audit.record_read(session, user, "referral", [f.referral.id for f in found])
    return render(
        request,
        "referrals.html",
        user,
        code=422 if problems else 200,
        found=found,
        owed=clocks.owed_on_page(found, audit.now()),
        total=total,
        page=page,
        pages=max(1, -(-total // REFERRALS_PAGE)),
        filters=filters,
        flags=[f.value for f in Flag],
        pathways=[p.value for p in Pathway],
        message="; ".join(problems) or None,
        message_kind="error",
    )


REFERRALS_PAGE = 100


# --- coordinators: the referral form --------------------------------------------------


def _form_page(
    request: Request,
    session: Session,
    user: Principal,
    values: dict[str, Any],
    editing: str | None,
    errors: dict[str, list[str]] | None = None,
    code: int = 200,
) -> Response:
    areas = [(a.id, a.name or a.id) for a in inventory.list_rows(session, inventory.AREAS)]
    return render(
        request,
        "referral_form.html",
        user,
        code=code,
        values=values,
        editing=editing,
        errors=errors or {},
        labels=referral_form.LABELS,
        choices=referral_form.CHOICES,
        wants_words=referral_form.WANTS_WORDS,
        flags=referral_form.FLAGS,
        areas=areas,
    )


@router.get("/referrals/new", response_class=HTMLResponse)
def new_referral_page(request: Request, session: SessionDep, user: Coordinator) -> Response:
    today = as_of(request).isoformat()
    defaults = {"referred": today, "priority": 1, "household_size": 1, "support_hours": 0}
    return _form_page(request, session, user, defaults, editing=None)


@router.post("/referrals/new", response_class=HTMLResponse)
async def create_referral_from_page(
    request: Request, session: SessionDep, user: Coordinator
) -> Response:
    form = await request.form()
    require_csrf(request, _text(form.get("csrf_token")))
    data = referral_form.from_form(form, _lists(form))

    def create() -> Response:
        try:
            item = cast(Referral, changes.merge(Referral, {}, data))
            if "risk" not in data:  # the model has a default; a person's risk has none
                raise ProblemInvalid([Issue(("risk",), "choose the person's risk")])
            inventory.create(session, as_of(request), REFERRALS, item, user)
        except (ProblemInvalid, Conflict) as error:
            return _form_page(
                request, session, user, data, None, _form_errors(error), code=_code(error)
            )
        return RedirectResponse(f"/referrals/{item.id}?saved=1", status.HTTP_303_SEE_OTHER)

    return await run_in_threadpool(create)


@router.get("/referrals/{referral_id}/edit", response_class=HTMLResponse)
def edit_referral_page(
    request: Request, referral_id: PathId, session: SessionDep, user: Coordinator
) -> Response:
    row = inventory.get_row(session, REFERRALS, referral_id)
    values = Referral.model_validate(row, from_attributes=True).model_dump(mode="json")
    audit.record_read(session, user, "referral", referral_id)
    return _form_page(request, session, user, values, editing=referral_id)


@router.post("/referrals/{referral_id}/edit", response_class=HTMLResponse)
async def edit_referral_from_page(
    request: Request, referral_id: PathId, session: SessionDep, user: Coordinator
) -> Response:
    form = await request.form()
    require_csrf(request, _text(form.get("csrf_token")))
    data = {**referral_form.from_form(form, _lists(form)), "id": referral_id}

    def save() -> Response:
        try:
            stored = changes.stored_values(
                Referral, inventory.get_row(session, REFERRALS, referral_id)
            )
            item = changes.merge(Referral, stored, data)
            moved = changes.diff("referrals", referral_id, stored, item)
            given = {f.field: f.new for f in moved.fields}
            if given:
                inventory.patch(session, as_of(request), REFERRALS, referral_id, given, user)
        except (ProblemInvalid, Conflict) as error:
            session.rollback()
            return _form_page(
                request, session, user, data, referral_id, _form_errors(error), _code(error)
            )
        return RedirectResponse(f"/referrals/{referral_id}?saved=1", status.HTTP_303_SEE_OTHER)

    return await run_in_threadpool(save)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _lists(form: Any) -> dict[str, list[str]]:
    names = ("flags", *referral_form.AREA_LISTS)
    return {name: [str(v) for v in form.getlist(name)] for name in names}


def _form_errors(error: Exception) -> dict[str, list[str]]:
    if isinstance(error, ProblemInvalid):
        return referral_form.messages(error.issues)
    reasons = getattr(error, "reasons", None) or []
    return {"": [str(getattr(error, "message", error)), *reasons]}


def _code(error: Exception) -> int:
    return 422 if isinstance(error, ProblemInvalid) else 409


def _referral_page(
    request: Request,
    session: SessionDep,
    user: Principal,
    referral_id: str,
    code: int = 200,
    **context: Any,
) -> Response:
    row = inventory.get_row(session, REFERRALS, referral_id)
    referral = Referral.model_validate(row, from_attributes=True)
    cache, day = request.app.state.problem_cache, as_of(request)
    ranking = None
    if row.status == "waiting":
        ctx, ranking = rank_waiting(
            session, referral_id, cache=cache, as_of=day, top=PAGE_PLACEMENTS, reader=user
        )
        # What they declined is not proposed to them again.
        ranking = offers.without_declined(ranking, offers.declined_bedspaces(session, referral_id))
    else:
        ctx = cached_context(session, cache, day)
        audit.record_read(session, user, "referral", [referral_id])
    return render(
        request,
        "referral.html",
        user,
        code=code,
        referral=referral,
        status=row.status,
        needs=person_view.needs(referral, ctx.problem),
        placement=(
            referral_search.placement_of(session, referral_id) if row.status == "placed" else None
        ),
        ranking=ranking,
        units=person_view.unit_rows(ranking) if ranking is not None else [],
        exclusions=(
            person_view.exclusion_groups(ranking, ctx.problem) if ranking is not None else []
        ),
        support_placements=support_placements.listed(session, referral=referral_id),
        support_areas=support_placements.area_names(session),
        **offer_view.page_context(session, row, as_of(request)),
        **clocks.page_context(referral, audit.now(), row.status),
        **context,
    )


# Placements a person's page ranks in full (reasons, cost to others): enough to give reasons
# for the units a coordinator weighs; the rest are listed by score.
PAGE_PLACEMENTS = 200


@router.get("/referrals/{referral_id}", response_class=HTMLResponse)
def referral_page(
    request: Request, referral_id: PathId, session: SessionDep, user: Coordinator
) -> Response:
    placed = request.query_params.get("placed")
    message = f"Placed in bed-space {placed}." if placed else None
    if request.query_params.get("saved"):
        message = "Saved."
    if request.query_params.get("undone"):
        message = "Placement undone: the person waits again."
    if request.query_params.get("supported"):
        message = f"Support at home from team {request.query_params['supported']} has started."
    message = offer_view.step_message(request.query_params) or message
    return _referral_page(request, session, user, referral_id, message=message)


@router.post("/referrals/{referral_id}/place")
def place_from_page(
    request: Request,
    referral_id: PathId,
    session: SessionDep,
    user: Coordinator,
    bedspace: Annotated[str, Form(max_length=ID_MAX_LENGTH, pattern=ID_PATTERN)] = "",
    reason: Annotated[str, Form(max_length=REASON_MAX_LENGTH, pattern=TEXT_PATTERN)] = "",
    csrf_token: CsrfField = "",
) -> Response:
    require_csrf(request, csrf_token)
    try:
        placements.place(
            session,
            user,
            as_of(request),
            referral_id,
            bedspace,
            None,
            reason or None,
            cache=request.app.state.problem_cache,
        )
    except (Conflict, PlacementRefused, ProblemInvalid) as error:
        reasons = getattr(error, "reasons", None) or [str(i) for i in getattr(error, "issues", [])]
        code = 422 if isinstance(error, ProblemInvalid) else 409
        return _referral_page(
            request,
            session,
            user,
            referral_id,
            code=code,
            message=f"Not placed: {getattr(error, 'message', None) or error}",
            message_kind="error",
            reasons=reasons,
        )
    except NotFound:
        raise
    return RedirectResponse(
        f"/referrals/{referral_id}?placed={bedspace}", status.HTTP_303_SEE_OTHER
    )


# --- everyone: vacancies and figures ------------------------------------------------------


@router.get("/vacancies", response_class=HTMLResponse)
def vacancies_page(request: Request, session: SessionDep, user: Everyone) -> Response:
    """The board filtered as the form asks (areas by name), its downloads filtered alike."""
    problem = request.app.state.problem_cache.problem(session, as_of(request))
    form = vacancy_view.read_filters(request.query_params, problem)
    shown = user.sees_personal_data
    board_now = board.vacancy_board(problem, form.filters, within_days=28, show_confidential=shown)
    move_outs = board.move_outs(problem, 28) if user.role != Role.commissioner else None
    return render(
        request,
        "vacancies.html",
        user,
        code=422 if form.errors else 200,
        board=board_now,
        move_outs=move_outs,
        form=form,
        labels=vacancy_view.FILTER_LABELS,
        choices=vacancy_view.choices(problem),
        areas=vacancy_view.area_names(problem),
        unit_names=vacancy_view.unit_names(problem, shown),
        kinds=vacancy_view.KIND_WORDS,
        policies=vacancy_view.POLICY_WORDS,
        staffing=vacancy_view.STAFFING_WORDS,
        risks=vacancy_view.RISK_WORDS,
    )


@router.get("/stats", response_class=HTMLResponse)
def stats_page(request: Request, session: SessionDep, user: Everyone) -> Response:
    problem = request.app.state.problem_cache.problem(session, as_of(request))
    return render(
        request,
        "stats.html",
        user,
        stats=board.stats(session, problem),
        figures=portfolio_figures.figures(problem, user.sees_personal_data),
        da=portfolio_figures.da_responses(session, audit.now()),
        steps=portfolio_figures.step_times(session, user.sees_personal_data),
    )


@router.get("/stats/waiting.png")
def waiting_plot(request: Request, session: SessionDep, user: Everyone) -> Response:
    """The waiting list by priority and time waited, drawn once per data version."""
    cache = request.app.state.problem_cache
    png = cache.answer(session, as_of(request), "waiting.png", portfolio_figures.waiting_plot)
    return Response(png, media_type="image/png")


# --- coordinators: batch runs -------------------------------------------------------------


@router.get("/runs", response_class=HTMLResponse)
def runs_page(request: Request, session: SessionDep, user: Coordinator) -> Response:
    return render(request, "runs.html", user, runs=runs.list_runs(session))


@router.post("/runs")
def start_run_from_page(
    request: Request,
    session: SessionDep,
    user: Coordinator,
    backend: Annotated[str, Form()] = "cpsat",
    time_limit_s: Annotated[float, Form(gt=0, le=300)] = 10.0,
    csrf_token: CsrfField = "",
) -> Response:
    require_csrf(request, csrf_token)
    if backend not in runs.BACKENDS:
        backend = "cpsat"
    state = request.app.state
    run = runs.start(
        session, state.sessionmaker, state.executor, user, as_of(request), backend, time_limit_s
    )
    return RedirectResponse(f"/runs/{run.id}", status.HTTP_303_SEE_OTHER)


def _run_page(
    request: Request,
    session: SessionDep,
    user: Principal,
    run_id: RunId,
    code: int = 200,
    **context: Any,
) -> Response:
    run = runs.get(session, run_id)
    results = runs.results(session, run_id)
    if results:
        audit.record_read(session, user, "referral", [r.referral for r in results])
    ranking = cached_context(session, request.app.state.problem_cache, as_of(request))
    shown = run_view.fitting_together(
        ranking.problem, run_view.proposals(session, run, results, ranking)
    )
    return render(
        request,
        "run.html",
        user,
        code=code,
        run=run,
        outcome=run_view.outcome(run, len(shown), len(results)),
        proposals=shown,
        possible=[p for p in shown if p.stale is None and not p.accepted],
        unplaced=[r for r in results if r.bedspace is None],
        equity=runs.run_equity(session, run, results) if results else [],
        cohort_names=COHORT_NAMES,
        price=floor_price.view(run.price),
        **context,
    )


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def run_page(request: Request, run_id: RunId, session: SessionDep, user: Coordinator) -> Response:
    accepted = request.query_params.get("accepted")
    message = f"Offered places to {accepted} people from this run." if accepted else None
    return _run_page(request, session, user, run_id, message=message)


@router.get("/runs/{run_id}/progress", response_class=HTMLResponse)
def run_progress(
    request: Request, run_id: RunId, session: SessionDep, user: Coordinator
) -> Response:
    return render(request, "progress.html", user, run=runs.get(session, run_id))


@router.post("/runs/{run_id}/accept")
async def accept_from_page(
    request: Request, run_id: RunId, session: SessionDep, user: Coordinator
) -> Response:
    form = await request.form()
    given = form.get("csrf_token")
    require_csrf(request, given if isinstance(given, str) else None)
    if form.get("which") == "all":  # every proposal still possible, not those overtaken
        run = runs.get(session, run_id)
        problem = request.app.state.problem_cache.problem(session, as_of(request))
        shown = run_view.fitting_together(
            problem, run_view.proposals(session, run, runs.results(session, run_id), None)
        )
        chosen = [p.referral for p in shown if p.stale is None and not p.accepted]
    else:
        chosen = [str(v) for v in form.getlist("referrals")]
    try:
        accepted = runs.accept(session, user, as_of(request), run_id, chosen)
    except (Conflict, ProblemInvalid) as error:
        reasons = getattr(error, "reasons", None) or [str(i) for i in getattr(error, "issues", [])]
        code = 422 if isinstance(error, ProblemInvalid) else 409
        return _run_page(
            request,
            session,
            user,
            run_id,
            code=code,
            message=f"Nothing accepted: {getattr(error, 'message', None) or error}",
            message_kind="error",
            reasons=reasons,
        )
    return RedirectResponse(f"/runs/{run_id}?accepted={len(accepted)}", status.HTTP_303_SEE_OTHER)


# --- admins: the audit trail -------------------------------------------------------------

AUDIT_PAGE = 100
# What each action reads as on the page.
AUDIT_ACTIONS = {
    "read": "read",
    "create": "created",
    "update": "changed",
    "weaken": "weakened a safety field of",
    "delete": "deleted",
    "withdraw": "withdrew",
    "import": "imported",
    "place": "placed",
    "override": "placed against the ranking",
    "move_out": "recorded a move-out of",
    "arrival": "recorded an arrival of",
    "deactivate": "closed the account of",
    "offer": "offered a bed-space to",
    "offer_accept": "recorded an offer accepted by",
    "offer_decline": "recorded an offer declined for",
    "offer_withdraw": "withdrew an offer to",
    "offer_expire": "closed an expired offer to",
}


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    session: SessionDep,
    user: Admin,
    username: Annotated[str, Query(max_length=64)] = "",
    subject: Annotated[str, Query(max_length=200)] = "",
    action: Annotated[str, Query(max_length=32)] = "",
    before: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> Response:
    """Who read or changed what, newest first, filtered by person, subject and action."""
    shown = audit.events(
        session,
        username=username or None,
        subject_id=subject or None,
        action=action or None,
        before=before,
        limit=AUDIT_PAGE,
    )
    return render(
        request,
        "audit.html",
        user,
        events=shown,
        actions=AUDIT_ACTIONS,
        filters={"username": username, "subject": subject, "action": action},
        older=shown[-1].id if len(shown) == AUDIT_PAGE else None,
    )


# --- admins: the service's switches -------------------------------------------------------


@router.get("/admin/settings", response_class=HTMLResponse)
def settings_page(request: Request, session: SessionDep, user: Admin) -> Response:
    changed = request.query_params.get("changed")
    message = "Setting saved." if changed else None
    on = departures.is_on(session)
    return render(
        request,
        "settings.html",
        user,
        nightly_move_outs=on,
        offer_days=offers.offer_days(session),
        list_inactive_days=by_name_list.inactive_days(session),
        message=message,
    )


@router.post("/admin/settings/nightly-move-outs")
def switch_nightly_move_outs(
    request: Request,
    session: SessionDep,
    user: Admin,
    on: Annotated[str, Form()] = "",
    csrf_token: CsrfField = "",
) -> Response:
    require_csrf(request, csrf_token)
    departures.switch(session, user, on == "on")
    return RedirectResponse("/admin/settings?changed=1", status.HTTP_303_SEE_OTHER)
