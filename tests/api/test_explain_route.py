"""`GET /api/referrals/{id}/explain`: the CLI's answer, for coordinators and admins only."""

from __future__ import annotations

from api.security import Role
from tests.api.conftest import Service


def test_coordinators_get_the_explanation_and_every_person_named_is_audited(
    sqlite_service: Service,
) -> None:
    client, coordinator = sqlite_service.client, sqlite_service.as_role(Role.coordinator)
    waiting = client.get("/api/referrals?status=waiting&limit=30", headers=coordinator).json()
    assert waiting
    answers = []
    for referral in waiting:
        answer = client.get(f"/api/referrals/{referral['id']}/explain", headers=coordinator)
        assert answer.status_code == 200, answer.text
        answers.append(answer.json())
    for body in answers:
        assert body["placeable"] == (body["ranking"] is not None)
        for place in body["nearest"]:
            assert place["blocking"] and all(1 <= b["family"] <= 9 for b in place["blocking"])
    named = next(
        (b for b in answers for unit in b["competition"] for c in unit["contenders"]), None
    )
    if named is not None:
        other = named["competition"][0]["contenders"][0]["referral"]
        admin = sqlite_service.as_role(Role.admin)
        events = client.get(f"/api/audit?subject_id={other}", headers=admin).json()
        assert any(e["action"] == "read" and e["username"] == "coordinator" for e in events)


def test_an_unknown_referral_is_404_naming_it(sqlite_service: Service) -> None:
    client, coordinator = sqlite_service.client, sqlite_service.as_role(Role.coordinator)
    answer = client.get("/api/referrals/NOBODY-HERE/explain", headers=coordinator)
    assert answer.status_code == 404 and "NOBODY-HERE" in answer.text


def test_roles_without_personal_data_are_refused(sqlite_service: Service) -> None:
    client = sqlite_service.client
    referral = client.get(
        "/api/referrals?status=waiting&limit=1", headers=sqlite_service.as_role(Role.coordinator)
    ).json()[0]
    for role in (Role.housing_options, Role.commissioner):
        answer = client.get(
            f"/api/referrals/{referral['id']}/explain", headers=sqlite_service.as_role(role)
        )
        assert answer.status_code == 403, role
