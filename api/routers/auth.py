"""Sign-in (OAuth2 password flow), sign-out, and who am I.

Throttling and the audit of every attempt are explained in `api.sign_in`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordRequestForm

from api import sign_in
from api.deps import TOKEN_COOKIE, CurrentUser, SessionDep, SettingsDep, oauth2_scheme
from api.schemas import Me, Token
from api.security import Principal, check_password, create_token, token_expiry
from api.services import sessions

router = APIRouter(prefix="/api/auth", tags=["auth"])

BAD_LOGIN = "wrong username or password"


def login(request: Request, session: SessionDep, username: str, password: str) -> Principal:
    """Check a username (any case) and password, throttled as `api.sign_in` says; every
    attempt is written to the audit trail."""
    throttle: sign_in.SignInThrottle = request.app.state.sign_in_throttle
    client = sign_in.client_address(request)
    typed = sign_in.as_typed(username)
    wait, limit = throttle.retry_after(
        username, client, lambda: sign_in.signed_in_before(session, username, client)
    )
    if wait:
        refusals = throttle.refusals_to_record(limit)
        if refusals:
            why = "throttled" if refusals == 1 else f"throttled; {refusals} refused under {limit}"
            sign_in.record(session, typed, sign_in.NO_ROLE, "sign_in_refused", client, why)
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            "too many failed sign-ins; try again later",
            headers={"Retry-After": str(wait)},
        )
    principal, why = check_password(session, username, password)
    if principal is None:
        throttle.failed(username, client)
        sign_in.record(session, typed, sign_in.NO_ROLE, "sign_in_failed", client, why)
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, BAD_LOGIN, headers={"WWW-Authenticate": "Bearer"}
        )
    throttle.succeeded(username, client)
    sign_in.record(session, principal.username, principal.role.value, "sign_in", client)
    return principal


@router.post("/token", response_model=Token)
def token(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
) -> Token:
    principal = login(request, session, form.username, form.password)
    return Token(
        access_token=create_token(settings, principal),
        role=principal.role,
        expires_in=settings.token_minutes * 60,
    )


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUser,
    bearer: Annotated[str | None, Depends(oauth2_scheme)],
) -> None:
    """Sign out: the token this request was signed in with (bearer, or the page cookie with
    its `X-CSRF-Token`) is refused from now on, by every worker."""
    presented = bearer or request.cookies.get(TOKEN_COOKIE) or ""
    expires = token_expiry(settings, presented)
    if expires is not None:
        sessions.revoke(session, user, expires, sign_in.client_address(request))


@router.get("/me", response_model=Me)
async def me(user: CurrentUser) -> Me:
    return Me(username=user.username, role=user.role)
