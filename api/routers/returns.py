"""The returns pack: `/api/returns?from=&to=` (JSON), its CSV and Excel downloads, and the
`/returns` page with its plots. Aggregates only; small counts suppressed for roles that may
not see people (`api.services.returns_output`)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, timedelta
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import Everyone, SessionDep
from api.routers.inventory import as_of
from api.routers.pages import render
from api.routers.range_downloads import DOWNLOAD, PNG, Extension, From, To, attachment
from api.security import Principal
from api.services import returns_output
from api.services.returns import ReturnsPack, returns_pack
from matcher.errors import ProblemInvalid

router = APIRouter(tags=["returns"])


def _pack(
    request: Request, session: SessionDep, user: Principal, start: date | None, end: date | None
) -> ReturnsPack:
    today = as_of(request)
    if start is None and end is None:  # neither given: the last quarter
        start, end = today - timedelta(days=90), today
    problem = request.app.state.problem_cache.problem(session, today)
    return returns_pack(session, problem, start, end, user.sees_personal_data)


@router.get("/api/returns")
def returns_api(
    request: Request, session: SessionDep, user: Everyone, start: From = None, end: To = None
) -> dict[str, Any]:
    """Every figure of the range (the last quarter if no day is given), each table with its
    header row (as the CSV has them)."""
    pack = _pack(request, session, user, start, end)
    return {
        "from": pack.start,
        "to": pack.end,
        "days": pack.days,
        "tables": returns_output.tables(pack, user.sees_personal_data),
        "women": pack.women.model_dump(),
        "notes": pack.notes,
    }


@router.get("/api/returns.{extension}", response_class=Response, responses=DOWNLOAD)
def returns_download(
    request: Request,
    session: SessionDep,
    user: Everyone,
    extension: Extension,
    start: From = None,
    end: To = None,
) -> Response:
    pack = _pack(request, session, user, start, end)
    body = (
        returns_output.as_csv(pack, user.sees_personal_data)
        if extension == "csv"
        else returns_output.as_xlsx(pack, user.sees_personal_data)
    )
    return attachment(body, extension, "returns", pack.start, pack.end)


@router.get(
    "/returns/{figure}.png", include_in_schema=False, response_class=Response, responses=PNG
)
def returns_plot(
    request: Request,
    session: SessionDep,
    user: Everyone,
    figure: Literal["waiting", "occupancy"],
    start: From = None,
    end: To = None,
) -> Response:
    pack = _pack(request, session, user, start, end)
    draw = returns_output.waiting_plot if figure == "waiting" else returns_output.occupancy_plot
    return Response(draw(pack), media_type="image/png")


@router.get("/returns", response_class=HTMLResponse, include_in_schema=False)
def returns_page(
    request: Request, session: SessionDep, user: Everyone, start: From = None, end: To = None
) -> Response:
    """The last quarter unless a range is given."""
    today = as_of(request)
    if start is None and end is None:
        start, end = today - timedelta(days=90), today
    try:
        pack = _pack(request, session, user, start, end)
    except ProblemInvalid as invalid:
        return render(
            request,
            "returns.html",
            user,
            code=422,
            pack=None,
            start=start,
            end=end,
            message="; ".join(i.msg for i in invalid.issues),
            message_kind="error",
        )
    return render(
        request,
        "returns.html",
        user,
        pack=pack,
        start=start,
        end=end,
        tables=returns_output.tables(pack, user.sees_personal_data),
        units=[asdict(u) for u in pack.units],
    )
