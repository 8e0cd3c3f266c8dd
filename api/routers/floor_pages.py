"""The run page's form to re-solve a batch run with a cohort floor (`POST /runs/{id}/floor`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, status
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from api.deps import Coordinator, SessionDep
from api.routers.inventory import as_of
from api.routers.pages import CsrfField, _run_page, require_csrf
from api.routers.runs import RunId
from api.services import runs
from matcher.errors import Issue, ProblemInvalid
from matcher.model import LIST_RATE, CohortFloor

router = APIRouter(include_in_schema=False)


@router.post("/runs/{run_id}/floor")
def floor_from_page(
    request: Request,
    run_id: RunId,
    session: SessionDep,
    user: Coordinator,
    cohort: Annotated[str, Form(max_length=32)] = "",
    at_least: Annotated[str, Form(max_length=16)] = LIST_RATE,
    percent: Annotated[str, Form(max_length=16)] = "",
    csrf_token: CsrfField = "",
) -> Response:
    require_csrf(request, csrf_token)
    runs.get(session, run_id)  # an unknown run is a 404 before the form is read
    try:
        floor = CohortFloor.model_validate(
            {"cohort": cohort, "at_least": _share(at_least, percent)}
        )
    except (ValidationError, ProblemInvalid) as error:
        issues = (
            ProblemInvalid.from_validation_error(error).issues
            if isinstance(error, ValidationError)
            else error.issues
        )
        return _run_page(
            request,
            session,
            user,
            run_id,
            code=422,
            message="No re-solve started: the floor is not valid.",
            message_kind="error",
            reasons=[str(issue) for issue in issues],
        )
    state = request.app.state
    run = runs.start_floor(
        session, state.sessionmaker, state.executor, user, as_of(request), run_id, floor
    )
    return RedirectResponse(f"/runs/{run.id}", status.HTTP_303_SEE_OTHER)


def _share(at_least: str, percent: str) -> str | float:
    """The form's choice: the list's rate, or a percentage read as a share of 1."""
    if at_least == LIST_RATE:
        return LIST_RATE
    try:
        return float(percent) / 100
    except ValueError:
        raise ProblemInvalid(
            [Issue(("percent",), f"a percentage from 0 to 100, not {percent!r}")]
        ) from None
