"""Numbers beyond what the database holds are refused with a 422 naming the parameter (the
schema fuzzer first found these as 500s: SQLite cannot bind an integer past 64 bits)."""

from __future__ import annotations

from collections.abc import Iterator

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
