"""A person, not a row: names and case references, shown to coordinators and admins only,
found by search with filters and paging; documents and databases without them still load."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.db import make_engine
from api.migrations import downgrade, upgrade
from api.orm import ReferralRow
from api.security import Role
from matcher.model import Problem, Referral
from tests.api.conftest import Service


def first_waiting(service: Service) -> dict[str, object]:
    answer = service.client.get(
        "/api/referrals?status=waiting&limit=1", headers=service.as_role(Role.coordinator)
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json()[0])


def test_the_demo_people_have_names_and_case_references(sqlite_service: Service) -> None:
    person = first_waiting(sqlite_service)
    assert isinstance(person["name"], str) and " " in person["name"]
    assert str(person["case_reference"]).startswith("SPA-2026-")


@pytest.mark.parametrize("field", ["name", "case_reference", "id"])
def test_search_finds_a_person_by_name_reference_or_id(sqlite_service: Service, field: str) -> None:
    person = first_waiting(sqlite_service)
    needle = str(person[field])[2:7].lower()
    answer = sqlite_service.client.get(
        "/api/referrals", params={"q": needle}, headers=sqlite_service.as_role(Role.coordinator)
    )
    assert answer.status_code == 200
    ids = [r["id"] for r in answer.json()]
    assert person["id"] in ids
    assert int(answer.headers["X-Total-Count"]) == len(ids)
    for found in answer.json():
        assert any(needle in str(found[f] or "").lower() for f in ("name", "case_reference", "id"))


def test_search_filters_and_pages(sqlite_service: Service) -> None:
    headers = sqlite_service.as_role(Role.coordinator)
    urgent = sqlite_service.client.get(
        "/api/referrals", params={"min_priority": 4, "status": "waiting"}, headers=headers
    ).json()
    assert urgent and all(r["priority"] >= 4 and r["status"] == "waiting" for r in urgent)
    flagged = sqlite_service.client.get(
        "/api/referrals", params={"flag": "substance_use"}, headers=headers
    ).json()
    assert all("substance_use" in r["flags"] for r in flagged)
    page = sqlite_service.client.get(
        "/api/referrals", params={"limit": 5, "offset": 5}, headers=headers
    )
    whole = sqlite_service.client.get("/api/referrals", params={"limit": 10}, headers=headers)
    assert [r["id"] for r in page.json()] == [r["id"] for r in whole.json()][5:10]
    assert int(page.headers["X-Total-Count"]) >= 10
    bad = sqlite_service.client.get("/api/referrals", params={"flag": "nope"}, headers=headers)
    assert bad.status_code == 422 and "flag" in bad.text


@pytest.mark.parametrize("role", [Role.housing_options, Role.commissioner])
def test_roles_that_may_not_see_people_get_no_names(sqlite_service: Service, role: Role) -> None:
    person = first_waiting(sqlite_service)
    headers = sqlite_service.as_role(role)
    for path in ("/api/referrals", f"/api/referrals/{person['id']}", "/referrals"):
        answer = sqlite_service.client.get(path, headers=headers)
        assert answer.status_code == 403
        assert str(person["name"]) not in answer.text
    for path in ("/api/vacancies", "/api/vacancies/export?format=csv"):
        answer = sqlite_service.client.get(path, headers=headers)
        assert str(person["name"]) not in answer.text


def test_admins_see_names(sqlite_service: Service) -> None:
    person = first_waiting(sqlite_service)
    answer = sqlite_service.client.get(
        f"/api/referrals/{person['id']}", headers=sqlite_service.as_role(Role.admin)
    )
    assert answer.json()["name"] == person["name"]
    page = sqlite_service.client.get(
        f"/referrals/{person['id']}", headers=sqlite_service.as_role(Role.admin)
    )
    assert str(person["name"]) in page.text and str(person["case_reference"]) in page.text


def test_a_referral_is_created_and_renamed_with_its_name(sqlite_service: Service) -> None:
    headers = sqlite_service.as_role(Role.coordinator)
    body = {"id": "RN1", "referred": "2026-11-01", "age": 30, "gender": "woman", "risk": "low"}
    created = sqlite_service.client.post(
        "/api/referrals",
        json={**body, "name": "Jo Bloggs", "case_reference": "X-1"},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    renamed = sqlite_service.client.patch(
        "/api/referrals/RN1", json={"name": "Joanna Bloggs"}, headers=headers
    )
    assert renamed.json()["name"] == "Joanna Bloggs"
    assert renamed.json()["case_reference"] == "X-1"
    bad = sqlite_service.client.patch(
        "/api/referrals/RN1", json={"name": "a\x00b"}, headers=headers
    )
    assert bad.status_code == 422 and "name" in bad.text


def test_documents_without_names_still_load() -> None:
    referral = Referral.model_validate(
        {"id": "R1", "referred": "2026-01-01", "age": 20, "gender": "man", "risk": "low"}
    )
    assert referral.name is None and referral.case_reference is None
    assert Problem.model_validate({"as_of": "2026-02-01", "referrals": [referral.model_dump()]})


def test_a_database_from_before_names_upgrades_and_downgrades(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine, "0004")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO referrals (id, referred, age, gender, needs_women_only, "
                "wants_female_worker, household_size, risk, flags, support_hours, needs_24_7, "
                "needs_accessible, pathway, preferred_areas, excluded_areas, strengths, "
                "keep_apart, keep_together, priority, status) VALUES ('R1', '2026-01-01', 20, "
                "'man', 0, 0, 1, 'low', '[]', 0, 0, 0, 'recovery', '[]', '[]', '[]', '[]', "
                "'[]', 3, 'waiting')"
            )
        )
    upgrade(engine)
    with Session(engine) as session:
        row = session.get(ReferralRow, "R1")
        assert row is not None
        loaded = Referral.model_validate(row, from_attributes=True)
    assert loaded.name is None and loaded.priority == 3
    downgrade(engine, "0004")
    upgrade(engine)
    engine.dispose()


def test_an_import_carries_names_references_and_referral_times(sqlite_service: Service) -> None:
    header = "id,referred,age,gender,risk,name,case_reference\n"
    rows = "IM1,2026-12-01T08:30,30,woman,low,Ann Example,SPA-9-1\nIM2,2026-12-02,40,man,low,,\n"
    headers = sqlite_service.as_role(Role.coordinator)
    answer = sqlite_service.client.post(
        "/api/import/referrals",
        files={"file": ("people.csv", (header + rows).encode())},
        headers=headers,
    )
    assert answer.status_code == 200, answer.text
    one = sqlite_service.client.get("/api/referrals/IM1", headers=headers).json()
    assert (one["name"], one["case_reference"]) == ("Ann Example", "SPA-9-1")
    assert one["referred_at"].startswith("2026-12-01T08:30")
    two = sqlite_service.client.get("/api/referrals/IM2", headers=headers).json()
    assert "name" not in two and "referred_at" not in two
