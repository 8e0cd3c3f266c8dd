"""Support at home through the service: a waiting person asks for support only, the ranking
offers the teams that may give it, a coordinator starts it (the team's caseload counts it)
and ends it with a date and reason; a team outside the area, a full caseload or an unknown
team is refused with why, and nothing changes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from api.orm import ReferralRow, SupportPlacementRow, SupportTeamRow
from api.security import Role
from tests.api.conftest import Service
from tests.api.helpers import factory
from tests.api.test_service import wait_for_run

C = Role.coordinator


def _state(service: Service) -> tuple[int, dict[str, int], dict[str, str]]:
    """(support placements, each team's caseload, each referral's status)."""
    with factory(service.client)() as session:
        placements = session.scalar(select(func.count()).select_from(SupportPlacementRow))
        teams = {t.id: t.current_caseload for t in session.scalars(select(SupportTeamRow))}
        statuses = {r.id: r.status for r in session.scalars(select(ReferralRow))}
    return int(placements or 0), teams, statuses


def _asks_for_support(service: Service) -> tuple[str, dict[str, Any], list[dict[str, Any]]]:
    """A waiting person (alone, no female worker or Housing First asked) now asks for support
    at home, in the area of a team with room: (referral, that team, every team)."""
    client, headers = service.client, service.as_role(C)
    teams = client.get("/api/support-teams", headers=headers).json()
    team = next(
        t
        for t in teams
        if t["caseload_capacity"] > t["current_caseload"] and t["kind"] != "intensive"
    )
    waiting = client.get("/api/referrals?status=waiting", headers=headers).json()
    person = next(
        r
        for r in waiting
        if not r["keep_together"]
        and not r["wants_female_worker"]
        and r["pathway"] != "housing_first"
        and team["area"] not in r["excluded_areas"]
    )
    changed = client.patch(
        f"/api/referrals/{person['id']}",
        json={"wants": "support_only", "home_area": team["area"]},
        headers=headers,
    )
    assert changed.status_code == 200, changed.text
    return person["id"], team, teams


def test_support_at_home_is_offered_started_counted_and_ended(service: Service) -> None:
    client, headers = service.client, service.as_role(C)
    person, team, _ = _asks_for_support(service)
    ranking = client.get(f"/api/referrals/{person}/rank", headers=headers).json()
    assert ranking["ranked"] == []
    options = {o["support_team"]: o for o in ranking["support_only"]}
    assert team["id"] in options
    assert "where the person lives" in options[team["id"]]["reasons"][0]

    made = client.post(
        "/api/support-placements",
        json={"referral": person, "support_team": team["id"], "lives_in": "family"},
        headers=headers,
    )
    assert made.status_code == 201, made.text
    placement = made.json()
    assert placement["area"] == team["area"] and placement["ended"] is None
    _, caseloads, statuses = _state(service)
    assert caseloads[team["id"]] == team["current_caseload"] + 1
    assert statuses[person] == "supported"
    listed = client.get(f"/api/support-placements?referral={person}", headers=headers).json()
    assert [p["id"] for p in listed] == [placement["id"]]
    again = client.post(
        "/api/support-placements",
        json={"referral": person, "support_team": team["id"], "lives_in": "own"},
        headers=headers,
    )
    assert again.status_code == 409 and "not waiting" in again.text

    too_early = client.post(
        f"/api/support-placements/{placement['id']}/end",
        json={"ended": "2000-01-01", "reason": "support_completed"},
        headers=headers,
    )
    assert too_early.status_code == 422 and "ended" in too_early.text
    ended = client.post(
        f"/api/support-placements/{placement['id']}/end",
        json={"ended": placement["started"], "reason": "moved_into_accommodation"},
        headers=headers,
    )
    assert ended.status_code == 200, ended.text
    assert ended.json()["end_reason"] == "moved_into_accommodation"
    _, caseloads, _ = _state(service)
    assert caseloads[team["id"]] == team["current_caseload"]
    assert client.get("/api/support-placements?open=true", headers=headers).json() == []


def test_a_team_outside_the_area_over_caseload_or_unknown_is_refused(service: Service) -> None:
    client, headers = service.client, service.as_role(C)
    person, team, teams = _asks_for_support(service)
    before = _state(service)

    unknown = client.post(
        "/api/support-placements",
        json={"referral": person, "support_team": "T-none", "lives_in": "own"},
        headers=headers,
    )
    assert unknown.status_code == 422 and "support_team" in unknown.text

    elsewhere = next((t for t in teams if t["area"] != team["area"]), None)
    if elsewhere is not None:
        outside = client.post(
            "/api/support-placements",
            json={"referral": person, "support_team": elsewhere["id"], "lives_in": "own"},
            headers=headers,
        )
        assert outside.status_code == 409
        assert f"the team works in area {elsewhere['area']}" in outside.text
        assert f"the person lives in area {team['area']}" in outside.text

    full = client.patch(
        f"/api/support-teams/{team['id']}",
        json={"caseload_capacity": team["current_caseload"]},
        headers=headers,
    )
    assert full.status_code == 200, full.text
    over = client.post(
        "/api/support-placements",
        json={"referral": person, "support_team": team["id"], "lives_in": "own"},
        headers=headers,
    )
    assert over.status_code == 409 and "its capacity is" in over.text
    assert _state(service) == before


def test_support_at_home_needs_the_persons_area(service: Service) -> None:
    client, headers = service.client, service.as_role(C)
    waiting = client.get("/api/referrals?status=waiting", headers=headers).json()
    team = client.get("/api/support-teams", headers=headers).json()[0]
    answer = client.post(
        "/api/support-placements",
        json={"referral": waiting[0]["id"], "support_team": team["id"], "lives_in": "own"},
        headers=headers,
    )
    assert answer.status_code == 422 and "home_area" in answer.text


def test_a_batch_run_proposes_support_at_home_and_offers_only_bed_spaces(
    service: Service,
) -> None:
    client, headers = service.client, service.as_role(C)
    person, team, _ = _asks_for_support(service)
    started = client.post(
        "/api/runs", json={"backend": "greedy", "time_limit_s": 5}, headers=headers
    )
    run = wait_for_run(service, started.json()["id"])
    assert run["status"] == "done", run["message"]
    mine = [r for r in run["results"] if r["referral"] == person]
    assert len(mine) == 1 and mine[0]["bedspace"] is None
    assert mine[0]["support_team"] is not None
    assert "Support at home with team" in mine[0]["reasons"][0]
    assert "support at home" in run["message"]
