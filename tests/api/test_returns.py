"""The returns pack: its figures equal a plain recount from the stored events, people still
waiting are counted in the waits, refuges and small counts stay hidden from those who may
not see them, and a bad range is refused naming the field."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from api.orm import BedSpaceRow, OfferRow, PlacementRow, ReferralRow, ResidentRow, UnitRow
from api.security import Role
from api.services.assemble import build_problem
from api.services.returns import returns_pack, stays
from capacity.vacancies import CONFIDENTIAL_NAME
from tests.api.conftest import Service
from tests.api.helpers import factory
from tests.api.test_stays import _placed_with_a_second_choice

C, H, M = Role.coordinator, Role.housing_options, Role.commissioner


def _history(service: Service) -> tuple[date, date]:
    """Some placements, a transfer and move-outs with reasons, through the API."""
    client, headers = service.client, service.as_role(C)
    today = service.settings.placement_date()
    moved, _, second, _ = _placed_with_a_second_choice(service)
    client.post(
        f"/api/residents/{moved}/transfer",
        json={"bedspace": second, "reason": "closer to work"},
        headers=headers,
    )
    for reason, destination in (("eviction", "rough_sleeping"), ("planned_move_on", "own_tenancy")):
        person, _, _, _ = _placed_with_a_second_choice(service)
        done = client.post(
            f"/api/residents/{person}/move-out",
            json={"on": today.isoformat(), "reason": reason, "destination": destination},
            headers=headers,
        )
        assert done.status_code == 200, done.text
    return today - timedelta(days=120), today


def test_the_figures_equal_a_plain_recount_of_the_stored_events(sqlite_service: Service) -> None:
    start, end = _history(sqlite_service)
    with factory(sqlite_service.client)() as session:
        problem = build_problem(session, end)
        pack = returns_pack(session, problem, start, end, sees_personal_data=True)
        placements = session.scalars(select(PlacementRow)).all()
        residents = session.scalars(select(ResidentRow)).all()
        beds = session.scalars(select(BedSpaceRow)).all()
        units = session.scalars(select(UnitRow)).all()
        all_stays = stays(session)

    in_range = [p for p in placements if start <= p.placed_on <= end]
    assert pack.placements == sum(1 for p in in_range if not p.transfer_from and not p.undone_at)
    assert pack.transfers == sum(1 for p in in_range if p.transfer_from)
    left = [r for r in residents if r.left_on is not None and start <= r.left_on <= end]
    assert pack.departures == len(left)
    assert pack.departures_by_reason.get("eviction") == sum(
        1 for r in left if r.left_reason == "eviction"
    )
    assert Counter(pack.departures_by_destination).total() == len(left)

    # Occupied bed-days, counted day by day, on the days each bed-space could be let.
    occupied: Counter[str] = Counter()
    unit_of = {b.id: b.unit for b in beds}
    opens = {b.id: b.available_from or start for b in beds}
    day = start
    while day <= end:
        for s in all_stays:
            if opens[s.bedspace] > day:
                continue
            if (s.start is None or s.start <= day) and (s.end is None or day < s.end):
                occupied[unit_of[s.bedspace]] += 1
        day += timedelta(days=1)
    by_unit = {u.unit: u for u in pack.units}
    for unit in units:
        assert by_unit[unit.id].occupied_days == occupied[unit.id], unit.id
        assert by_unit[unit.id].void_days + by_unit[unit.id].occupied_days == (
            by_unit[unit.id].bed_days
        )


def test_people_still_waiting_are_counted_in_the_waits(sqlite_service: Service) -> None:
    """Everyone waiting now is counted as still waiting; the rest of those who waited in the
    range were placed in it (the demo's history places some)."""
    with factory(sqlite_service.client)() as session:
        end = sqlite_service.settings.placement_date()
        problem = build_problem(session, end)
        pack = returns_pack(session, problem, end - timedelta(days=30), end, True)
    everyone = pack.cohort_waits[0]
    assert everyone.cohort == "all" and everyone.still_waiting == len(problem.referrals)
    assert everyone.people == everyone.placed + everyone.still_waiting


def _get(service: Service, role: Role, path: str) -> Any:
    return service.client.get(path, headers=service.as_role(role))


def test_refuges_and_small_counts_stay_hidden_from_those_who_may_not_see_them(
    sqlite_service: Service,
) -> None:
    _, end = _history(sqlite_service)
    # Today only: the one eviction `_history` records, none of the demo's past ones.
    start = end
    path = f"/api/returns?from={start}&to={end}"
    for role in (H, M):
        answer = _get(sqlite_service, role, path)
        assert answer.status_code == 200, answer.text
        tables = answer.json()["tables"]
        with factory(sqlite_service.client)() as session:
            refuges = session.scalars(
                select(UnitRow).where(UnitRow.confidential_address.is_(True))
            ).all()
        names = {row[1] for row in tables["units"][1:]}
        assert not {u.name for u in refuges} & names
        assert CONFIDENTIAL_NAME in names or not refuges
        reasons = dict(tables["departure reasons"][1:])
        assert reasons.get("eviction") == "fewer than 5"  # one eviction: nobody singled out
    coordinator = _get(sqlite_service, C, path).json()["tables"]
    assert dict(coordinator["departure reasons"][1:]).get("eviction") == 1


def test_a_bad_range_is_refused_naming_the_field(sqlite_service: Service) -> None:
    for query, field in (
        ("from=2026-12-07&to=2026-11-01", "to"),
        ("to=2026-11-01", "from"),
        ("from=2020-01-01&to=2026-11-01", "to"),
    ):
        refused = _get(sqlite_service, M, f"/api/returns?{query}")
        assert refused.status_code == 422, query
        assert any(d["loc"][-1] == field for d in refused.json()["detail"]), query


def test_the_downloads_and_the_page_hold_the_same_figures(sqlite_service: Service) -> None:
    start, end = _history(sqlite_service)
    query = f"from={start}&to={end}"
    as_csv = _get(sqlite_service, M, f"/api/returns.csv?{query}")
    assert as_csv.status_code == 200 and b"departure reasons" in as_csv.content
    as_xlsx = _get(sqlite_service, M, f"/api/returns.xlsx?{query}")
    assert as_xlsx.status_code == 200 and as_xlsx.content[:2] == b"PK"
    cookies = {"bedmatch_token": sqlite_service.as_role(M)["Authorization"].split()[1]}
    page = sqlite_service.client.get(f"/returns?{query}", cookies=cookies)
    assert page.status_code == 200 and 'id="waiting-plot"' in page.text
    plot = sqlite_service.client.get(f"/returns/occupancy.png?{query}", cookies=cookies)
    assert plot.status_code == 200 and plot.content[:4] == b"\x89PNG"


def test_the_page_says_what_is_wrong_with_a_range(sqlite_service: Service) -> None:
    cookies = {"bedmatch_token": sqlite_service.as_role(M)["Authorization"].split()[1]}
    for query in ("from=2026-12-07&to=2026-11-01", "to=2026-11-01"):
        page = sqlite_service.client.get(f"/returns?{query}", cookies=cookies)
        assert page.status_code == 422 and 'id="message"' in page.text, query


def test_offers_and_eight_hour_responses_are_recounted(sqlite_service: Service) -> None:
    """Offers by outcome and the 8-hour responses owed to priority-5 DA referrals, each as
    a plain count over the stored offers, placements and referrals."""
    client, headers = sqlite_service.client, sqlite_service.as_role(C)
    end = sqlite_service.settings.placement_date()
    waiting = client.get("/api/referrals?status=waiting", headers=headers).json()
    for referral in waiting[:6]:
        ranked = client.get(f"/api/referrals/{referral['id']}/rank", headers=headers).json()
        alone = [p for p in ranked["ranked"] if not p["partners"]]
        if alone:
            client.post(
                "/api/offers",
                json={"referral": referral["id"], "bedspace": alone[0]["bedspace"]},
                headers=headers,
            )
    start = end - timedelta(days=200)
    with factory(client)() as session:
        problem = build_problem(session, end)
        pack = returns_pack(session, problem, start, end, sees_personal_data=True)
        offers = session.scalars(select(OfferRow)).all()
        referrals = session.scalars(select(ReferralRow)).all()
        placements = session.scalars(select(PlacementRow)).all()
    made = [o for o in offers if start <= o.made_at.date() <= end]
    assert pack.offers == len(made) > 0
    assert sum(pack.offers_by_outcome.values()) == len(made)
    owed = [
        r
        for r in referrals
        if start <= r.referred <= end and r.priority == 5 and "da_victim" in r.flags
    ]
    assert pack.da_responses_owed == len(owed)
    steps: dict[str, list[Any]] = {}
    for o in offers:
        steps.setdefault(o.referral, []).append(o.made_at)
    for p in placements:
        steps.setdefault(p.referral, []).append(p.placed_at)
    met = 0
    for r in owed:
        moment = r.referred_at or datetime.combine(r.referred, datetime.min.time())
        if r.id in steps and min(steps[r.id]) <= moment + timedelta(hours=8):
            met += 1
    assert pack.da_responses_met == met
    assert met + pack.da_responses_late + pack.da_responses_missing <= len(owed)
