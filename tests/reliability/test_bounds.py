"""Numbers beyond what the database holds are refused with a 422 naming the parameter (the
schema fuzzer first found these as 500s: SQLite cannot bind an integer past 64 bits)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from api.security import Role
from tests.api.conftest import Service, start_service

HUGE = "99999999999999999999999"


@pytest.fixture
def service(sqlite_url: str) -> Iterator[Service]:
    yield from start_service(sqlite_url)


@pytest.mark.parametrize(
    ("url", "field"),
    [
        (f"/api/units?offset={HUGE}", "offset"),
        (f"/api/bedspaces?offset={HUGE}", "offset"),
        (f"/api/referrals?offset={HUGE}", "offset"),
        (f"/api/residents?offset={HUGE}", "offset"),
        (f"/api/placements?offset={HUGE}", "offset"),
        (f"/api/overrides?offset={HUGE}", "offset"),
        (f"/api/runs/{HUGE}", "run_id"),
        (f"/api/runs/-{HUGE}", "run_id"),
        (f"/runs/{HUGE}", "run_id"),
        (f"/runs/{HUGE}/progress", "run_id"),
    ],
)
def test_out_of_range_numbers_are_a_422_naming_the_parameter(
    service: Service, url: str, field: str
) -> None:
    headers = service.as_role(Role.admin)
    if not url.startswith("/api"):
        headers = {"Cookie": "bedmatch_token=" + headers["Authorization"].split()[1]}
    response = service.client.get(url, headers=headers)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"][-1] == field


def test_accepting_a_run_out_of_range_is_a_422(service: Service) -> None:
    response = service.client.post(
        f"/api/runs/{HUGE}/accept", json={}, headers=service.as_role(Role.coordinator)
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["path", "run_id"]


# --- values in bodies and paths, on both databases -----------------------------------------
# Each of these gave a 500 (SQLite cannot bind past 64 bits; PostgreSQL refuses past 32
# bits, past a column's length and NUL in text) or was stored and then could not be reached
# by its URL. The models now refuse them, so the database never sees them.

REFERRAL = {"id": "RX1", "referred": "2026-11-01", "age": 30, "gender": "man", "risk": "low"}
TEAM = {"id": "TX1", "kind": "navigator", "area": "A01", "caseload_capacity": 5}
UNIT = {"id": "UX1", "name": "New hostel", "area": "A01", "kind": "adult_mixed"}
BEDSPACE = {"id": "BX1", "unit": "U0001"}
ODD_IDS = {
    "too long": "R" * 65,
    "NUL": "R\x001",
    "slash": "R/1",
    "line feed": "R\n1",
    "escape": "R\x1b[31m",
    "DEL": "R\x7f",
    "space": "R 1",
}


@pytest.fixture
def on_both(database_url: str) -> Iterator[Service]:
    yield from start_service(database_url)


def refused(response: Any, *loc: str | int) -> None:
    assert response.status_code == 422, response.text
    locs = [tuple(d["loc"]) for d in response.json()["detail"]]
    assert tuple(loc) in locs, locs


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        ("/api/referrals", {**REFERRAL, "age": 2**63}, "age"),
        ("/api/referrals", {**REFERRAL, "age": 2**31}, "age"),
        ("/api/referrals", {**REFERRAL, "household_size": 2**31}, "household_size"),
        ("/api/referrals", {**REFERRAL, "priority": 2**70}, "priority"),
        ("/api/support-teams", {**TEAM, "caseload_capacity": 2**70}, "caseload_capacity"),
        ("/api/support-teams", {**TEAM, "female_workers": 2**31}, "female_workers"),
        ("/api/units", {**UNIT, "max_high_risk_residents": 2**31}, "max_high_risk_residents"),
        ("/api/units", {**UNIT, "min_age": -(2**63) - 1}, "min_age"),
        ("/api/units", {**UNIT, "name": "N" * 201}, "name"),
        ("/api/units", {**UNIT, "name": "Hostel\x00"}, "name"),
        ("/api/units", {**UNIT, "address": "A" * 401}, "address"),
        ("/api/units", {**UNIT, "area": "A" * 65}, "area"),
        ("/api/areas", {"id": "AX1", "name": "N" * 201}, "name"),
        ("/api/bedspaces", {**BEDSPACE, "cluster": "C" * 65}, "cluster"),
        ("/api/bedspaces", {**BEDSPACE, "unit": "U\x000001"}, "unit"),
        ("/api/links", {"a": "A01", "b": "A" * 65, "minutes": 5}, "b"),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_out_of_range_values_are_a_422_naming_the_field_not_a_500(
    on_both: Service, url: str, body: dict[str, Any], field: str
) -> None:
    response = on_both.client.post(url, json=body, headers=on_both.as_role(Role.coordinator))
    refused(response, "body", field)


@pytest.mark.parametrize("url", ["/api/referrals", "/api/units", "/api/bedspaces", "/api/areas"])
@pytest.mark.parametrize("odd", ODD_IDS.values(), ids=list(ODD_IDS))
def test_odd_ids_are_refused_when_created(on_both: Service, url: str, odd: str) -> None:
    body = {
        "/api/referrals": REFERRAL,
        "/api/units": UNIT,
        "/api/bedspaces": BEDSPACE,
        "/api/areas": {"id": "AX1"},
    }[url]
    coordinator = on_both.as_role(Role.coordinator)
    refused(on_both.client.post(url, json={**body, "id": odd}, headers=coordinator), "body", "id")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"referral": "R\x00", "bedspace": "B00001"}, "referral"),
        ({"referral": "R00001", "bedspace": "B" * 65}, "bedspace"),
        ({"referral": "R00001", "bedspace": "B00001", "support_team": "T/1"}, "support_team"),
        ({"referral": "R00001", "bedspace": "B00001", "reason": "why\x00"}, "reason"),
    ],
)
def test_a_placement_naming_odd_ids_is_a_422(
    on_both: Service, body: dict[str, Any], field: str
) -> None:
    response = on_both.client.post(
        "/api/placements", json=body, headers=on_both.as_role(Role.coordinator)
    )
    refused(response, "body", field)


@pytest.mark.parametrize(
    ("method", "url", "field"),
    [
        ("GET", "/api/units/" + "U" * 65, "unit_id"),
        ("GET", "/api/units/U%00", "unit_id"),
        ("PUT", "/api/units/U%00", "unit_id"),
        ("DELETE", "/api/units/U%1B", "unit_id"),
        ("GET", "/api/bedspaces/B%00", "bedspace_id"),
        ("GET", "/api/support-teams/" + "T" * 65, "team_id"),
        ("GET", "/api/referrals/R%00", "referral_id"),
        ("GET", "/api/referrals/R%00/rank", "referral_id"),
        ("DELETE", "/api/referrals/" + "R" * 1000, "referral_id"),
        ("GET", "/api/residents/P%00", "resident_id"),
        ("POST", "/api/residents/P%00/move-out", "resident_id"),
        ("DELETE", "/api/users/x%00", "username"),
        ("GET", "/api/bedspaces?unit=U%00", "unit"),
        ("GET", "/api/audit?subject_id=R%00", "subject_id"),
        ("GET", "/api/audit?username=" + "u" * 65, "username"),
    ],
)
def test_odd_ids_in_urls_are_a_422_never_a_500(
    on_both: Service, method: str, url: str, field: str
) -> None:
    body = {"on": "2026-11-23"} if method == "POST" else UNIT if method == "PUT" else None
    response = on_both.client.request(method, url, json=body, headers=on_both.as_role(Role.admin))
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"][-1] == field


def test_an_id_with_a_slash_in_a_url_is_not_found(on_both: Service) -> None:
    response = on_both.client.get("/api/units/U%2F1", headers=on_both.as_role(Role.admin))
    assert response.status_code == 404


def test_a_10_mb_id_is_refused_by_the_model_and_by_the_body_limit(sqlite_url: str) -> None:
    body = {**REFERRAL, "id": "R" * 10_000_000}
    # With room for the body, the model refuses the id itself; nothing reaches the audit trail.
    for service in start_service(sqlite_url, max_body_bytes=64 * 1024 * 1024):
        coordinator = service.as_role(Role.coordinator)
        refused(service.client.post("/api/referrals", json=body, headers=coordinator), "body", "id")
        assert service.client.get("/api/referrals", headers=coordinator).status_code == 200
        assert service.client.get("/api/audit", headers=service.as_role(Role.admin)).json()
    # As configured by default, the body is refused before it is read.
    for service in start_service(sqlite_url):
        response = service.client.post(
            "/api/referrals", json=body, headers=service.as_role(Role.coordinator)
        )
        assert response.status_code == 413, response.text
        assert "larger than the limit" in response.json()["detail"]


def test_a_million_strengths_are_refused(sqlite_url: str) -> None:
    body = {**REFERRAL, "strengths": ["art"] * 1_000_000}
    for service in start_service(sqlite_url, max_body_bytes=64 * 1024 * 1024):
        response = service.client.post(
            "/api/referrals", json=body, headers=service.as_role(Role.coordinator)
        )
        refused(response, "body", "strengths")
        stored = service.client.get("/api/referrals/RX1", headers=service.as_role(Role.admin))
        assert stored.status_code == 404
