"""Outcomes in the service: figures read from the stored events equal a plain recount of the
rows, a person referred again is not sustained, commissioners see no small counts, Housing
Options sees nothing, a bad range is refused naming the field, and the downloads, the page
and its plots carry the figures."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from api.orm import BedSpaceRow, ListMemberRow, PlacementRow, ReferralRow, ResidentRow, UnitRow
from api.security import Role
from api.services.outcomes import history, outcomes
from tests.api.conftest import Service
from tests.api.helpers import factory
from tests.api.test_stays import _placed_with_a_second_choice

C, H, M, A = Role.coordinator, Role.housing_options, Role.commissioner, Role.admin
LATER = 400  # days after the move-outs the figures are judged: past both windows


def _history(service: Service) -> tuple[date, str]:
    """Placements, a transfer and move-outs with reasons, through the API; then one of
    the people who moved on is referred again a month later. (today, that person)"""
    client, headers = service.client, service.as_role(C)
    today = service.settings.placement_date()
    moved, _, second, _ = _placed_with_a_second_choice(service)
    client.post(
        f"/api/residents/{moved}/transfer",
        json={"bedspace": second, "reason": "closer to work"},
        headers=headers,
    )
    left = []
    for reason, destination in (
        ("eviction", "rough_sleeping"),
        ("planned_move_on", "own_tenancy"),
        ("planned_move_on", "social_housing"),
        ("abandonment", "unknown"),
    ):
        person, _, _, _ = _placed_with_a_second_choice(service)
        done = client.post(
            f"/api/residents/{person}/move-out",
            json={"on": today.isoformat(), "reason": reason, "destination": destination},
            headers=headers,
        )
        assert done.status_code == 200, done.text
        left.append(person)
    back = left[1]
    with factory(client)() as session:
        first = session.get(ReferralRow, back)
        assert first is not None
        first.case_reference = first.case_reference or "SPA-RETURNING"
        again = ReferralRow(
            id=f"{back}-again",
            referred=today + timedelta(days=30),
            age=first.age,
            gender=first.gender,
            risk=first.risk,
            pathway=first.pathway,
            case_reference=first.case_reference,
        )
        session.add(again)
        session.commit()
    return today, back


def test_the_figures_equal_a_plain_recount_of_the_stored_rows(sqlite_service: Service) -> None:
    today, back = _history(sqlite_service)
    start, end, as_of = today - timedelta(days=30), today, today + timedelta(days=LATER)
    with factory(sqlite_service.client)() as session:
        report = outcomes(session, start, end, as_of, sees_personal_data=True)
        residents = session.scalars(select(ResidentRow)).all()
        placements = session.scalars(select(PlacementRow)).all()
        unit_of = {b.id: b.unit for b in session.scalars(select(BedSpaceRow))}
        pathway_of = {u.id: u.pathway for u in session.scalars(select(UnitRow))}
        referrals = {r.id: r for r in session.scalars(select(ReferralRow))}

    everyone = report.groups["cohort"][0]
    assert everyone.key == "all"
    left = [r for r in residents if r.left_on is not None and start <= r.left_on <= end]
    moves = [p for p in placements if p.transfer_from is not None and start <= p.placed_on <= end]
    assert everyone.departures == len(left) == 4
    assert everyone.transfers_out == len(moves) == 1
    assert everyone.stays_ended == len(left) + len(moves)
    planned = [r for r in left if r.left_reason == "planned_move_on"]
    assert (everyone.planned_move_on.k, everyone.planned_move_on.n) == (len(planned), len(left))
    assert everyone.evictions.k == sum(r.left_reason == "eviction" for r in left) == 1
    assert everyone.abandonments.k == 1

    # Sustained: no referral or placement of the same case reference after leaving.
    def came_back(r: ResidentRow, days: int) -> bool:
        ref = referrals[r.id].case_reference or r.id
        assert r.left_on is not None
        return any(
            (other.case_reference or other.id) == ref
            and r.left_on < other.referred <= r.left_on + timedelta(days=days)
            for other in referrals.values()
        )

    for follow_up in everyone.sustained:
        window = {6: 183, 12: 365}[follow_up.months]
        kept = sum(not came_back(r, window) for r in planned)
        assert (follow_up.judged.k, follow_up.judged.n) == (kept, len(planned))
        assert follow_up.judged.k == len(planned) - 1  # the person referred again
        assert follow_up.too_recent == 0
    for follow_up in everyone.returned:
        window = {6: 183, 12: 365}[follow_up.months]
        back_count = sum(r.destination == "rough_sleeping" or came_back(r, window) for r in left)
        assert (follow_up.judged.k, follow_up.judged.n) == (back_count, len(left)) == (2, 4)

    # Per pathway: the stays that ended in units of that pathway.
    by_pathway = {g.key: g for g in report.groups["pathway"]}
    ended_bed = [r.bedspace for r in left] + [p.transfer_from for p in moves]
    expected: dict[str, int] = {}
    for bed in ended_bed:
        assert bed is not None
        expected[pathway_of[unit_of[bed]]] = expected.get(pathway_of[unit_of[bed]], 0) + 1
    assert {k: g.stays_ended for k, g in by_pathway.items()} == expected


def test_departures_too_recent_to_judge_are_counted_not_judged(sqlite_service: Service) -> None:
    today, _ = _history(sqlite_service)
    with factory(sqlite_service.client)() as session:
        report = outcomes(session, today - timedelta(days=30), today, today, True)
    everyone = report.groups["cohort"][0]
    for follow_up in everyone.sustained:
        assert follow_up.judged.n == 0 and follow_up.too_recent == everyone.planned_move_on.k
    for follow_up in everyone.returned:
        assert follow_up.judged.n == 0 and follow_up.too_recent == everyone.departures


def _get(service: Service, role: Role, path: str) -> Any:
    return service.client.get(path, headers=service.as_role(role))


def test_commissioners_see_no_small_counts_and_housing_options_nothing(
    sqlite_service: Service,
) -> None:
    today, _ = _history(sqlite_service)
    path = f"/api/outcomes?from={today - timedelta(days=30)}&to={today}"
    assert _get(sqlite_service, H, path).status_code == 403
    assert _get(sqlite_service, H, path.replace("outcomes", "outcomes.csv")).status_code == 403
    coordinator = _get(sqlite_service, C, path)
    assert coordinator.status_code == 200, coordinator.text
    rows = coordinator.json()["tables"]["by group of people"]
    head, everyone = rows[0], rows[1]
    assert everyone[0] == "Everyone"
    assert everyone[head.index("departures")] == 4
    assert everyone[head.index("evictions")] == 1
    commissioner = _get(sqlite_service, M, path).json()["tables"]["by group of people"][1]
    assert commissioner[head.index("departures")] == "fewer than 5"
    assert commissioner[head.index("evictions")] == "fewer than 5"
    assert commissioner[head.index("planned move-on: share")] == ""


def test_a_bad_range_is_refused_naming_the_field(sqlite_service: Service) -> None:
    for query, field in (
        ("from=2026-12-07&to=2026-11-01", "to"),
        ("to=2026-11-01", "from"),
        ("from=2026-11-01", "to"),
        ("from=&to=2026-11-01", "from"),
        ("from=2026-11-01&to=", "to"),
        ("from=2020-01-01&to=2026-11-01", "to"),
    ):
        for path in ("/api/outcomes", "/api/outcomes.csv"):
            refused = _get(sqlite_service, M, f"{path}?{query}")
            assert refused.status_code == 422, (path, query)
            assert any(d["loc"][-1] == field for d in refused.json()["detail"]), (path, query)


def test_the_downloads_the_page_and_its_plots_hold_the_figures(sqlite_service: Service) -> None:
    today, _ = _history(sqlite_service)
    query = f"from={today - timedelta(days=30)}&to={today}"
    as_csv = _get(sqlite_service, C, f"/api/outcomes.csv?{query}")
    assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
    assert b"by pathway" in as_csv.content and b"planned move-on" in as_csv.content
    as_xlsx = _get(sqlite_service, M, f"/api/outcomes.xlsx?{query}")
    assert as_xlsx.status_code == 200 and as_xlsx.content[:2] == b"PK"
    cookies = {"bedmatch_token": sqlite_service.as_role(M)["Authorization"].split()[1]}
    page = sqlite_service.client.get(f"/outcomes?{query}", cookies=cookies)
    assert page.status_code == 200 and 'id="shares-plot"' in page.text
    assert 'id="outcomes-headline"' in page.text and "fewer than 5" in page.text
    for figure in ("shares", "stays"):
        for grouping in ("pathway", "cohort", "unit", "support_team"):
            plot = sqlite_service.client.get(
                f"/outcomes/{figure}.png?grouping={grouping}&{query}", cookies=cookies
            )
            assert plot.status_code == 200 and plot.content[:4] == b"\x89PNG", (figure, grouping)
    refused = sqlite_service.client.get("/outcomes?from=2026-12-07&to=2026-11-01", cookies=cookies)
    assert refused.status_code == 422 and 'id="message"' in refused.text
    housing = {"bedmatch_token": sqlite_service.as_role(H)["Authorization"].split()[1]}
    assert sqlite_service.client.get("/outcomes", cookies=housing).status_code == 403


def test_the_by_name_lists_cohorts_are_a_grouping_recounted_from_the_list(
    sqlite_service: Service,
) -> None:
    """The demo's year of list history: each By Name List cohort's stays ended equal a
    recount of the stays of the people listed in it; everyone else is "not on the list"."""
    service = sqlite_service
    today = service.settings.placement_date()
    first = today - timedelta(days=364)
    with factory(service.client)() as session:
        report = outcomes(session, first, today, today, sees_personal_data=True)
        cohort_of = dict(
            session.execute(
                select(ListMemberRow.case_reference, ListMemberRow.cohort).order_by(
                    ListMemberRow.id
                )
            ).all()
        )
        stays, _ = history(session)
    ended = [s for s in stays if s.end is not None and first <= s.end <= today]
    expected: dict[str, int] = {}
    for stay in ended:
        key = cohort_of.get(stay.person, "not_listed")
        expected[key] = expected.get(key, 0) + 1
    found = {g.key: g.stays_ended for g in report.groups["list_cohort"]}
    assert found == expected
    assert {"priority", "at_risk"} <= set(found), found  # the demo's list has left stays
