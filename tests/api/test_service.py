"""The service end to end, on SQLite and on a real PostgreSQL server (each test runs on both)."""

from __future__ import annotations

import time
from typing import Any

from api.security import Role
from tests.api.conftest import Service
from tests.api.helpers import counts, placeable

C, H, M, A = Role.coordinator, Role.housing_options, Role.commissioner, Role.admin


def first_choice(service: Service) -> tuple[str, str]:
    """A (referral, bed-space) where the bed-space is the referral's top-ranked placement."""
    for bed, options in sorted(placeable(service.client).items()):
        for referral, position in options:
            if position == 1:
                return referral, bed
    raise AssertionError("the demo portfolio should have a top-ranked placement")


def test_placing_the_top_choice_stores_it_and_the_bed_is_then_taken(service: Service) -> None:
    client, coordinator = service.client, service.as_role(C)
    referral, bed = first_choice(service)
    placed = client.post(
        "/api/placements", json={"referral": referral, "bedspace": bed}, headers=coordinator
    )
    assert placed.status_code == 201, placed.text
    assert placed.json()["placements"][0]["bedspace"] == bed
    resident = client.get(f"/api/residents/{referral}", headers=coordinator).json()
    assert resident["bedspace"] == bed
    assert (
        client.get(f"/api/referrals/{referral}", headers=coordinator).json()["status"] == "placed"
    )

    others = [r for r, _ in placeable(service.client).get(bed, []) if r != referral]
    other = others[0] if others else "R00003"
    before = counts(client)
    again = client.post(
        "/api/placements",
        json={"referral": other, "bedspace": bed, "reason": "they asked for it"},
        headers=coordinator,
    )
    assert again.status_code == 409
    assert bed in again.json()["detail"]
    assert counts(client) == before


def test_a_lower_ranked_placement_needs_a_reason_and_is_kept_as_an_override(
    service: Service,
) -> None:
    client, coordinator = service.client, service.as_role(C)
    choice = next(
        (referral, bed)
        for bed, options in sorted(placeable(client).items())
        for referral, position in options
        if position > 1
    )
    referral, bed = choice
    before = counts(client)
    refused = client.post(
        "/api/placements", json={"referral": referral, "bedspace": bed}, headers=coordinator
    )
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["body", "reason"]
    assert counts(client) == before

    placed = client.post(
        "/api/placements",
        json={"referral": referral, "bedspace": bed, "reason": "near her children's school"},
        headers=coordinator,
    )
    assert placed.status_code == 201, placed.text
    overrides = client.get("/api/overrides", headers=coordinator).json()
    assert overrides[0]["referral"] == referral
    assert overrides[0]["reason"] == "near her children's school"
    assert overrides[0]["chosen_rank"] > 1


def test_an_excluded_placement_is_refused_with_its_reasons_whatever_the_reason(
    service: Service,
) -> None:
    client, coordinator = service.client, service.as_role(C)
    options = placeable(client)
    referral = "R00001"
    allowed = {bed for bed, found in options.items() if any(r == referral for r, _ in found)}
    beds = [b["id"] for b in client.get("/api/bedspaces", headers=coordinator).json()]
    excluded = next(b for b in beds if b not in allowed)
    before = counts(client)
    for reason in (None, "the manager agreed"):
        response = client.post(
            "/api/placements",
            json={"referral": referral, "bedspace": excluded, "reason": reason},
            headers=coordinator,
        )
        assert response.status_code == 409, response.text
        assert response.json()["reasons"]
    assert counts(client) == before


def test_bad_input_names_the_field_and_changes_nothing(service: Service) -> None:
    client, coordinator = service.client, service.as_role(C)
    good = client.get("/api/referrals/R00002", headers=coordinator).json()
    del good["status"]
    young = {**good, "id": "NEW1", "age": 12}
    response = client.post("/api/referrals", json=young, headers=coordinator)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "age"]

    nowhere = {**good, "id": "NEW2", "preferred_areas": ["NOWHERE"]}
    response = client.post("/api/referrals", json=nowhere, headers=coordinator)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail[0]["loc"] == ["body", "preferred_areas", 0]
    assert "NOWHERE" in detail[0]["msg"]
    assert client.get("/api/referrals/NEW2", headers=coordinator).status_code == 404

    response = client.get("/api/referrals/R00002/rank?top=0", headers=coordinator)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "top"]

    response = client.post("/api/placements", json={"referral": "R00002"}, headers=coordinator)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "bedspace"]


def test_an_unknown_id_is_named_in_the_404(service: Service) -> None:
    client, coordinator = service.client, service.as_role(C)
    for path, name in (
        ("/api/referrals/NO-SUCH-ONE", "NO-SUCH-ONE"),
        ("/api/units/U9999", "U9999"),
        ("/api/runs/4242", "4242"),
    ):
        response = client.get(path, headers=coordinator)
        assert response.status_code == 404
        assert name in response.json()["detail"]
    response = client.post(
        "/api/placements", json={"referral": "R00002", "bedspace": "B-NONE"}, headers=coordinator
    )
    assert response.status_code == 404 and "B-NONE" in response.json()["detail"]


def test_a_failed_sign_in_does_not_say_whether_the_person_exists(service: Service) -> None:
    client = service.client
    unknown = client.post("/api/auth/token", data={"username": "nobody", "password": "x" * 12})
    wrong = client.post("/api/auth/token", data={"username": "coordinator", "password": "x" * 12})
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json() == wrong.json()
    # Another role asking for a person: 403 whether or not the person exists.
    housing = service.as_role(H)
    real = client.get("/api/referrals/R00002", headers=housing)
    fake = client.get("/api/referrals/NOBODY", headers=housing)
    assert real.status_code == fake.status_code == 403
    assert real.json() == fake.json()


def test_every_read_of_personal_data_is_in_the_audit_trail(service: Service) -> None:
    client = service.client
    client.get("/api/referrals/R00004", headers=service.as_role(C))
    client.get("/api/referrals/R00004/rank", headers=service.as_role(C))
    events = client.get("/api/audit?subject_id=R00004", headers=service.as_role(A)).json()
    reads = [e for e in events if e["action"] == "read" and e["username"] == "coordinator"]
    assert len(reads) >= 2
    assert all(e["subject_type"] == "referral" for e in reads)


def test_an_inventory_change_that_would_break_a_placed_persons_rules_is_refused(
    service: Service,
) -> None:
    client, coordinator = service.client, service.as_role(C)
    residents = client.get("/api/residents", headers=coordinator).json()
    woman = next(r for r in residents if r["gender"] == "woman")
    bed = client.get(f"/api/bedspaces/{woman['bedspace']}", headers=coordinator).json()
    unit = client.get(f"/api/units/{bed['unit']}", headers=coordinator).json()
    changed = {**unit, "gender_policy": "men_only"}
    response = client.put(f"/api/units/{unit['id']}", json=changed, headers=coordinator)
    assert response.status_code == 409, response.text
    assert response.json()["reasons"]
    assert client.get(f"/api/units/{unit['id']}", headers=coordinator).json() == unit


def wait_for_run(service: Service, run_id: int, timeout_s: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        run: dict[str, Any] = service.client.get(
            f"/api/runs/{run_id}", headers=service.as_role(C)
        ).json()
        if run["status"] not in ("queued", "running"):
            return run
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} did not finish")


def test_a_batch_run_is_accepted_in_part_then_the_rest_and_never_twice(
    service: Service,
) -> None:
    client, coordinator = service.client, service.as_role(C)
    started = client.post(
        "/api/runs", json={"backend": "greedy", "time_limit_s": 5}, headers=coordinator
    )
    assert started.status_code == 202
    run = wait_for_run(service, started.json()["id"])
    assert run["status"] == "done", run["message"]
    proposals = [r for r in run["results"] if r["bedspace"]]
    singles = [p["referral"] for p in proposals]
    assert len(proposals) >= 2
    before = counts(client)
    first = client.post(
        f"/api/runs/{run['id']}/accept", json={"referrals": singles[:1]}, headers=coordinator
    )
    if first.status_code == 409:  # a couple cannot be split: accept everything instead
        first = client.post(f"/api/runs/{run['id']}/accept", json={}, headers=coordinator)
    assert first.status_code == 200, first.text
    rest = client.post(f"/api/runs/{run['id']}/accept", json={}, headers=coordinator)
    if first.json()["accepted"] != singles:
        assert rest.status_code == 200, rest.text
        assert set(rest.json()["accepted"]) | set(first.json()["accepted"]) == set(singles)
    # Accepting a run offers, it does not place: one open offer per proposal, nobody placed.
    assert counts(client) == before
    held = client.get("/api/offers?state=open&limit=1000", headers=coordinator).json()
    assert sorted(o["referral"] for o in held) == sorted(singles)
    assert {o["run_id"] for o in held} == {run["id"]}
    twice = client.post(
        f"/api/runs/{run['id']}/accept", json={"referrals": singles[:1]}, headers=coordinator
    )
    assert twice.status_code == 409


def test_a_batch_accept_that_has_gone_stale_stores_nothing(service: Service) -> None:
    client, coordinator = service.client, service.as_role(C)
    started = client.post(
        "/api/runs", json={"backend": "greedy", "time_limit_s": 5}, headers=coordinator
    )
    run = wait_for_run(service, started.json()["id"])
    proposals = [r for r in run["results"] if r["bedspace"]]
    # Someone else takes the last proposal's bed-space meanwhile, from another referral.
    taken = proposals[-1]["bedspace"]
    proposed = {p["referral"] for p in proposals}
    options = placeable(client).get(taken, [])
    rival = next((r for r, _ in options if r not in proposed), None)
    if rival is None:  # nobody else may take it: take it with the proposal's own referral
        rival = proposals[-1]["referral"]
    placed = client.post(
        "/api/placements",
        json={"referral": rival, "bedspace": taken, "reason": "urgent, placed by phone"},
        headers=coordinator,
    )
    assert placed.status_code == 201, placed.text
    before = counts(client)
    response = client.post(f"/api/runs/{run['id']}/accept", json={}, headers=coordinator)
    assert response.status_code == 409
    assert counts(client) == before
    detail = client.get(f"/api/runs/{run['id']}", headers=coordinator).json()
    assert not any(r["accepted"] for r in detail["results"])


def test_a_move_out_today_frees_the_bed_space_on_the_board(service: Service) -> None:
    client, coordinator = service.client, service.as_role(C)
    housing = service.as_role(H)
    free_before = client.get("/api/vacancies", headers=housing).json()["totals"]["free_now"]
    resident = client.get("/api/residents", headers=coordinator).json()[0]
    today = service.settings.placement_date().isoformat()
    response = client.post(
        f"/api/residents/{resident['id']}/move-out", json={"on": today}, headers=coordinator
    )
    assert response.status_code == 200, response.text
    free_after = client.get("/api/vacancies", headers=housing).json()["totals"]["free_now"]
    assert free_after == free_before + 1
    again = client.post(
        f"/api/residents/{resident['id']}/move-out", json={"on": today}, headers=coordinator
    )
    assert again.status_code == 409


def test_housing_options_see_move_out_dates_without_people(service: Service) -> None:
    moves = service.client.get("/api/move-outs?within_days=365", headers=service.as_role(H))
    assert moves.status_code == 200
    assert moves.json(), "the demo has residents expected to leave"
    assert set(moves.json()[0]) == {"bedspace", "unit", "expected_leave", "due_to_leave"}


def test_every_waiting_referral_gets_a_ranking_with_reasons(sqlite_service: Service) -> None:
    client, coordinator = sqlite_service.client, sqlite_service.as_role(C)
    waiting = client.get("/api/referrals?status=waiting&limit=500", headers=coordinator).json()
    assert waiting
    for referral in waiting:
        response = client.get(f"/api/referrals/{referral['id']}/rank", headers=coordinator)
        assert response.status_code == 200, (referral["id"], response.text)
        result = response.json()
        assert result["ranked"] or result["excluded"]
        assert all(p["reasons"] for p in result["ranked"])
        assert all(e["reasons"] for e in result["excluded"])


def test_pages_audit_the_people_they_show(sqlite_service: Service) -> None:
    client = sqlite_service.client
    token = sqlite_service.as_role(C)["Authorization"].split()[1]
    page = client.get("/referrals/R00006", cookies={"bedmatch_token": token})
    assert page.status_code == 200
    assert "R00006" in page.text
    events = client.get("/api/audit?subject_id=R00006", headers=sqlite_service.as_role(A)).json()
    assert any(e["action"] == "read" and e["username"] == "coordinator" for e in events)


def test_a_run_cut_short_by_a_restart_is_marked_failed_not_left_running(
    sqlite_url: str,
) -> None:
    from api.orm import AllocationRunRow
    from api.services import audit
    from tests.api.conftest import start_service

    for service in start_service(sqlite_url):
        factory = service.client.app.state.sessionmaker  # type: ignore[attr-defined]
        with factory() as session:
            session.add(
                AllocationRunRow(
                    status="running",
                    backend="cpsat",
                    time_limit_s=10,
                    created_by="coordinator",
                    created_at=audit.now(),
                )
            )
            session.commit()
    for service in start_service(sqlite_url):
        runs = service.client.get("/api/runs", headers=service.as_role(C)).json()
        assert runs[0]["status"] == "failed"
        assert "interrupted" in runs[0]["message"]


def test_a_bedspace_tied_for_first_place_needs_no_reason_though_listed_after_another(
    service: Service,
) -> None:
    client, coordinator = service.client, service.as_role(C)
    firsts: dict[str, list[str]] = {}
    for bed, options in sorted(placeable(client).items()):
        for referral, position in options:
            if position == 1:
                firsts.setdefault(referral, []).append(bed)
    referral = next(r for r, beds in sorted(firsts.items()) if len(beds) > 1)
    shown_first = client.get(
        f"/api/referrals/{referral}/rank?top=1&detail=summary", headers=coordinator
    ).json()["ranked"][0]["bedspace"]
    tied = next(bed for bed in firsts[referral] if bed != shown_first)
    placed = client.post(
        "/api/placements", json={"referral": referral, "bedspace": tied}, headers=coordinator
    )
    assert placed.status_code == 201, placed.text
    assert placed.json()["placements"][0]["bedspace"] == tied
    assert placed.json()["override_id"] is None
