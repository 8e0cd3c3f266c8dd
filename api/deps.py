"""Request dependencies: the session, the settings, the signed-in user and role checks.

A token comes from the `Authorization: Bearer` header (API clients) or the `bedmatch_token`
cookie (the web pages). A browser sends the cookie with any request to the site, including
one another site makes it send, so an API write (POST, PUT, PATCH, DELETE under `/api`)
signed in by the cookie must also carry `X-CSRF-Token`: the token the pages are rendered
with (`<meta name="csrf-token">`), which another site cannot read. A bearer token is never
sent by a browser on its own, so bearer requests need none.

Role checks are dependencies, so a route says who may call it in its signature:
`user: Annotated[Principal, Depends(allow(Role.coordinator, Role.admin))]`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session

from api.config import Settings
from api.quick_reads import QuickReads
from api.security import Principal, Role, csrf_ok, decode_token

TOKEN_COOKIE = "bedmatch_token"
CSRF_HEADER = "X-CSRF-Token"
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/auth/token", auto_error=False)


# Dependencies that touch no database are `async def`: a plain `def` one costs a hop to the
# thread pool and back per request. Those that take a pooled connection stay plain `def` (or
# hop themselves), so waiting for a connection never blocks the event loop, which is what
# hands connections back.


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A session for the request. Opening one takes no connection (its first statement does,
    in the route's thread), so it is opened on the event loop. Closing one still in a
    transaction rolls back and hands back a connection, so that runs in the thread pool; one
    whose work was committed (every write, every audited read) holds no connection, and
    closing it is bookkeeping, done on the loop without a hop."""
    session = request.app.state.sessionmaker()
    try:
        yield session
    finally:
        if session.in_transaction():
            await run_in_threadpool(session.close)
        else:
            session.close()


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


class NotSignedIn(HTTPException):
    def __init__(self) -> None:
        super().__init__(
            status.HTTP_401_UNAUTHORIZED,
            "not signed in, or the session has expired",
            headers={"WWW-Authenticate": "Bearer"},
        )


async def current_user(
    request: Request,
    settings: SettingsDep,
    bearer: Annotated[str | None, Depends(oauth2_scheme)],
) -> Principal:
    """The signed-in user: a valid token naming an account that is still active.

    The role comes from the account, not the token, so a changed role or a closed account
    takes effect on the next request, not when the token expires.
    """
    token = bearer or request.cookies.get(TOKEN_COOKIE)
    claimed = decode_token(settings, token) if token else None
    if claimed is None:
        raise NotSignedIn()
    cookie_write = not bearer and request.method in WRITES and request.url.path.startswith("/api/")
    if cookie_write and not csrf_ok(settings, token, request.headers.get(CSRF_HEADER)):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"a write signed in by the page cookie needs the page's {CSRF_HEADER} header",
        )
    reads: QuickReads = request.app.state.quick_reads
    if reads.on_loop:
        account = reads.account(claimed.username, claimed.token_id)
    else:
        account = await run_in_threadpool(reads.account, claimed.username, claimed.token_id)
    if account is None or not account.active or account.revoked:
        raise NotSignedIn()
    return Principal(claimed.username, Role(account.role), claimed.token_id)


CurrentUser = Annotated[Principal, Depends(current_user)]


def allow(*roles: Role) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that lets only `roles` through (403 for any other signed-in role)."""
    allowed = frozenset(roles)

    async def check_role(user: CurrentUser) -> Principal:
        if user.role not in allowed:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "your role may not do this")
        return user

    check_role.allowed_roles = allowed  # type: ignore[attr-defined]
    return check_role


Everyone = Annotated[Principal, Depends(allow(*Role))]
Coordinator = Annotated[Principal, Depends(allow(Role.coordinator, Role.admin))]
Admin = Annotated[Principal, Depends(allow(Role.admin))]
HousingOptions = Annotated[
    Principal, Depends(allow(Role.housing_options, Role.coordinator, Role.admin))
]
Aggregates = Annotated[Principal, Depends(allow(Role.commissioner, Role.coordinator, Role.admin))]
# Scenarios of the portfolio: the commissioner's tool (DESIGN.md's users), and admins'.
Commissioners = Annotated[Principal, Depends(allow(Role.commissioner, Role.admin))]
