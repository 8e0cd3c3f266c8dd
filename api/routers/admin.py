"""Accounts, the audit trail and the service's switches: admins only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, status

from api.deps import Admin, SessionDep
from api.schemas import (
    USERNAME_MAX_LENGTH,
    AuditEventView,
    NightlyMoveOuts,
    PathUsername,
    UserCreate,
    UserView,
)
from api.services import audit, departures, users
from api.services.errors import Conflict
from matcher.limits import LINE_PATTERN

router = APIRouter(prefix="/api", tags=["admin"])

SUBJECT_MAX_LENGTH = 200  # audit_events.subject_id


@router.get("/users", response_model=list[UserView])
def list_users(session: SessionDep, user: Admin) -> list[UserView]:
    return [UserView.model_validate(u) for u in users.list_users(session)]


@router.post("/users", response_model=UserView, status_code=status.HTTP_201_CREATED)
def create_user(body: UserCreate, session: SessionDep, user: Admin) -> UserView:
    created = users.create_user(session, body.username, body.password, body.role)
    audit.record(session, user, "create", "user", body.username)
    session.commit()
    return UserView.model_validate(created)


@router.delete("/users/{username}", response_model=UserView)
def deactivate_user(username: PathUsername, session: SessionDep, user: Admin) -> UserView:
    """Close an account (it stays in the records); its tokens stop working at once."""
    if username.lower() == user.username.lower():
        raise Conflict("an admin cannot close their own account")
    closed = users.deactivate(session, username)
    audit.record(session, user, "deactivate", "user", username)
    session.commit()
    return UserView.model_validate(closed)


@router.get("/audit", response_model=list[AuditEventView])
def audit_events(
    session: SessionDep,
    user: Admin,
    username: Annotated[
        str | None, Query(max_length=USERNAME_MAX_LENGTH, pattern=LINE_PATTERN)
    ] = None,
    subject_id: Annotated[
        str | None, Query(max_length=SUBJECT_MAX_LENGTH, pattern=LINE_PATTERN)
    ] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 200,
) -> list[AuditEventView]:
    rows = audit.events(session, username=username, subject_id=subject_id, limit=limit)
    return [AuditEventView.model_validate(r) for r in rows]


@router.get("/settings/nightly-move-outs", response_model=NightlyMoveOuts)
def nightly_move_outs(session: SessionDep, user: Admin) -> NightlyMoveOuts:
    """Whether the nightly rule records the move-out of residents past their expected
    leaving date (see `api.services.departures`)."""
    return NightlyMoveOuts(on=departures.is_on(session))


@router.put("/settings/nightly-move-outs", response_model=NightlyMoveOuts)
def switch_nightly_move_outs(
    body: NightlyMoveOuts, session: SessionDep, user: Admin
) -> NightlyMoveOuts:
    """Turn the nightly move-out rule on or off (audited with the old and new value)."""
    departures.switch(session, user, body.on)
    return NightlyMoveOuts(on=body.on)


@router.get("/cache-stats", response_model=dict[str, int])
def cache_stats(request: Request, user: Admin) -> dict[str, int]:
    """How often this worker process has read the whole database into its cached problem
    (`database_reads`) and built a derived value such as the ranking context from scratch
    (`builds:ranking`) or carried it over a placement, arrival or move-out
    (`updates:ranking`), since it started."""
    return dict(request.app.state.problem_cache.counts)
