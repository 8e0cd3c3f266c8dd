"""A placement is checked against the hard rules on the state it read, before the write lock,
and again under the lock whenever anything was written in between: what is stored is safe on
the state it is stored into, and the write lock is held only to write."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import update

from api.db import _HOLDS_WRITER, lock_for_write
from api.orm import ReferralRow, SupportTeamRow
from api.security import Role
from api.services import placements
from tests.api.conftest import Service
from tests.api.helpers import factory, placeable


def _first_choice_with_a_team(service: Service) -> tuple[str, str, str]:
    """(referral, bed-space, support team) of someone whose first choice comes with a team."""
    client, coordinator = service.client, service.as_role(Role.coordinator)
    for _bed, options in sorted(placeable(client).items()):
        for referral, rank in options:
            if rank != 1:
                continue
            url = f"/api/referrals/{referral}/rank"
            [top] = client.get(url, params={"top": 1}, headers=coordinator).json()["ranked"]
            if top["support_team"] and not top["partners"]:
                return referral, top["bedspace"], top["support_team"]
    raise AssertionError("nobody's first choice comes with a support team")


def _checks_seen(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether the write lock was held at each check of a placement."""
    seen: list[bool] = []
    check = placements.check

    def watched(problem: Any, solution: Any) -> Any:
        seen.append(any(_HOLDS_WRITER in s.info for s in _open_sessions))
        return check(problem, solution)

    monkeypatch.setattr(placements, "check", watched)
    return seen


_open_sessions: list[Any] = []


def _place(service: Service, referral: str, bedspace: str) -> Any:
    return service.client.post(
        "/api/placements",
        json={"referral": referral, "bedspace": bedspace},
        headers=service.as_role(Role.coordinator),
    )


@pytest.fixture
def sessions_seen(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Every session the placement opens, to see whether it holds the write lock."""
    real = placements._place

    def recording(session: Any, *args: Any) -> Any:
        _open_sessions.append(session)
        try:
            return real(session, *args)
        finally:
            _open_sessions.remove(session)

    monkeypatch.setattr(placements, "_place", recording)
    return _open_sessions


def test_nothing_written_meanwhile_the_check_is_made_once_before_the_write_lock(
    sqlite_service: Service, monkeypatch: pytest.MonkeyPatch, sessions_seen: Any
) -> None:
    referral, bedspace, _team = _first_choice_with_a_team(sqlite_service)
    seen = _checks_seen(monkeypatch)
    answer = _place(sqlite_service, referral, bedspace)
    assert answer.status_code == 201, answer.text
    assert seen == [False]


def test_a_write_in_between_that_makes_the_placement_unsafe_is_caught_under_the_lock(
    sqlite_service: Service, monkeypatch: pytest.MonkeyPatch, sessions_seen: Any
) -> None:
    """The team's last place in its caseload goes to someone else between the ranking and
    the write: checked on the state read, the placement looked safe; under the lock it is
    checked again on the state as it is then, and refused, nothing stored."""
    service = sqlite_service
    referral, bedspace, team_id = _first_choice_with_a_team(service)
    sessionmaker = factory(service.client)
    with sessionmaker() as session:
        team = session.get(SupportTeamRow, team_id)
        assert team is not None
        lock_for_write(session)  # one place left in the team's caseload
        team.current_caseload = team.caseload_capacity - 1
        session.commit()

    top_choice = placements._top_choice

    def then_someone_else_writes(*args: Any) -> Any:
        chosen = top_choice(*args)
        with sessionmaker() as other:
            lock_for_write(other)
            other.execute(
                update(SupportTeamRow)
                .where(SupportTeamRow.id == team_id)
                .values(current_caseload=SupportTeamRow.caseload_capacity)
            )
            other.commit()
        return chosen

    monkeypatch.setattr(placements, "_top_choice", then_someone_else_writes)
    seen = _checks_seen(monkeypatch)
    answer = _place(service, referral, bedspace)
    assert answer.status_code == 409, answer.text
    assert any(team_id in r and "capacity" in r for r in answer.json()["reasons"]), answer.json()
    assert seen == [False, True]
    with sessionmaker() as session:
        row = session.get(ReferralRow, referral)
        assert row is not None and row.status == "waiting"
