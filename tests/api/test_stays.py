"""Stays after they begin: a move-out keeps its reason and destination, a transfer is checked
as a placement is, and a placement made in error is undone within a day; each audited, each
bad request refused with nothing changed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from api.orm import AuditEventRow, PlacementRow, ReferralRow, ResidentRow, SupportTeamRow
from api.security import Role
from api.services.assemble import build_problem
from tests.api.conftest import Service
from tests.api.helpers import counts, factory

C = Role.coordinator


def _placed_with_a_second_choice(service: Service) -> tuple[str, str, str, dict[str, Any]]:
    """Place a waiting person (alone) in their first choice; (referral, first, second
    bed-space, the ranking before) where the second is in another unit."""
    client, headers = service.client, service.as_role(C)
    waiting = client.get("/api/referrals?status=waiting", headers=headers).json()
    for referral in waiting:
        if referral["keep_together"]:
            continue
        ranking = client.get(f"/api/referrals/{referral['id']}/rank", headers=headers).json()
        ranked = ranking["ranked"]
        if len(ranked) < 2 or ranked[0]["partners"]:
            continue
        second = next((p for p in ranked[1:] if p["unit"] != ranked[0]["unit"]), None)
        if second is None:
            continue
        placed = client.post(
            "/api/placements",
            json={"referral": referral["id"], "bedspace": ranked[0]["bedspace"]},
            headers=headers,
        )
        assert placed.status_code == 201, placed.text
        return referral["id"], ranked[0]["bedspace"], second["bedspace"], ranking
    pytest.fail("no waiting referral with two safe units in the demo")


def _audited(service: Service, action: str, subject: str) -> list[AuditEventRow]:
    with factory(service.client)() as session:
        return list(
            session.scalars(
                select(AuditEventRow).where(
                    AuditEventRow.action == action, AuditEventRow.subject_id == subject
                )
            )
        )


def test_a_move_out_keeps_its_reason_and_destination(service: Service) -> None:
    client, headers = service.client, service.as_role(C)
    person, _, _, _ = _placed_with_a_second_choice(service)
    today = service.settings.placement_date().isoformat()
    moved = client.post(
        f"/api/residents/{person}/move-out",
        json={"on": today, "reason": "planned_move_on", "destination": "social_housing"},
        headers=headers,
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["left_reason"] == "planned_move_on"
    assert moved.json()["destination"] == "social_housing"
    with factory(client)() as session:
        row = session.get(ResidentRow, person)
        assert row is not None and row.left_on is not None
        assert (row.left_reason, row.destination) == ("planned_move_on", "social_housing")


def test_an_unknown_departure_reason_is_refused_naming_the_field(service: Service) -> None:
    client, headers = service.client, service.as_role(C)
    person, _, _, _ = _placed_with_a_second_choice(service)
    before = counts(client)
    refused = client.post(
        f"/api/residents/{person}/move-out",
        json={"on": service.settings.placement_date().isoformat(), "reason": "went_away"},
        headers=headers,
    )
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["body", "reason"]
    assert counts(client) == before


def test_a_transfer_moves_the_person_and_keeps_their_history(service: Service) -> None:
    client, headers = service.client, service.as_role(C)
    person, first, second, _ = _placed_with_a_second_choice(service)
    moved = client.post(
        f"/api/residents/{person}/transfer",
        json={"bedspace": second, "reason": "needs a quieter unit"},
        headers=headers,
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["bedspace"] == second
    with factory(client)() as session:
        stays = session.scalars(
            select(PlacementRow).where(PlacementRow.referral == person).order_by(PlacementRow.id)
        ).all()
    assert [(s.bedspace, s.transfer_from) for s in stays] == [(first, None), (second, first)]
    assert _audited(service, "transfer", person)
    # The service's cached state is the stored one: the bed-space left is free again.
    with factory(client)() as session:
        on = service.settings.placement_date()
        cached = client.app.state.problem_cache.problem(session, on)  # type: ignore[attr-defined]
        stored = build_problem(session, on)
    assert cached.residents == stored.residents
    assert [r for r in stored.residents if r.id == person][0].bedspace == second
    assert all(r.bedspace != first for r in stored.residents)


def test_a_transfer_a_rule_forbids_is_refused_with_the_rule(service: Service) -> None:
    client, headers = service.client, service.as_role(C)
    person, first, _, ranking = _placed_with_a_second_choice(service)
    excluded = [
        e
        for e in ranking["excluded"]
        if not {"bedspace_free_on_date"} & set(e["rules"]) and e["bedspaces"]
    ]
    assert excluded, "no bed-space a rule shuts to this person"
    target, why = excluded[0]["bedspaces"][0], excluded[0]["reasons"]
    before = counts(client)
    refused = client.post(
        f"/api/residents/{person}/transfer",
        json={"bedspace": target, "reason": "try"},
        headers=headers,
    )
    assert refused.status_code == 409, refused.text
    assert counts(client) == before
    with factory(client)() as session:
        assert session.get(ResidentRow, person).bedspace == first  # type: ignore[union-attr]
    assert why


def test_a_placement_made_in_error_is_undone_within_a_day(service: Service) -> None:
    client, headers = service.client, service.as_role(C)
    person, first, _, _ = _placed_with_a_second_choice(service)
    with factory(client)() as session:
        placement = session.scalars(
            select(PlacementRow).where(PlacementRow.referral == person)
        ).one()
        team_id = placement.support_team
        team_before = session.get(SupportTeamRow, team_id).current_caseload if team_id else None  # type: ignore[union-attr]
    empty = client.post(
        f"/api/placements/{placement.id}/undo", json={"reason": ""}, headers=headers
    )
    assert empty.status_code == 422
    undone = client.post(
        f"/api/placements/{placement.id}/undo", json={"reason": "wrong person"}, headers=headers
    )
    assert undone.status_code == 200, undone.text
    assert undone.json()["undo_reason"] == "wrong person"
    with factory(client)() as session:
        assert session.get(ReferralRow, person).status == "waiting"  # type: ignore[union-attr]
        assert session.get(ResidentRow, person) is None
        if team_id is not None:
            assert session.get(SupportTeamRow, team_id).current_caseload == team_before - 1  # type: ignore[union-attr,operator]
    assert _audited(service, "undo_placement", person)
    ranking = client.get(f"/api/referrals/{person}/rank", headers=headers)
    assert ranking.status_code == 200 and any(
        p["bedspace"] == first for p in ranking.json()["ranked"]
    )  # waiting again, and the bed-space is free to them again
    twice = client.post(
        f"/api/placements/{placement.id}/undo", json={"reason": "again"}, headers=headers
    )
    assert twice.status_code == 409


def test_a_placement_older_than_a_day_is_not_undone(service: Service) -> None:
    client, headers = service.client, service.as_role(C)
    person, _, _, _ = _placed_with_a_second_choice(service)
    with factory(client)() as session:
        placement = session.scalars(
            select(PlacementRow).where(PlacementRow.referral == person)
        ).one()
        placement.placed_at = placement.placed_at - timedelta(days=1, minutes=1)
        session.commit()
        placement_id = placement.id
    before = counts(client)
    refused = client.post(
        f"/api/placements/{placement_id}/undo", json={"reason": "late"}, headers=headers
    )
    assert refused.status_code == 409 and "more than a day" in refused.json()["detail"]
    assert counts(client) == before


def _page_post(service: Service, page_path: str, path: str, data: dict[str, str]) -> Any:
    cookies = {"bedmatch_token": service.as_role(C)["Authorization"].split()[1]}
    page = service.client.get(page_path, cookies=cookies)
    assert page.status_code == 200, page.text
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    return service.client.post(
        path, data={**data, "csrf_token": csrf}, cookies=cookies, follow_redirects=False
    )


def test_the_stay_page_records_a_move_out_with_its_reason_and_refuses_one_without(
    sqlite_service: Service,
) -> None:
    person, _, _, _ = _placed_with_a_second_choice(sqlite_service)
    page, action = f"/residents/{person}", f"/residents/{person}/move-out"
    today = sqlite_service.settings.placement_date().isoformat()
    missing = _page_post(sqlite_service, page, action, {"on": today, "destination": "unknown"})
    assert missing.status_code == 422 and "choose why the stay ends" in missing.text
    done = _page_post(
        sqlite_service,
        page,
        action,
        {"on": today, "reason": "eviction", "destination": "rough_sleeping", "note": "arrears"},
    )
    assert done.status_code == 303
    cookies = {"bedmatch_token": sqlite_service.as_role(C)["Authorization"].split()[1]}
    shown = sqlite_service.client.get(done.headers["location"], cookies=cookies).text
    assert "Move-out recorded." in shown and "eviction" in shown and "rough sleeping" in shown


def test_the_stay_page_moves_a_person_and_undoes_a_placement(sqlite_service: Service) -> None:
    person, first, second, _ = _placed_with_a_second_choice(sqlite_service)
    page = f"/residents/{person}"
    moved = _page_post(
        sqlite_service, page, f"/residents/{person}/transfer", {"bedspace": second, "reason": "x"}
    )
    assert moved.status_code == 303
    cookies = {"bedmatch_token": sqlite_service.as_role(C)["Authorization"].split()[1]}
    shown = sqlite_service.client.get(moved.headers["location"], cookies=cookies).text
    assert "Moved." in shown and f"({first})" in shown and 'id="undo-form"' not in shown

    other, _, _, _ = _placed_with_a_second_choice(sqlite_service)
    shown = sqlite_service.client.get(f"/residents/{other}", cookies=cookies).text
    undo_path = shown.split('<form method="post" action="')[-1].split('"')[0]
    assert undo_path.endswith("/undo")
    undone = _page_post(sqlite_service, f"/residents/{other}", undo_path, {"reason": "wrong"})
    assert undone.status_code == 303 and undone.headers["location"].endswith("undone=1")
    with factory(sqlite_service.client)() as session:
        assert session.get(ReferralRow, other).status == "waiting"  # type: ignore[union-attr]


def test_a_transfer_into_a_bed_space_held_by_an_offer_is_refused(service: Service) -> None:
    """A held bed-space is nobody else's: not by a placement, not by a move."""
    client, headers = service.client, service.as_role(C)
    person, _, second, _ = _placed_with_a_second_choice(service)
    waiting = client.get("/api/referrals?status=waiting", headers=headers).json()
    held = None
    for referral in waiting:
        ranked = client.get(f"/api/referrals/{referral['id']}/rank", headers=headers).json()
        mine = [p for p in ranked["ranked"] if p["bedspace"] == second and not p["partners"]]
        if mine:
            offer = client.post(
                "/api/offers",
                json={"referral": referral["id"], "bedspace": second, "reason": "closest"},
                headers=headers,
            )
            if offer.status_code == 201:
                held = offer.json()
                break
    if held is None:
        pytest.skip("nobody waiting may be offered that bed-space")
    before = counts(client)
    refused = client.post(
        f"/api/residents/{person}/transfer",
        json={"bedspace": second, "reason": "try"},
        headers=headers,
    )
    assert refused.status_code == 409, refused.text
    assert counts(client) == before
