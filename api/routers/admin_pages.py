"""The admins' accounts page: who may sign in, in which role; add an account, close one.

The same rules as `/api/users`: usernames unique whatever their case, passwords of at least
12 characters, an admin cannot close their own account, every change audited.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from api.deps import Admin, SessionDep
from api.routers.pages import CsrfField, render, require_csrf
from api.schemas import UserCreate
from api.security import Principal, Role
from api.services import audit, users
from api.services.errors import Conflict, NotFound

router = APIRouter(include_in_schema=False)

ROLE_NAMES = {
    Role.coordinator: "Coordinator (SPOA): people, offers and placements",
    Role.housing_options: "Housing Options: the vacancy board, no personal data",
    Role.commissioner: "Commissioner: figures and scenarios, no personal data",
    Role.admin: "Admin: everything, accounts and the audit trail",
}


def _page(
    request: Request,
    session: SessionDep,
    user: Principal,
    code: int = 200,
    message: str | None = None,
    kind_of_message: str = "ok",
    errors: dict[str, str] | None = None,
    given: dict[str, str] | None = None,
    closing: str | None = None,
) -> Response:
    return render(
        request,
        "users.html",
        user,
        code=code,
        accounts=users.list_users(session),
        roles=ROLE_NAMES,
        message=message,
        message_kind=kind_of_message,
        errors=errors or {},
        given=given or {},
        closing=closing,
    )


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(
    request: Request,
    session: SessionDep,
    user: Admin,
    added: Annotated[str, Query(max_length=64)] = "",
    closed: Annotated[str, Query(max_length=64)] = "",
    close: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    """The accounts; `close` asks to confirm closing one (a second step, not a click)."""
    message = None
    if added:
        message = f"Account {added} added."
    elif closed:
        message = f"Account {closed} closed: it can no longer sign in."
    known = close and any(a.username == close and a.active for a in users.list_users(session))
    return _page(request, session, user, message=message, closing=close if known else None)


@router.post("/admin/users", response_class=HTMLResponse)
def add_user(
    request: Request,
    session: SessionDep,
    user: Admin,
    username: Annotated[str, Form(max_length=200)] = "",
    role: Annotated[str, Form(max_length=32)] = "",
    password: Annotated[str, Form(max_length=400)] = "",
    csrf_token: CsrfField = "",
) -> Response:
    require_csrf(request, csrf_token)
    given = {"username": username, "role": role}
    try:
        body = UserCreate(username=username, password=password, role=role)  # type: ignore[arg-type]
    except ValidationError as invalid:
        errors = {str(e["loc"][0]): _plain(str(e["loc"][0]), e["msg"]) for e in invalid.errors()}
        return _page(
            request,
            session,
            user,
            code=422,
            message="The account was not added: see the fields marked below.",
            kind_of_message="error",
            errors=errors,
            given=given,
        )
    try:
        users.create_user(session, body.username, body.password, body.role)
    except Conflict as taken:
        return _page(
            request,
            session,
            user,
            code=409,
            message="The account was not added.",
            kind_of_message="error",
            errors={"username": f"{taken.message} (names are the same whatever their case)"},
            given=given,
        )
    audit.record(session, user, "create", "user", body.username)
    session.commit()
    return RedirectResponse(
        "/admin/users?" + urlencode({"added": body.username}), status.HTTP_303_SEE_OTHER
    )


@router.post("/admin/users/{username}/close", response_class=HTMLResponse)
def close_user(
    request: Request,
    session: SessionDep,
    user: Admin,
    username: str,
    csrf_token: CsrfField = "",
) -> Response:
    require_csrf(request, csrf_token)
    if username.lower() == user.username.lower():
        return _page(
            request,
            session,
            user,
            code=409,
            message="You cannot close your own account: another admin can.",
            kind_of_message="error",
        )
    try:
        users.deactivate(session, username)
    except NotFound:
        return _page(
            request,
            session,
            user,
            code=404,
            message=f"There is no account {username[:64]}.",
            kind_of_message="error",
        )
    audit.record(session, user, "deactivate", "user", username)
    session.commit()
    return RedirectResponse(
        "/admin/users?" + urlencode({"closed": username}), status.HTTP_303_SEE_OTHER
    )


def _plain(field: str, msg: str) -> str:
    """The model's message in the words of the form."""
    if field == "password" and "at least" in msg:
        return "at least 12 characters"
    if field == "username" and "pattern" in msg:
        return "letters, digits and . _ @ - only"
    if field == "username" and "at least" in msg:
        return "at least 2 characters"
    if field == "role":
        return "choose a role"
    return msg
