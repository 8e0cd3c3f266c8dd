"""The facts the rules stand on change only when someone says so: a partial update, an
import of a few columns or a PUT never resets a field it leaves out, a person's risk is never
assumed, a unit's kind holds its gender policy, and every weakening is audited."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from api.orm import AuditEventRow
from api.security import Role
from tests.api.conftest import Service
from tests.api.helpers import factory, people_named

C = Role.coordinator
H = Role.housing_options


def get(service: Service, path: str, role: Role = C) -> Any:
    response = service.client.get(path, headers=service.as_role(role))
    assert response.status_code == 200, response.text
    return response.json()


def upload(service: Service, kind: str, csv: str, preview: bool = False) -> Any:
    return service.client.post(
        f"/api/import/{kind}" + ("?preview=true" if preview else ""),
        files={"file": (f"{kind}.csv", csv.encode())},
        headers=service.as_role(C),
    )


def a_refuge(service: Service) -> dict[str, Any]:
    return next(u for u in get(service, "/api/units") if u["kind"] == "refuge")


def a_waiting_da_victim(service: Service) -> dict[str, Any]:
    waiting = get(service, "/api/referrals?status=waiting&limit=1000")
    return next(r for r in waiting if "da_victim" in r["flags"] and r["needs_women_only"])


def audit_events(service: Service, subject_id: str) -> list[AuditEventRow]:
    with factory(service.client)() as session:
        query = select(AuditEventRow).where(AuditEventRow.subject_id == subject_id)
        return list(session.scalars(query.order_by(AuditEventRow.id)))


# --- a partial import keeps what it does not name ---------------------------------------


def test_a_units_import_of_a_few_columns_keeps_a_refuges_safety(service: Service) -> None:
    refuge = a_refuge(service)
    assert refuge["address"] and refuge["gender_policy"] == "women_only"
    csv = f"id,name,area,kind\n{refuge['id']},Renamed refuge,{refuge['area']},refuge\n"
    response = upload(service, "units", csv)
    assert response.status_code == 200, response.text
    after = get(service, f"/api/units/{refuge['id']}")
    assert after == {**refuge, "name": "Renamed refuge"}
    # Housing Options still sees neither its name nor its area.
    seen = get(service, f"/api/units/{refuge['id']}", H)
    assert seen["area"] is None and seen["address"] is None
    assert seen["name"] != "Renamed refuge"


def test_a_referrals_import_of_a_few_columns_keeps_a_victims_needs(service: Service) -> None:
    victim = a_waiting_da_victim(service)
    csv = f"id,referred,age,gender\n{victim['id']},{victim['referred']},{victim['age'] + 1},woman\n"
    response = upload(service, "referrals", csv)
    assert response.status_code == 200, response.text
    after = get(service, f"/api/referrals/{victim['id']}")
    assert after == {**victim, "age": victim["age"] + 1}


def test_an_import_preview_shows_each_change_and_stores_nothing(service: Service) -> None:
    victim = a_waiting_da_victim(service)
    csv = f"id,needs_women_only,flags\n{victim['id']},no,-\n"
    response = upload(service, "referrals", csv, preview=True)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["preview"] is True and answer["updated"] == 1
    (record,) = answer["records"]
    assert record["fields"]["needs_women_only"] == [True, False]
    assert record["fields"]["flags"][1] == []
    assert sorted(record["weakens"]) == ["flags", "needs_women_only"]
    assert get(service, f"/api/referrals/{victim['id']}") == victim
    assert not [e for e in audit_events(service, victim["id"]) if e.action != "read"]


def test_an_explicit_weakening_by_import_is_stored_and_audited(service: Service) -> None:
    victim = a_waiting_da_victim(service)
    response = upload(service, "referrals", f"id,needs_women_only\n{victim['id']},no\n")
    assert response.status_code == 200, response.text
    assert get(service, f"/api/referrals/{victim['id']}")["needs_women_only"] is False
    events = audit_events(service, victim["id"])
    weakened = [e.detail for e in events if e.action == "weaken"]
    assert weakened == ["needs_women_only: True -> False"]
    assert any(e.action == "import" for e in audit_events(service, "referrals:1"))


def test_an_import_creating_a_referral_must_give_its_risk(service: Service) -> None:
    csv = "id,referred,age,gender\nNEW1,2026-11-01,30,man\n"
    response = upload(service, "referrals", csv)
    assert response.status_code == 422
    assert [d["loc"] for d in response.json()["detail"]] == [["rows", 2, "risk"]]


# --- PUT and PATCH ----------------------------------------------------------------------


def test_a_put_leaving_fields_out_is_refused_and_changes_nothing(service: Service) -> None:
    refuge = a_refuge(service)
    body = {"id": refuge["id"], "name": "X", "area": refuge["area"], "kind": "refuge"}
    response = service.client.put(
        f"/api/units/{refuge['id']}", json=body, headers=service.as_role(C)
    )
    assert response.status_code == 422
    missing = {d["loc"][-1] for d in response.json()["detail"]}
    assert {"gender_policy", "confidential_address", "address", "staffing"} <= missing
    assert get(service, f"/api/units/{refuge['id']}") == refuge


def test_a_put_naming_every_field_replaces_the_record(service: Service) -> None:
    refuge = a_refuge(service)
    response = service.client.put(
        f"/api/units/{refuge['id']}",
        json={**refuge, "name": "Safe House"},
        headers=service.as_role(C),
    )
    assert response.status_code == 200, response.text
    assert get(service, f"/api/units/{refuge['id']}") == {**refuge, "name": "Safe House"}


def test_a_patch_changes_only_what_it_names(service: Service) -> None:
    victim = a_waiting_da_victim(service)
    response = service.client.patch(
        f"/api/referrals/{victim['id']}", json={"support_hours": 7}, headers=service.as_role(C)
    )
    assert response.status_code == 200, response.text
    assert get(service, f"/api/referrals/{victim['id']}") == {**victim, "support_hours": 7}


def test_a_patch_of_an_unknown_or_invalid_field_names_it(service: Service) -> None:
    refuge = a_refuge(service)
    for body, field in (({"colour": "red"}, "colour"), ({"max_age": "old"}, "max_age")):
        response = service.client.patch(
            f"/api/units/{refuge['id']}", json=body, headers=service.as_role(C)
        )
        assert response.status_code == 422, response.text
        assert response.json()["detail"][0]["loc"][-1] == field
    assert get(service, f"/api/units/{refuge['id']}") == refuge


def test_weakening_a_units_gender_policy_is_audited_with_old_and_new(service: Service) -> None:
    headers = service.as_role(C)
    area = get(service, "/api/areas")[0]["id"]
    unit = {"id": "UM1", "area": area, "kind": "adult_mixed", "gender_policy": "men_only"}
    assert service.client.post("/api/units", json=unit, headers=headers).status_code == 201
    response = service.client.patch(
        "/api/units/UM1", json={"gender_policy": "mixed"}, headers=headers
    )
    assert response.status_code == 200, response.text
    events = [(e.action, e.detail) for e in audit_events(service, "UM1")]
    assert events[0][0] == "create" and "gender_policy: men_only" in events[0][1]
    assert events[1:] == [
        ("update", "gender_policy: men_only -> mixed"),
        ("weaken", "gender_policy: men_only -> mixed"),
    ]


def test_a_referral_created_without_a_risk_is_refused(service: Service) -> None:
    body = {"id": "NEW2", "referred": "2026-11-01", "age": 30, "gender": "man"}
    response = service.client.post("/api/referrals", json=body, headers=service.as_role(C))
    assert response.status_code == 422
    assert [d["loc"] for d in response.json()["detail"]] == [["body", "risk"]]
    response = service.client.post(
        "/api/referrals", json={**body, "risk": "medium"}, headers=service.as_role(C)
    )
    assert response.status_code == 201, response.text
    assert get(service, "/api/referrals/NEW2")["risk"] == "medium"


# --- a unit's kind holds its policy ---------------------------------------------------


def test_a_units_kind_and_gender_policy_cannot_contradict(service: Service) -> None:
    refuge = a_refuge(service)
    for change in (
        {"gender_policy": "mixed"},
        {"confidential_address": False},
        {"kind": "women_only", "gender_policy": "men_only"},
    ):
        response = service.client.patch(
            f"/api/units/{refuge['id']}", json=change, headers=service.as_role(C)
        )
        assert response.status_code == 422, (change, response.text)
    assert get(service, f"/api/units/{refuge['id']}") == refuge


# --- inventory edits are audited --------------------------------------------------------


def test_inventory_edits_are_audited_with_old_and_new_values(service: Service) -> None:
    headers = service.as_role(C)
    bed = get(service, "/api/bedspaces?limit=1")[0]
    response = service.client.patch(
        f"/api/bedspaces/{bed['id']}", json={"accessible": not bed["accessible"]}, headers=headers
    )
    assert response.status_code == 200, response.text
    team = get(service, "/api/support-teams")[0]
    response = service.client.patch(
        f"/api/support-teams/{team['id']}",
        json={"caseload_capacity": team["caseload_capacity"] + 2},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    response = service.client.post("/api/areas", json={"id": "AX", "name": "X"}, headers=headers)
    assert response.status_code == 201, response.text
    response = service.client.post(
        "/api/links", json={"a": "AX", "b": bed_area(service, bed), "minutes": 9}, headers=headers
    )
    assert response.status_code == 201, response.text
    assert [(e.action, e.detail) for e in audit_events(service, bed["id"])] == [
        ("update", f"accessible: {bed['accessible']} -> {not bed['accessible']}")
    ]
    capacity = f"caseload_capacity: {team['caseload_capacity']} -> {team['caseload_capacity'] + 2}"
    assert [(e.action, e.detail) for e in audit_events(service, team["id"])] == [
        ("update", capacity),
        ("weaken", capacity),
    ]
    assert [e.action for e in audit_events(service, "AX")] == ["create"]
    assert [e.action for e in audit_events(service, f"AX-{bed_area(service, bed)}")] == ["create"]


def bed_area(service: Service, bed: dict[str, Any]) -> str:
    return str(get(service, f"/api/units/{bed['unit']}")["area"])


# --- a ranking answer audits everyone it names ------------------------------------------


def test_a_ranking_answer_audits_every_person_it_names(sqlite_service: Service) -> None:
    service = sqlite_service
    waiting = get(service, "/api/referrals?status=waiting&limit=1000")
    for referral in waiting:
        path = f"/api/referrals/{referral['id']}/rank?top=10"
        others = people_named(get(service, path)) - {referral["id"]}
        if others:
            break
    else:
        raise AssertionError("no ranking in the demo names another person")
    with factory(service.client)() as session:
        last = session.scalar(select(func.max(AuditEventRow.id)))
    assert people_named(get(service, path)) - {referral["id"]} == others
    for person in others:
        reads = [e for e in audit_events(service, person) if e.action == "read" and e.id > last]
        assert reads, f"{person} was named in {referral['id']}'s ranking but not audited"


def test_a_dash_empties_a_field_on_purpose_and_nothing_else(service: Service) -> None:
    bed = next(b for b in get(service, "/api/bedspaces?limit=1000") if b["cluster"])
    response = upload(service, "bedspaces", f"id,cluster,accessible\n{bed['id']},-,\n")
    assert response.status_code == 200, response.text
    assert get(service, f"/api/bedspaces/{bed['id']}") == {**bed, "cluster": ""}
    events = [(e.action, e.detail) for e in audit_events(service, bed["id"])]
    assert ("weaken", f"cluster: {bed['cluster']} -> ") in events
    response = upload(service, "bedspaces", f"id,unit\n{bed['id']},-\n")
    assert response.status_code == 422
    assert [d["loc"] for d in response.json()["detail"]] == [["rows", 2, "unit"]]
