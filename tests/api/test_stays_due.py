"""Arrivals and move-outs due: people placed and not arrived (the longest placed first) and
residents due to leave within two weeks or past their date, named, each linking to their
stay; for coordinators and admins only, every person shown recorded as read."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from api.orm import AuditEventRow, ResidentRow
from api.security import Role
from api.services.stays_due import LEAVING_WITHIN_DAYS
from tests.api.conftest import Service
from tests.api.helpers import factory

C = Role.coordinator
PAGE = "/arrivals-and-move-outs"


def _section(page: str, table: str) -> str:
    start = page.index(f'id="{table}"')
    return page[start : page.index("</table>", start)]


def _place_someone(service: Service) -> str:
    client, headers = service.client, service.as_role(C)
    waiting = client.get("/api/referrals?status=waiting", headers=headers).json()
    for referral in waiting:
        if referral["keep_together"] or not referral.get("name"):
            continue
        ranked = client.get(f"/api/referrals/{referral['id']}/rank", headers=headers).json()
        if not ranked["ranked"] or ranked["ranked"][0]["partners"]:
            continue
        placed = client.post(
            "/api/placements",
            json={"referral": referral["id"], "bedspace": ranked["ranked"][0]["bedspace"]},
            headers=headers,
        )
        assert placed.status_code == 201, placed.text
        return str(referral["id"])
    pytest.fail("no waiting referral with a safe place in the demo")


def test_a_placed_person_is_due_to_arrive_until_their_arrival(sqlite_service: Service) -> None:
    service = sqlite_service
    client, headers = service.client, service.as_role(C)
    person = _place_someone(service)
    name = client.get(f"/api/referrals/{person}", headers=headers).json()["name"]
    page = client.get(PAGE, headers=headers)
    assert page.status_code == 200
    arriving = _section(page.text, "arriving")
    assert f'href="/residents/{person}"' in arriving and name in arriving
    with factory(client)() as session:
        read = session.scalars(
            select(AuditEventRow).where(
                AuditEventRow.action == "read", AuditEventRow.subject_id == person
            )
        ).all()
    assert read, "the names shown are recorded as read"

    arrived = client.post(
        f"/api/residents/{person}/arrival",
        json={"on": service.settings.placement_date().isoformat()},
        headers=headers,
    )
    assert arrived.status_code in (200, 201), arrived.text
    assert person not in _section(client.get(PAGE, headers=headers).text, "arriving")


def test_residents_due_to_leave_are_listed_soonest_first(sqlite_service: Service) -> None:
    service = sqlite_service
    as_of = service.settings.placement_date()
    with factory(service.client)() as session:
        open_stays = session.scalars(select(ResidentRow).where(ResidentRow.left_on.is_(None))).all()
        horizon = as_of + timedelta(days=LEAVING_WITHIN_DAYS)
        due = {
            r.id
            for r in open_stays
            if r.expected_leave is not None
            and r.expected_leave <= horizon
            and r.arrived is not None
            and r.arrived <= as_of
        }
        later = {
            r.id for r in open_stays if r.expected_leave is not None and r.expected_leave > horizon
        }
    assert due and later, "the demo has residents due to leave and residents staying on"
    leaving = _section(service.client.get(PAGE, headers=service.as_role(C)).text, "leaving")
    shown = re.findall(r'href="/residents/([^"]+)"', leaving)
    assert set(shown) == due
    dates = [date.fromisoformat(d) for d in re.findall(r'data-leave="([^"]+)"', leaving)]
    assert dates == sorted(dates) and len(dates) == len(shown)
    assert "past: no move-out recorded" in leaving


@pytest.mark.parametrize("role", [Role.housing_options, Role.commissioner])
def test_only_coordinators_and_admins_see_who_is_due(sqlite_service: Service, role: Role) -> None:
    page = sqlite_service.client.get(PAGE, headers=sqlite_service.as_role(role))
    assert page.status_code == 403
    assert 'href="/residents/' not in page.text
    admin = sqlite_service.client.get(PAGE, headers=sqlite_service.as_role(Role.admin))
    assert admin.status_code == 200
