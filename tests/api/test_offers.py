"""The offer lifecycle through the API: offer (holding the bed-space), accept with an arrival
date, decline with a reason code, withdraw, expire; every step audited, hard rules checked
again at the offer and at the acceptance, refusals naming the rule or the holder's step."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from api.db import data_version, lock_for_write
from api.orm import AuditEventRow, BedSpaceRow, OfferRow, ReferralRow, ResidentRow, UnitRow
from api.security import Role
from api.services.assemble import build_problem
from api.services.offer_expiry import run_expiry
from matcher.ranking import build_context, rank
from tests.api.conftest import Service
from tests.api.helpers import factory, placeable

C = Role.coordinator


def top_pairs(service: Service, n: int) -> list[tuple[str, str]]:
    """`n` (referral, bed-space) pairs, each bed-space the person's first choice, all
    different people and bed-spaces."""
    pairs: list[tuple[str, str]] = []
    people: set[str] = set()
    for bedspace, options in sorted(placeable(service.client).items()):
        for referral, place in options:
            if place == 1 and referral not in people:
                pairs.append((referral, bedspace))
                people.add(referral)
                break
        if len(pairs) == n:
            return pairs
    raise AssertionError("not enough people with a first choice")


def offer(service: Service, referral: str, bedspace: str, **extra: Any) -> Any:
    body = {"referral": referral, "bedspace": bedspace, **extra}
    return service.client.post("/api/offers", json=body, headers=service.as_role(C))


def step(service: Service, offer_id: int, what: str, body: dict[str, Any]) -> Any:
    return service.client.post(
        f"/api/offers/{offer_id}/{what}", json=body, headers=service.as_role(C)
    )


def status_of(service: Service, referral: str) -> str:
    with factory(service.client)() as session:
        row = session.get(ReferralRow, referral)
        assert row is not None
        return row.status


def actions_on(service: Service, referral: str) -> list[str]:
    with factory(service.client)() as session:
        return list(
            session.scalars(
                select(AuditEventRow.action)
                .where(AuditEventRow.subject_id == referral, AuditEventRow.action != "read")
                .order_by(AuditEventRow.id)
            )
        )


def cache_is_the_stored_state(service: Service) -> None:
    cache = service.client.app.state.problem_cache
    as_of = service.settings.placement_date()
    with factory(service.client)() as session:
        cached = cache.problem_at(data_version(session), as_of)
        fresh = build_problem(session, as_of)
    assert cached is not None, "the cache was not carried over the step"
    assert cached == fresh
    assert cached.held == fresh.held  # type: ignore[attr-defined]


def test_offer_holds_then_acceptance_places(sqlite_service: Service) -> None:
    service = sqlite_service
    (referral, bedspace), (other, _) = top_pairs(service, 2)
    service.client.get(f"/api/referrals/{referral}/rank", headers=service.as_role(C))  # cache
    made = offer(service, referral, bedspace)
    assert made.status_code == 201, made.text
    held = made.json()
    assert held["state"] == "open" and status_of(service, referral) == "offered"
    cache_is_the_stored_state(service)

    # Held: nobody else is offered it, placed in it, or ranked into it.
    again = offer(service, other, bedspace, reason="closest to family")
    assert again.status_code == 409
    assert f"held by offer {held['id']}" in again.json()["detail"]
    placed = service.client.post(
        "/api/placements",
        json={"referral": other, "bedspace": bedspace, "reason": "x"},
        headers=service.as_role(C),
    )
    assert placed.status_code == 409
    ranked = service.client.get(f"/api/referrals/{other}/rank?top=1000", headers=service.as_role(C))
    assert bedspace not in {p["bedspace"] for p in ranked.json()["ranked"]}
    # The person is not waiting: a second offer names the open one.
    second = offer(service, referral, bedspace)
    assert second.status_code == 409 and f"offer {held['id']}" in second.json()["detail"]

    by_person = service.client.get(f"/api/offers?referral={referral}", headers=service.as_role(C))
    by_bed = service.client.get(f"/api/offers?bedspace={bedspace}", headers=service.as_role(C))
    assert [o["id"] for o in by_person.json()] == [o["id"] for o in by_bed.json()] == [held["id"]]

    as_of = service.settings.placement_date()
    accepted = step(service, held["id"], "accept", {"arrival_on": as_of.isoformat()})
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["bedspace"] == bedspace
    assert status_of(service, referral) == "placed"
    with factory(service.client)() as session:
        resident = session.get(ResidentRow, referral)
        assert resident is not None and resident.bedspace == bedspace and resident.arrived == as_of
    cache_is_the_stored_state(service)
    assert actions_on(service, referral) == ["offer", "offer_accept", "place"]
    late = step(service, held["id"], "decline", {"reason_code": "person_refused"})
    assert late.status_code == 409 and "accepted" in late.json()["detail"]


def test_a_declined_bedspace_is_not_offered_again_unless_asked(sqlite_service: Service) -> None:
    service = sqlite_service
    [(referral, bedspace)] = top_pairs(service, 1)
    first = offer(service, referral, bedspace).json()
    declined = step(
        service, first["id"], "decline", {"reason_code": "person_refused", "text": "too far"}
    )
    assert declined.status_code == 200, declined.text
    assert declined.json()["reason_code"] == "person_refused"
    assert status_of(service, referral) == "waiting"
    cache_is_the_stored_state(service)
    refused = offer(service, referral, bedspace)
    assert refused.status_code == 409 and "declined" in refused.json()["detail"]
    asked = offer(service, referral, bedspace, ask_again=True)
    assert asked.status_code == 201, asked.text
    withdrawn = step(
        service, asked.json()["id"], "withdraw", {"reason": "unit closing for repairs"}
    )
    assert withdrawn.status_code == 200 and withdrawn.json()["state"] == "withdrawn"
    assert status_of(service, referral) == "waiting"
    cache_is_the_stored_state(service)
    assert actions_on(service, referral) == [
        "offer",
        "offer_decline",
        "offer",
        "offer_withdraw",
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reason_code": "other"}, "text"),
        ({"reason_code": "other", "text": "  "}, "text"),
        ({"reason_code": "bored"}, "reason_code"),
        ({}, "reason_code"),
    ],
)
def test_a_decline_needs_a_known_reason(
    sqlite_service: Service, body: dict[str, Any], field: str
) -> None:
    [(referral, bedspace)] = top_pairs(sqlite_service, 1)
    made = offer(sqlite_service, referral, bedspace).json()
    answer = step(sqlite_service, made["id"], "decline", body)
    assert answer.status_code == 422
    assert field in str(answer.json()["detail"])
    assert status_of(sqlite_service, referral) == "offered"


def test_an_offer_past_its_time_cannot_be_accepted(sqlite_service: Service) -> None:
    service = sqlite_service
    [(referral, bedspace)] = top_pairs(service, 1)
    made = offer(service, referral, bedspace).json()
    with factory(service.client)() as session:
        row = session.get(OfferRow, made["id"])
        assert row is not None
        session.execute(
            update(OfferRow)
            .where(OfferRow.id == made["id"])
            .values(expires_at=row.made_at - timedelta(minutes=1))
        )
        session.commit()
    as_of = service.settings.placement_date()
    answer = step(service, made["id"], "accept", {"arrival_on": as_of.isoformat()})
    assert answer.status_code == 409 and "expired" in answer.json()["detail"]
    assert status_of(service, referral) == "waiting"
    listed = service.client.get(f"/api/offers/{made['id']}", headers=service.as_role(C)).json()
    assert listed["state"] == "expired" and listed["closed_by"] == "offer-expiry-rule"
    assert actions_on(service, referral) == ["offer", "offer_expire"]
    with factory(service.client)() as session:
        assert session.get(ResidentRow, referral) is None


def test_an_excluded_bedspace_is_refused_naming_the_rule(sqlite_service: Service) -> None:
    service = sqlite_service
    [(referral, _)] = top_pairs(service, 1)
    ranked = service.client.get(
        f"/api/referrals/{referral}/rank?top=1", headers=service.as_role(C)
    ).json()
    with factory(service.client)() as session:
        occupied = set(
            session.scalars(select(ResidentRow.bedspace).where(ResidentRow.left_on.is_(None)))
        )
    excluded, bedspace = next(
        (e, b)
        for e in ranked["excluded"]
        if "bedspace_free_on_date" not in e["rules"]
        for b in e["bedspaces"]
        if b not in occupied
    )
    answer = offer(service, referral, bedspace, reason="they asked for it")
    assert answer.status_code == 409, answer.text
    assert set(answer.json()["rules"]) == set(excluded["rules"])
    assert status_of(service, referral) == "waiting"
    assert service.client.get("/api/offers", headers=service.as_role(C)).json() == []


def test_acceptance_checks_the_rules_again(sqlite_service: Service) -> None:
    service = sqlite_service
    [(referral, bedspace)] = top_pairs(service, 1)
    made = offer(service, referral, bedspace).json()
    with factory(service.client)() as session:
        person = session.get(ReferralRow, referral)
        bed = session.get(BedSpaceRow, bedspace)
        assert person is not None and bed is not None
        gender, unit = person.gender, bed.unit
    policy = "men_only" if gender == "woman" else "women_only"
    # The service refuses to change the unit under the person it is held for ...
    changed = service.client.patch(
        f"/api/units/{unit}", json={"gender_policy": policy}, headers=service.as_role(Role.admin)
    )
    assert changed.status_code in (409, 422), changed.text
    # ... but a change made outside it (an old import, a hand edit) is caught at acceptance.
    with factory(service.client)() as session:
        lock_for_write(session)
        session.execute(
            update(UnitRow)
            .where(UnitRow.id == unit)
            .values(gender_policy=policy, kind="adult_mixed")
        )
        session.commit()
    as_of = service.settings.placement_date()
    answer = step(service, made["id"], "accept", {"arrival_on": as_of.isoformat()})
    assert answer.status_code == 409, answer.text
    assert "hard rules" in answer.json()["detail"]
    assert status_of(service, referral) == "offered"
    with factory(service.client)() as session:
        assert session.get(ResidentRow, referral) is None


@pytest.mark.parametrize("role", [Role.housing_options, Role.commissioner])
def test_others_see_held_bedspaces_as_held_only(sqlite_service: Service, role: Role) -> None:
    service = sqlite_service
    [(referral, bedspace)] = top_pairs(service, 1)
    assert offer(service, referral, bedspace).status_code == 201
    board = service.client.get("/api/vacancies", headers=service.as_role(role))
    assert board.status_code == 200
    assert board.json()["totals"]["held"] == 1
    assert referral not in board.text
    assert service.client.get("/api/offers", headers=service.as_role(role)).status_code == 403
    page = service.client.get("/vacancies", headers=service.as_role(role))
    assert "1</span> held" in page.text and referral not in page.text


def test_an_admin_sets_how_long_offers_hold(sqlite_service: Service) -> None:
    service = sqlite_service
    admin = service.as_role(Role.admin)
    assert service.client.get("/api/settings/offer-days", headers=admin).json() == {"days": 3}
    assert (
        service.client.put("/api/settings/offer-days", json={"days": 0}, headers=admin).status_code
        == 422
    )
    assert service.client.put(
        "/api/settings/offer-days", json={"days": 5}, headers=admin
    ).json() == {"days": 5}
    [(referral, bedspace)] = top_pairs(service, 1)
    made = offer(service, referral, bedspace).json()
    with factory(service.client)() as session:
        row = session.get(OfferRow, made["id"])
        assert row is not None and row.expires_at - row.made_at == timedelta(days=5)


def test_unknown_offers_are_404(sqlite_service: Service) -> None:
    for offer_id in (999, 0, 2**40):
        answer = step(sqlite_service, offer_id, "withdraw", {"reason": "x"})
        assert answer.status_code in (404, 422)


def test_offers_past_their_time_expire_in_the_background(sqlite_service: Service) -> None:
    service = sqlite_service
    [(referral, bedspace)] = top_pairs(service, 1)
    made = offer(service, referral, bedspace).json()
    with factory(service.client)() as session:
        session.execute(
            update(OfferRow)
            .where(OfferRow.id == made["id"])
            .values(expires_at=datetime(2000, 1, 1))
        )
        session.commit()

    async def a_moment_of_expiry() -> None:
        task = asyncio.create_task(
            run_expiry(
                factory(service.client),
                service.settings.placement_date,
                service.client.app.state.problem_cache,
                every_s=0.05,
            )
        )
        # Until the background round has closed it (a busy machine may take a while).
        deadline = asyncio.get_running_loop().time() + 20
        while status_of(service, referral) != "waiting":
            assert asyncio.get_running_loop().time() < deadline, "the offer did not expire"
            await asyncio.sleep(0.05)
        task.cancel()

    asyncio.run(a_moment_of_expiry())
    assert status_of(service, referral) == "waiting"
    assert actions_on(service, referral) == ["offer", "offer_expire"]
    cache_is_the_stored_state(service)


def test_the_ranking_carried_over_each_step_is_the_ranking_built_afresh(
    sqlite_service: Service,
) -> None:
    service = sqlite_service
    cache = service.client.app.state.problem_cache
    as_of = service.settings.placement_date()
    (first, bed_1), (second, bed_2) = top_pairs(service, 2)

    def same_ranking() -> None:
        with factory(service.client)() as session:
            carried = cache.derived(session, as_of, "ranking", build_context)
            fresh = build_context(build_problem(session, as_of))
        waiting = [r.id for r in fresh.problem.referrals][:8] + [first, second]
        for referral in waiting:
            if fresh.is_waiting(referral):
                assert rank(carried, referral, top=20) == rank(fresh, referral, top=20)
            else:
                assert not carried.is_waiting(referral)

    before = cache.counts["updates:ranking"]
    with factory(service.client)() as session:
        cache.derived(session, as_of, "ranking", build_context)
    one = offer(service, first, bed_1).json()
    same_ranking()
    two = offer(service, second, bed_2).json()
    same_ranking()
    step(service, one["id"], "decline", {"reason_code": "not_contactable"})
    same_ranking()
    step(service, two["id"], "accept", {"arrival_on": as_of.isoformat()})
    same_ranking()
    assert cache.counts["updates:ranking"] > before  # carried over, not only rebuilt


def test_a_run_does_not_propose_a_declined_bedspace_and_accepting_it_offers(
    sqlite_service: Service,
) -> None:
    from tests.api.test_service import wait_for_run

    service, client, headers = sqlite_service, sqlite_service.client, sqlite_service.as_role(C)
    started = client.post(
        "/api/runs", json={"backend": "greedy", "time_limit_s": 5}, headers=headers
    )
    run = wait_for_run(service, started.json()["id"])
    proposed = [r for r in run["results"] if r["bedspace"]]
    assert len(proposed) >= 2
    first = proposed[0]
    made = offer(service, first["referral"], first["bedspace"], reason="proposed by the run")
    assert made.status_code == 201, made.text
    declined = step(service, made.json()["id"], "decline", {"reason_code": "person_refused"})
    assert declined.status_code == 200

    client.cookies.set("bedmatch_token", headers["Authorization"].split()[1])
    page = client.get(f"/runs/{run['id']}").text
    assert "no longer proposed: this person declined this bed-space" in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    accepted = client.post(
        f"/runs/{run['id']}/accept",
        data={"csrf_token": token.group(1), "which": "all"},
        follow_redirects=False,
    )
    assert accepted.status_code == 303, accepted.text
    assert status_of(service, first["referral"]) == "waiting"
    held = client.get("/api/offers?state=open&limit=1000", headers=headers).json()
    assert held and {o["run_id"] for o in held} == {run["id"]}
    assert first["referral"] not in {o["referral"] for o in held}
    assert actions_on(service, first["referral"]) == ["offer", "offer_decline"]
