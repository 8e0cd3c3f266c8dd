"""Who sees what: every route × every role, generated from the app's route table.

`RULES` says which roles may call each route. A route the app has and `RULES` lacks fails
`test_every_route_has_a_rule`, so a new endpoint cannot ship without deciding who may use it.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.routing import APIRoute
from sqlalchemy import select

from api.app import route_table
from api.orm import ResidentRow, UnitRow
from api.security import Role, create_token, decode_token
from tests.api.conftest import Service

C, H, M, A = Role.coordinator, Role.housing_options, Role.commissioner, Role.admin
EVERYONE = frozenset(Role)
STAFF = frozenset({C, A})
# Scenarios are the commissioner's (DESIGN.md's users): Housing Options checks what is free
# now, and coordinators place people; neither plans the portfolio. Admins can do everything.
PLANNERS = frozenset({M, A})
# Aggregates (outcomes) and the By Name List's counts are for those who commission and
# coordinate (LIFECYCLE.md): Housing Options sees no list and no outcomes.
AGGREGATES = frozenset({C, M, A})
PUBLIC = None  # no sign-in needed

RULES: dict[tuple[str, str], frozenset[Role] | None] = {
    ("POST", "/api/auth/token"): PUBLIC,
    ("GET", "/api/auth/me"): EVERYONE,
    ("POST", "/api/auth/logout"): EVERYONE,
    ("GET", "/api/areas"): EVERYONE,
    ("POST", "/api/areas"): STAFF,
    ("GET", "/api/links"): EVERYONE,
    ("POST", "/api/links"): STAFF,
    ("GET", "/api/units"): EVERYONE,
    ("POST", "/api/units"): STAFF,
    ("GET", "/api/units/{unit_id}"): EVERYONE,
    ("PUT", "/api/units/{unit_id}"): STAFF,
    ("PATCH", "/api/units/{unit_id}"): STAFF,
    ("DELETE", "/api/units/{unit_id}"): STAFF,
    ("GET", "/api/bedspaces"): EVERYONE,
    ("POST", "/api/bedspaces"): STAFF,
    ("GET", "/api/bedspaces/{bedspace_id}"): EVERYONE,
    ("PUT", "/api/bedspaces/{bedspace_id}"): STAFF,
    ("PATCH", "/api/bedspaces/{bedspace_id}"): STAFF,
    ("DELETE", "/api/bedspaces/{bedspace_id}"): STAFF,
    ("GET", "/api/support-teams"): EVERYONE,
    ("POST", "/api/support-teams"): STAFF,
    ("GET", "/api/support-teams/{team_id}"): EVERYONE,
    ("PUT", "/api/support-teams/{team_id}"): STAFF,
    ("PATCH", "/api/support-teams/{team_id}"): STAFF,
    ("DELETE", "/api/support-teams/{team_id}"): STAFF,
    ("GET", "/api/referrals"): STAFF,
    ("POST", "/api/referrals"): STAFF,
    ("GET", "/api/referrals/{referral_id}"): STAFF,
    ("PUT", "/api/referrals/{referral_id}"): STAFF,
    ("PATCH", "/api/referrals/{referral_id}"): STAFF,
    ("DELETE", "/api/referrals/{referral_id}"): STAFF,
    ("GET", "/api/referrals/{referral_id}/rank"): STAFF,
    ("GET", "/api/referrals/{referral_id}/explain"): STAFF,
    ("GET", "/api/residents"): STAFF,
    ("GET", "/api/residents/{resident_id}"): STAFF,
    ("POST", "/api/residents/{resident_id}/arrival"): STAFF,
    ("POST", "/api/residents/{resident_id}/move-out"): STAFF,
    ("POST", "/api/residents/{resident_id}/transfer"): STAFF,
    ("POST", "/api/placements/{placement_id}/undo"): STAFF,
    ("POST", "/api/placements"): STAFF,
    ("GET", "/api/placements"): STAFF,
    ("GET", "/api/overrides"): STAFF,
    ("GET", "/api/support-placements"): STAFF,
    ("POST", "/api/support-placements"): STAFF,
    ("POST", "/api/support-placements/{placement_id}/end"): STAFF,
    ("POST", "/api/runs"): STAFF,
    ("GET", "/api/runs"): STAFF,
    ("GET", "/api/runs/{run_id}"): STAFF,
    ("POST", "/api/runs/{run_id}/accept"): STAFF,
    ("POST", "/api/runs/{run_id}/floor"): STAFF,
    ("GET", "/api/vacancies"): EVERYONE,
    ("GET", "/api/vacancies/export"): EVERYONE,
    ("GET", "/api/move-outs"): frozenset({H, C, A}),
    ("GET", "/api/move-outs/export"): frozenset({H, C, A}),
    ("GET", "/api/stats"): EVERYONE,
    ("GET", "/api/users"): frozenset({A}),
    ("POST", "/api/users"): frozenset({A}),
    ("DELETE", "/api/users/{username}"): frozenset({A}),
    ("GET", "/api/audit"): frozenset({A}),
    ("POST", "/api/offers"): STAFF,
    ("GET", "/api/offers"): STAFF,
    ("GET", "/api/offers/{offer_id}"): STAFF,
    ("POST", "/api/offers/{offer_id}/accept"): STAFF,
    ("POST", "/api/offers/{offer_id}/decline"): STAFF,
    ("POST", "/api/offers/{offer_id}/withdraw"): STAFF,
    ("GET", "/api/settings/offer-days"): frozenset({A}),
    ("PUT", "/api/settings/offer-days"): frozenset({A}),
    ("GET", "/api/settings/nightly-move-outs"): frozenset({A}),
    ("GET", "/api/cache-stats"): frozenset({A}),
    ("PUT", "/api/settings/nightly-move-outs"): frozenset({A}),
    ("POST", "/api/import/{kind}"): STAFF,
    ("POST", "/api/scenarios"): PLANNERS,
    ("GET", "/api/scenarios"): PLANNERS,
    ("GET", "/api/scenarios/report"): PLANNERS,
    ("GET", "/api/scenarios/plots/{plot}"): PLANNERS,
    ("GET", "/api/scenarios/{scenario_id}"): PLANNERS,
    ("PATCH", "/api/scenarios/{scenario_id}"): PLANNERS,
    ("POST", "/api/scenarios/{scenario_id}/run"): PLANNERS,
    # Pages.
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): PUBLIC,
    ("POST", "/logout"): PUBLIC,
    ("GET", "/"): EVERYONE,
    ("GET", "/referrals"): STAFF,
    ("GET", "/referrals/{referral_id}"): STAFF,
    ("GET", "/referrals/new"): STAFF,
    ("POST", "/referrals/new"): STAFF,
    ("GET", "/referrals/{referral_id}/edit"): STAFF,
    ("POST", "/referrals/{referral_id}/edit"): STAFF,
    ("POST", "/referrals/{referral_id}/place"): STAFF,
    ("POST", "/referrals/{referral_id}/offer"): STAFF,
    ("POST", "/offers/{offer_id}/accept"): STAFF,
    ("POST", "/offers/{offer_id}/decline"): STAFF,
    ("POST", "/offers/{offer_id}/withdraw"): STAFF,
    ("GET", "/vacancies"): EVERYONE,
    ("GET", "/runs"): STAFF,
    ("POST", "/runs"): STAFF,
    ("GET", "/runs/{run_id}"): STAFF,
    ("GET", "/runs/{run_id}/progress"): STAFF,
    ("POST", "/runs/{run_id}/accept"): STAFF,
    ("POST", "/runs/{run_id}/floor"): STAFF,
    ("GET", "/stats"): EVERYONE,
    ("GET", "/stats/waiting.png"): EVERYONE,
    ("GET", "/audit"): frozenset({A}),
    ("GET", "/admin/settings"): frozenset({A}),
    ("POST", "/admin/settings/nightly-move-outs"): frozenset({A}),
    ("POST", "/admin/settings/offer-days"): frozenset({A}),
    ("GET", "/home/portfolio.png"): PLANNERS,
    ("GET", "/scenarios"): PLANNERS,
    ("POST", "/scenarios"): PLANNERS,
    ("GET", "/scenarios/compare"): PLANNERS,
    ("GET", "/scenarios/{scenario_id}"): PLANNERS,
    ("GET", "/scenarios/{scenario_id}/progress"): PLANNERS,
    ("POST", "/scenarios/{scenario_id}/plan"): PLANNERS,
    ("POST", "/scenarios/{scenario_id}/run"): PLANNERS,
    ("GET", "/admin/users"): frozenset({A}),
    ("POST", "/admin/users"): frozenset({A}),
    ("POST", "/admin/users/{username}/close"): frozenset({A}),
    ("GET", "/residents/{resident_id}"): STAFF,
    ("GET", "/arrivals-and-move-outs"): STAFF,
    ("POST", "/residents/{resident_id}/arrival"): STAFF,
    ("POST", "/residents/{resident_id}/move-out"): STAFF,
    ("POST", "/residents/{resident_id}/transfer"): STAFF,
    ("POST", "/placements/{placement_id}/undo"): STAFF,
    ("POST", "/referrals/{referral_id}/support"): STAFF,
    ("POST", "/support-placements/{placement_id}/end"): STAFF,
    ("GET", "/support-teams/{team_id}"): STAFF,
    ("GET", "/api/returns"): EVERYONE,
    ("GET", "/api/returns.{extension}"): EVERYONE,
    ("GET", "/returns"): EVERYONE,
    ("GET", "/returns/{figure}.png"): EVERYONE,
    ("GET", "/api/outcomes"): AGGREGATES,
    ("GET", "/api/outcomes.{extension}"): AGGREGATES,
    ("GET", "/outcomes"): AGGREGATES,
    ("GET", "/outcomes/{figure}.png"): AGGREGATES,
    ("GET", "/import"): STAFF,
    ("POST", "/import"): STAFF,
    ("POST", "/import/confirm"): STAFF,
    ("GET", "/import/template/{kind}.{extension}"): STAFF,
    ("GET", "/api/by-name-list"): AGGREGATES,
    ("POST", "/api/by-name-list"): STAFF,
    ("GET", "/api/by-name-list/{member_id}"): STAFF,
    ("POST", "/api/by-name-list/{member_id}/status"): STAFF,
    ("POST", "/api/by-name-list/{member_id}/contact"): STAFF,
    ("POST", "/api/by-name-list/{member_id}/leave"): STAFF,
    ("GET", "/api/settings/list-inactive-days"): frozenset({A}),
    ("PUT", "/api/settings/list-inactive-days"): frozenset({A}),
    ("GET", "/by-name-list"): AGGREGATES,
    ("POST", "/by-name-list"): STAFF,
    ("POST", "/by-name-list/{member_id}/contact"): STAFF,
    ("POST", "/by-name-list/{member_id}/leave"): STAFF,
    ("POST", "/admin/settings/list-inactive-days"): frozenset({A}),
}

UNDOCUMENTED = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/api/runs"): {"backend": "greedy", "time_limit_s": 1},
    ("PUT", "/api/settings/nightly-move-outs"): {"on": False},
    ("PUT", "/api/settings/offer-days"): {"days": 3},
    ("PUT", "/api/settings/list-inactive-days"): {"days": 90},
    ("POST", "/api/scenarios"): {"name": "access", "plan": {"horizon_days": 30, "replications": 2}},
}


def routes(service: Service) -> list[tuple[str, str]]:
    return [
        (method, path)
        for method, path, _ in route_table(service.client.app)  # type: ignore[arg-type]
        if path not in UNDOCUMENTED
    ]


def sample_ids(service: Service) -> dict[str, str]:
    factory = service.client.app.state.sessionmaker  # type: ignore[attr-defined]
    with factory() as session:
        resident = session.scalar(
            select(ResidentRow.id).where(ResidentRow.left_on.is_(None)).order_by(ResidentRow.id)
        )
    return {
        "unit_id": "U0001",
        "bedspace_id": "B00001",
        "team_id": "T001",
        "referral_id": "R00002",
        "resident_id": str(resident),
        "run_id": "1",
        "offer_id": "1",
        "kind": "units",
        "username": "nobody-here",
        "scenario_id": "1",
        "plot": "over_time",
        "extension": "csv",
        "placement_id": "1",
        "figure": "waiting",
        "member_id": "1",
    }


def call(service: Service, method: str, path: str, headers: dict[str, str]) -> Any:
    url = path.format(**sample_ids(service))
    if (method, path) == ("POST", "/api/auth/logout") and "Authorization" in headers:
        # Signing out revokes the token it is given: sign out a token of its own.
        user = decode_token(service.settings, headers["Authorization"].split()[1])
        assert user is not None
        headers = {"Authorization": f"Bearer {create_token(service.settings, user)}"}
    body = BODIES.get((method, path), {})
    kwargs: dict[str, Any] = {"headers": headers, "follow_redirects": False}
    if method in ("POST", "PUT", "PATCH"):
        kwargs["json"] = body
    return service.client.request(method, url, **kwargs)


def test_every_route_has_a_rule(sqlite_service: Service) -> None:
    missing = [r for r in routes(sqlite_service) if r not in RULES]
    assert not missing, f"routes without an access rule: {missing}"
    stale = [r for r in RULES if r not in routes(sqlite_service)]
    assert not stale, f"rules for routes that do not exist: {stale}"


def test_each_role_is_let_through_or_refused_as_its_rule_says(sqlite_service: Service) -> None:
    service = sqlite_service
    checked = 0
    for method, path in routes(service):
        allowed = RULES[(method, path)]
        is_page = not path.startswith("/api")
        anonymous = call(service, method, path, {})
        if allowed is PUBLIC:  # sign-in routes: refuse bad credentials, never crash
            assert anonymous.status_code < 500, (method, path)
            continue
        if is_page:
            assert anonymous.status_code == 303, (method, path, anonymous.status_code)
            assert anonymous.headers["location"].startswith("/login")
        else:
            assert anonymous.status_code == 401, (method, path, anonymous.status_code)
        for role in Role:
            headers = service.as_role(role)
            if is_page:
                headers = {"Cookie": "bedmatch_token=" + headers["Authorization"].split()[1]}
            response = call(service, method, path, headers)
            if role in allowed:
                assert response.status_code not in (401, 403), (method, path, role, response.text)
                assert response.status_code < 500, (method, path, role, response.text)
            else:
                assert response.status_code == 403, (method, path, role, response.status_code)
            checked += 1
    assert checked >= 4 * 40


PERSON_ID = re.compile(r"\b[RP]\d{5}\b")


def confidential_units(service: Service) -> list[UnitRow]:
    factory = service.client.app.state.sessionmaker  # type: ignore[attr-defined]
    with factory() as session:
        return list(session.scalars(select(UnitRow).where(UnitRow.confidential_address)))


@pytest.mark.parametrize("role", [H, M])
def test_roles_without_personal_data_see_no_person_and_no_refuge_address(
    sqlite_service: Service, role: Role
) -> None:
    service = sqlite_service
    refuges = confidential_units(service)
    assert refuges, "the demo portfolio should include a refuge"
    for method, path in routes(service):
        allowed = RULES[(method, path)]
        if method != "GET" or allowed is PUBLIC or role not in allowed or "{" in path:
            continue
        headers = service.as_role(role)
        if not path.startswith("/api"):
            headers = {"Cookie": "bedmatch_token=" + headers["Authorization"].split()[1]}
        response = call(service, method, path, headers)
        assert response.status_code == 200, (path, response.text)
        text = response.text
        assert not PERSON_ID.search(text), (path, PERSON_ID.search(text))
        for refuge in refuges:
            assert refuge.address and refuge.address not in text, path
            assert refuge.name not in text, path
    units = service.client.get("/api/units", headers=service.as_role(role)).json()
    for unit in units:
        if unit["confidential_address"]:
            assert unit["area"] is None and unit["address"] is None
    board = service.client.get("/api/vacancies", headers=service.as_role(role)).json()
    hidden = {r.id for r in refuges}
    for unit in board["units"]:
        if unit["unit"] in hidden:
            assert unit["area"] is None and unit["address"] is None


def test_coordinators_see_the_refuge_address(sqlite_service: Service) -> None:
    refuge = confidential_units(sqlite_service)[0]
    response = sqlite_service.client.get(
        f"/api/units/{refuge.id}", headers=sqlite_service.as_role(C)
    )
    assert response.json()["address"] == refuge.address
    assert response.json()["area"] == refuge.area


def test_pages_stay_out_of_the_api_schema(sqlite_service: Service) -> None:
    for _, path, route in route_table(sqlite_service.client.app):  # type: ignore[arg-type]
        if isinstance(route, APIRoute):
            assert path.startswith("/api") or not route.include_in_schema, path
