"""Sign-in (OAuth2 password flow) and who am I."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordRequestForm

from api.deps import CurrentUser, SessionDep, SettingsDep
from api.schemas import Me, Token
from api.security import Principal, authenticate, create_token

router = APIRouter(prefix="/api/auth", tags=["auth"])

BAD_LOGIN = "wrong username or password"


def login(request: Request, session: SessionDep, username: str, password: str) -> Principal:
    """Check a username and password, throttled per username and client address, and per
    client address across usernames."""
    limiter = request.app.state.login_limiter
    client_limiter = request.app.state.client_login_limiter
    client = request.client.host if request.client else "-"
    key = f"{username.lower()}|{client}"
    wait = max(limiter.retry_after(key), client_limiter.retry_after(client))
    if wait:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            "too many failed sign-ins; try again later",
            headers={"Retry-After": str(wait)},
        )
    principal = authenticate(session, username, password)
    if principal is None:
        limiter.failed(key)
        client_limiter.failed(client)
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, BAD_LOGIN, headers={"WWW-Authenticate": "Bearer"}
        )
    limiter.succeeded(key)
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


@router.get("/me", response_model=Me)
async def me(user: CurrentUser) -> Me:
    return Me(username=user.username, role=user.role)
