"""The By Name List through the API: adding people, statuses that follow placements,
move-outs and referrals, contact and inactivity, refusals that change nothing, the "no safe
option" flag with the rule families that block, and who sees what."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from api.orm import AuditEventRow, BedSpaceRow, ListHistoryRow, ListMemberRow, UnitRow
from api.security import Role
from api.services.list_status import ListEvent, replay
from tests.api.conftest import Service
from tests.api.helpers import factory

C, H, M, A = Role.coordinator, Role.housing_options, Role.commissioner, Role.admin
LIST = "/api/by-name-list"


def _fresh_person(service: Service, case_reference: str, **changes: Any) -> dict[str, Any]:
    """A new waiting referral with its own case reference, with the needs of a demo referral
    that has a safe bed-space (so it can be placed), changed as asked."""
    client, headers = service.client, service.as_role(C)
    waiting = client.get("/api/referrals?status=waiting&limit=200", headers=headers).json()
    for referral in waiting:
        if referral["keep_together"] or referral["keep_apart"]:
            continue
        ranked = client.get(f"/api/referrals/{referral['id']}/rank", headers=headers).json()
        if not ranked["ranked"] or ranked["ranked"][0]["partners"]:
            continue
        body = {k: v for k, v in referral.items() if k != "status"}
        body.update(
            id=f"X{case_reference[-6:]}",
            case_reference=case_reference,
            name=f"Test {case_reference}",
            **changes,
        )
        made = client.post("/api/referrals", json=body, headers=headers)
        assert made.status_code == 201, made.text
        return dict(made.json())
    pytest.fail("no waiting referral with a safe place in the demo")


def _add(service: Service, case_reference: str, cohort: str = "priority") -> int:
    added = service.client.post(
        LIST,
        json={"case_reference": case_reference, "cohort": cohort},
        headers=service.as_role(C),
    )
    assert added.status_code == 201, added.text
    return int(added.json()["id"])


def _entry(service: Service, member_id: int) -> dict[str, Any]:
    people = service.client.get(LIST, headers=service.as_role(C)).json()["people"]
    return next(p for p in people if p["id"] == member_id)


def _history(service: Service, member_id: int) -> dict[str, Any]:
    answer = service.client.get(f"{LIST}/{member_id}", headers=service.as_role(C))
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def _replays(service: Service, member_id: int) -> None:
    listing = _history(service, member_id)
    events = [ListEvent(h["event"]) for h in listing["history"] if h["event"] != "left"]
    assert replay(events).value == listing["status"]


def _place(service: Service, referral_id: str) -> str:
    client, headers = service.client, service.as_role(C)
    ranked = client.get(f"/api/referrals/{referral_id}/rank", headers=headers).json()
    bedspace = ranked["ranked"][0]["bedspace"]
    placed = client.post(
        "/api/placements", json={"referral": referral_id, "bedspace": bedspace}, headers=headers
    )
    assert placed.status_code == 201, placed.text
    return str(bedspace)


def _steps(service: Service) -> tuple[int, int]:
    with factory(service.client)() as session:
        members = session.scalar(select(func.count()).select_from(ListMemberRow))
        steps = session.scalar(select(func.count()).select_from(ListHistoryRow))
    return int(members or 0), int(steps or 0)


def test_a_person_follows_their_placement_move_out_and_return(sqlite_service: Service) -> None:
    service = sqlite_service
    client, headers = service.client, service.as_role(C)
    person = _fresh_person(service, "BNL-000001")
    member = _add(service, "BNL-000001")
    entry = _entry(service, member)
    assert (entry["status"], entry["name"], entry["place"]) == ("active", "Test BNL-000001", None)

    bedspace = _place(service, person["id"])
    entry = _entry(service, member)
    assert entry["status"] == "in_placement"
    assert entry["resident"] == person["id"]
    with factory(client)() as session:
        unit = session.get(UnitRow, session.get(BedSpaceRow, bedspace).unit)
    assert entry["place"] == unit.name and entry["place"] != unit.id

    on = service.settings.placement_date().isoformat()
    moved = client.post(
        f"/api/residents/{person['id']}/move-out",
        json={"on": on, "reason": "planned_move_on", "destination": "own_tenancy"},
        headers=headers,
    )
    assert moved.status_code == 200, moved.text
    assert _entry(service, member)["status"] == "housed"

    again = {k: v for k, v in person.items() if k != "status"}
    again.update(id="Y000001")
    assert client.post("/api/referrals", json=again, headers=headers).status_code == 201
    assert _entry(service, member)["status"] == "returned"
    listing = _history(service, member)
    assert [h["event"] for h in listing["history"]] == [
        "joined",
        "placed",
        "moved_out_settled",
        "new_referral",
    ]
    assert all(h["by"] == "coordinator" for h in listing["history"])
    _replays(service, member)
    with factory(client)() as session:
        audited = session.scalars(
            select(AuditEventRow.action).where(
                AuditEventRow.subject_type == "list_member",
                AuditEventRow.subject_id == str(member),
            )
        ).all()
    assert {"list_joined", "list_placed", "list_moved_out_settled", "list_new_referral"} <= set(
        audited
    )


def test_a_move_out_elsewhere_leaves_the_person_active(sqlite_service: Service) -> None:
    service = sqlite_service
    person = _fresh_person(service, "BNL-000002")
    member = _add(service, "BNL-000002", "at_risk")
    _place(service, person["id"])
    moved = service.client.post(
        f"/api/residents/{person['id']}/move-out",
        json={
            "on": service.settings.placement_date().isoformat(),
            "reason": "abandonment",
            "destination": "rough_sleeping",
        },
        headers=service.as_role(C),
    )
    assert moved.status_code == 200, moved.text
    assert _entry(service, member)["status"] == "active"
    _replays(service, member)


def test_no_contact_makes_a_person_inactive_and_contact_brings_them_back(
    sqlite_service: Service,
) -> None:
    service = sqlite_service
    client, headers = service.client, service.as_role(C)
    _fresh_person(service, "BNL-000003")
    member = _add(service, "BNL-000003")
    days = client.put(
        "/api/settings/list-inactive-days", json={"days": 30}, headers=service.as_role(A)
    )
    assert days.status_code == 200, days.text
    # Too soon: a status change that skips its event is refused, and changes nothing.
    before = _steps(service)
    quiet = {"status": "inactive", "event": "no_contact"}
    early = client.post(f"{LIST}/{member}/status", json=quiet, headers=headers)
    assert early.status_code == 409 and "30 days" in early.json()["detail"]
    assert _steps(service) == before

    with factory(client)() as session:
        row = session.get(ListMemberRow, member)
        row.last_contact_on = service.settings.placement_date() - timedelta(days=31)
        session.commit()
    entry = _entry(service, member)
    assert (entry["status"], entry["days_since_contact"]) == ("inactive", 31)
    history = _history(service, member)["history"]
    assert history[-1]["event"] == "no_contact" and history[-1]["by"] == "(bedmatch)"

    met = {"note": "met at the hub"}
    contact = client.post(f"{LIST}/{member}/contact", json=met, headers=headers)
    assert contact.status_code == 200, contact.text
    entry = _entry(service, member)
    assert (entry["status"], entry["days_since_contact"]) == ("active", 0)
    _replays(service, member)


@pytest.mark.parametrize(
    ("wanted", "event", "said"),
    [
        ("housed", "contact", "not housed"),
        ("housed", "moved_out_settled", "not in a placement"),
        ("in_placement", "placed", "no placement is recorded"),
        ("returned", "new_referral", "not returned"),
    ],
)
def test_a_status_change_that_skips_its_event_is_refused(
    sqlite_service: Service, wanted: str, event: str, said: str
) -> None:
    service = sqlite_service
    _fresh_person(service, "BNL-000004")
    member = _add(service, "BNL-000004")
    before = _steps(service)
    refused = service.client.post(
        f"{LIST}/{member}/status",
        json={"status": wanted, "event": event},
        headers=service.as_role(C),
    )
    assert refused.status_code == 409, refused.text
    assert said in refused.json()["detail"]
    assert _steps(service) == before
    assert _entry(service, member)["status"] == "active"


def test_bad_input_names_the_field_and_changes_nothing(sqlite_service: Service) -> None:
    service = sqlite_service
    client, headers = service.client, service.as_role(C)
    _fresh_person(service, "BNL-000005")
    member = _add(service, "BNL-000005")
    before = _steps(service)
    twice = client.post(
        LIST, json={"case_reference": "BNL-000005", "cohort": "at_risk"}, headers=headers
    )
    assert twice.status_code == 409 and "already on the By Name List" in twice.json()["detail"]
    cases = [
        (LIST, {"case_reference": "BNL-000006", "cohort": "everyone"}, "cohort"),
        (LIST, {"case_reference": "NOBODY-1", "cohort": "priority"}, "name"),
        (f"{LIST}/{member}/status", {"status": "gone", "event": "contact"}, "status"),
        (f"{LIST}/{member}/status", {"status": "active", "event": "magic"}, "event"),
        (f"{LIST}/{member}/leave", {"reason": ""}, "reason"),
    ]
    for path, body, field in cases:
        answer = client.post(path, json=body, headers=headers)
        assert answer.status_code == 422, (path, answer.text)
        assert any(field in d["loc"] for d in answer.json()["detail"]), (path, answer.json())
    filtered = client.get(f"{LIST}?status=sleeping", headers=headers)
    assert filtered.status_code == 422 and "status" in filtered.json()["detail"][0]["loc"]
    assert _steps(service) == before
    assert client.post(f"{LIST}/999999/contact", json={}, headers=headers).status_code == 404


def test_leaving_the_list_is_dated_and_attributed(sqlite_service: Service) -> None:
    service = sqlite_service
    client, headers = service.client, service.as_role(C)
    _fresh_person(service, "BNL-000007")
    member = _add(service, "BNL-000007", "watchlist")
    left = client.post(f"{LIST}/{member}/leave", json={"reason": "moved away"}, headers=headers)
    assert left.status_code == 200, left.text
    listing = _history(service, member)
    assert listing["left_on"] == service.settings.placement_date().isoformat()
    assert listing["history"][-1]["event"] == "left"
    assert listing["history"][-1]["note"] == "moved away"
    assert all(p["id"] != member for p in client.get(LIST, headers=headers).json()["people"])
    assert client.post(f"{LIST}/{member}/contact", json={}, headers=headers).status_code == 409
    # Back on the list later: a new listing, the old one kept.
    assert _add(service, "BNL-000007") != member


def test_a_person_no_unit_can_take_is_flagged_with_the_families_that_block(
    sqlite_service: Service,
) -> None:
    service = sqlite_service
    client, headers = service.client, service.as_role(C)
    areas = [a["id"] for a in client.get("/api/areas", headers=headers).json()]
    _fresh_person(service, "BNL-000008", excluded_areas=areas, preferred_areas=[])
    _fresh_person(service, "BNL-000009")
    blocked = _add(service, "BNL-000008", "priority")
    fine = _add(service, "BNL-000009", "priority")
    answer = client.get(LIST, headers=headers).json()
    entry = next(p for p in answer["people"] if p["id"] == blocked)
    assert entry["no_safe_option"] is True and entry["safe_bedspaces"] == 0
    assert 6 in [f["family"] for f in entry["blocking_families"]]
    assert next(p for p in answer["people"] if p["id"] == fine)["no_safe_option"] is False
    assert answer["no_safe_option"] >= 1
    page = client.get("/by-name-list", headers=headers)
    assert "raise at the high harm / high vulnerability panel" in page.text
    assert "6. location" in page.text


def test_counts_per_cohort_and_status_with_shares_and_filters(sqlite_service: Service) -> None:
    service = sqlite_service
    client, headers = service.client, service.as_role(C)
    _fresh_person(service, "BNL-000010")
    _fresh_person(service, "BNL-000011")
    _add(service, "BNL-000010", "priority")
    _add(service, "BNL-000011", "watchlist")
    answer = client.get(LIST, headers=headers).json()
    counts = answer["counts"]
    total = counts["total"]
    assert sum(c["count"] for c in counts["cohorts"]) == total
    assert sum(s["count"] for s in counts["statuses"]) == total
    for figure in counts["cohorts"] + counts["statuses"]:
        assert figure["share"] == round(figure["count"] / total, 3)
    watch = client.get(f"{LIST}?cohort=watchlist", headers=headers).json()["people"]
    assert watch and all(p["cohort"] == "watchlist" for p in watch)
    active = client.get(f"{LIST}?status=active&cohort=priority", headers=headers).json()["people"]
    assert all((p["status"], p["cohort"]) == ("active", "priority") for p in active)


def test_who_sees_the_list(sqlite_service: Service) -> None:
    service = sqlite_service
    client = service.client
    _fresh_person(service, "BNL-000012")
    _add(service, "BNL-000012")
    assert client.get(LIST, headers=service.as_role(H)).status_code == 403
    commissioner = client.get(LIST, headers=service.as_role(M))
    assert commissioner.status_code == 200
    assert "people" not in commissioner.json()
    assert "BNL-000012" not in commissioner.text
    assert client.get(LIST, headers=service.as_role(A)).json()["people"]
    cookie = {"Cookie": "bedmatch_token=" + service.as_role(H)["Authorization"].split()[1]}
    page = client.get("/", headers=cookie)
    assert 'href="/by-name-list"' not in page.text
    assert client.get("/by-name-list", headers=cookie, follow_redirects=False).status_code == 403


def test_the_demo_list_holds_the_barnsley_cohort_with_a_year_of_history(
    sqlite_service: Service,
) -> None:
    service = sqlite_service
    answer = service.client.get(LIST, headers=service.as_role(C)).json()
    cohorts = {c["cohort"]: c["count"] for c in answer["counts"]["cohorts"]}
    assert (cohorts["priority"], cohorts["at_risk"]) == (40, 110)
    statuses = {s["status"]: s["count"] for s in answer["counts"]["statuses"]}
    assert all(
        statuses[s] > 0 for s in ("active", "in_placement", "housed", "inactive", "returned")
    )
    placed = [p for p in answer["people"] if p["status"] == "in_placement"]
    assert placed and all(p["place"] and p["resident"] for p in placed)
    with factory(service.client)() as session:
        members = session.scalars(select(ListMemberRow)).all()
        oldest = session.scalar(select(func.min(ListHistoryRow.on)))
    assert oldest is not None
    assert (service.settings.placement_date() - oldest).days >= 300
    for member in members[:: len(members) // 20]:
        _replays(service, member.id)


def test_an_accepted_offer_places_and_an_undone_placement_takes_back(
    sqlite_service: Service,
) -> None:
    service = sqlite_service
    client, headers = service.client, service.as_role(C)
    person = _fresh_person(service, "BNL-000013")
    member = _add(service, "BNL-000013")
    ranked = client.get(f"/api/referrals/{person['id']}/rank", headers=headers).json()
    offered = client.post(
        "/api/offers",
        json={"referral": person["id"], "bedspace": ranked["ranked"][0]["bedspace"]},
        headers=headers,
    )
    assert offered.status_code == 201, offered.text
    accepted = client.post(
        f"/api/offers/{offered.json()['id']}/accept",
        json={"arrival_on": service.settings.placement_date().isoformat()},
        headers=headers,
    )
    assert accepted.status_code == 200, accepted.text
    assert _entry(service, member)["status"] == "in_placement"

    undone = client.post(
        f"/api/placements/{accepted.json()['id']}/undo",
        json={"reason": "entered in error"},
        headers=headers,
    )
    assert undone.status_code == 200, undone.text
    assert _entry(service, member)["status"] == "active"
    assert [h["event"] for h in _history(service, member)["history"]][-2:] == [
        "placed",
        "placement_undone",
    ]
    _replays(service, member)


def test_the_list_follows_placements_on_postgresql_too(service: Service) -> None:
    person = _fresh_person(service, "BNL-000014")
    member = _add(service, "BNL-000014", "at_risk")
    _place(service, person["id"])
    assert _entry(service, member)["status"] == "in_placement"
    twice = service.client.post(
        LIST,
        json={"case_reference": "BNL-000014", "cohort": "priority"},
        headers=service.as_role(C),
    )
    assert twice.status_code == 409
    _replays(service, member)


def test_an_admin_sets_the_inactivity_threshold_and_it_is_audited(sqlite_service: Service) -> None:
    service = sqlite_service
    client, admin = service.client, service.as_role(A)
    assert client.get("/api/settings/list-inactive-days", headers=admin).json() == {"days": 90}
    bad = client.put("/api/settings/list-inactive-days", json={"days": 0}, headers=admin)
    assert bad.status_code == 422 and "days" in bad.json()["detail"][0]["loc"]
    assert (
        client.put(
            "/api/settings/list-inactive-days", json={"days": 60}, headers=service.as_role(C)
        ).status_code
        == 403
    )
    changed = client.put("/api/settings/list-inactive-days", json={"days": 60}, headers=admin)
    assert changed.status_code == 200
    assert client.get(LIST, headers=service.as_role(C)).json()["inactive_days"] == 60
    cookie = {"Cookie": "bedmatch_token=" + admin["Authorization"].split()[1]}
    assert 'value="60"' in client.get("/admin/settings", headers=cookie).text
    with factory(client)() as session:
        details = session.scalars(
            select(AuditEventRow.detail).where(AuditEventRow.subject_id == "list_inactive_days")
        ).all()
    assert "90 -> 60" in details


def test_support_at_home_is_a_safe_option_for_one_who_may_take_it(
    sqlite_service: Service,
) -> None:
    """No bed-space fits a household of eight, but a team may support them where they live:
    not a case for the panel if they would take support alone, a case if not."""
    service = sqlite_service
    client, headers = service.client, service.as_role(C)
    home = client.get("/api/areas", headers=headers).json()[0]["id"]
    _fresh_person(service, "BNL-000011", household_size=8, wants="either", home_area=home)
    _fresh_person(service, "BNL-000012", household_size=8)
    at_home = _add(service, "BNL-000011", "at_risk")
    bed_only = _add(service, "BNL-000012", "at_risk")
    people = {p["id"]: p for p in client.get(LIST, headers=headers).json()["people"]}
    assert people[at_home]["safe_bedspaces"] == 0
    assert people[at_home]["safe_support_teams"] >= 1
    assert people[at_home]["no_safe_option"] is False
    assert people[bed_only]["safe_bedspaces"] == 0
    assert people[bed_only]["no_safe_option"] is True
    assert "support at home:" in client.get("/by-name-list", headers=headers).text
