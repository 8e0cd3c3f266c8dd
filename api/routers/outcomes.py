"""Outcomes of stays: `/api/outcomes?from=&to=` (JSON), its CSV and Excel downloads, and the
`/outcomes` page with its plots, for commissioners, coordinators and admins (Housing Options
sees no outcomes: LIFECYCLE.md). Aggregates only; small counts suppressed for commissioners
(`api.services.outcomes_output`)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import Aggregates, SessionDep
from api.routers.inventory import as_of
from api.routers.pages import render
from api.routers.range_downloads import DOWNLOAD, PNG, Extension, From, To, attachment
from api.security import Principal
from api.services import outcomes_output
from api.services.figures import SMALL_COUNT
from api.services.outcomes import OutcomeReport, outcomes
from matcher.errors import ProblemInvalid

router = APIRouter(tags=["outcomes"])

# Outcomes need time to show: by default the year to today.
DEFAULT_DAYS = 365


def _default_range(today: date, start: date | None, end: date | None) -> tuple[date | None, ...]:
    if start is None and end is None:
        return today - timedelta(days=DEFAULT_DAYS - 1), today
    return start, end


def _report(
    request: Request, session: SessionDep, user: Principal, start: date | None, end: date | None
) -> OutcomeReport:
    today = as_of(request)
    start, end = _default_range(today, start, end)
    return outcomes(session, start, end, today, user.sees_personal_data)


def _figures(report: OutcomeReport, sees_personal_data: bool) -> dict[str, Any]:
    return {
        "from": report.start,
        "to": report.end,
        "as_of": report.as_of,
        "days": report.days,
        "tables": outcomes_output.tables(report, sees_personal_data),
        "notes": report.notes,
    }


@router.get("/api/outcomes")
def outcomes_api(
    request: Request, session: SessionDep, user: Aggregates, start: From = None, end: To = None
) -> dict[str, Any]:
    """The outcomes of the stays that ended in the range (the last year if no day is given),
    judged with what is known today: per group of people, pathway, unit and support team,
    each table with its header row (as the CSV has them)."""
    return _figures(_report(request, session, user, start, end), user.sees_personal_data)


@router.get("/api/outcomes.{extension}", response_class=Response, responses=DOWNLOAD)
def outcomes_download(
    request: Request,
    session: SessionDep,
    user: Aggregates,
    extension: Extension,
    start: From = None,
    end: To = None,
) -> Response:
    report = _report(request, session, user, start, end)
    body = (
        outcomes_output.as_csv(report, user.sees_personal_data)
        if extension == "csv"
        else outcomes_output.as_xlsx(report, user.sees_personal_data)
    )
    return attachment(body, extension, "outcomes", report.start, report.end)


@router.get(
    "/outcomes/{figure}.png", include_in_schema=False, response_class=Response, responses=PNG
)
def outcomes_plot(
    request: Request,
    session: SessionDep,
    user: Aggregates,
    figure: Literal["shares", "stays"],
    grouping: Literal["pathway", "cohort", "list_cohort", "unit", "support_team"] = "pathway",
    start: From = None,
    end: To = None,
) -> Response:
    report = _report(request, session, user, start, end)
    draw = outcomes_output.shares_plot if figure == "shares" else outcomes_output.stay_plot
    return Response(draw(report, grouping, user.sees_personal_data), media_type="image/png")


@router.get("/outcomes", response_class=HTMLResponse, include_in_schema=False)
def outcomes_page(
    request: Request, session: SessionDep, user: Aggregates, start: From = None, end: To = None
) -> Response:
    """The last year unless a range is given."""
    start, end = _default_range(as_of(request), start, end)
    try:
        report = _report(request, session, user, start, end)
    except ProblemInvalid as invalid:
        return render(
            request,
            "outcomes.html",
            user,
            code=422,
            report=None,
            start=start,
            end=end,
            message="; ".join(i.msg for i in invalid.issues),
            message_kind="error",
        )
    sees = user.sees_personal_data
    return render(
        request,
        "outcomes.html",
        user,
        report=report,
        start=start,
        end=end,
        groups=report.groups,
        names=outcomes_output.GROUPING_NAMES,
        share=lambda s: outcomes_output.share_words(s, sees),
        count=lambda n: outcomes_output.count_words(n, sees),
        small=lambda n: not sees and 0 < n < SMALL_COUNT,
    )
