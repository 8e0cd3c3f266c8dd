"""The offer steps on a person's page, per role: offer (behind a confirmation), refuse with a
reason, offer again only when asked, withdraw, accept with an arrival date; the page says
where the person is and keeps every offer's outcome."""

from __future__ import annotations

import re

import pytest

from api.security import Role
from tests.api.conftest import Service
from tests.api.test_offers import top_pairs

C = Role.coordinator


def signed_in(service: Service, role: Role) -> None:
    service.client.cookies.set("bedmatch_token", service.as_role(role)["Authorization"].split()[1])


def csrf(page: str) -> str:
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    return token.group(1)


def open_offer_id(page: str) -> int:
    found = re.search(r'action="/offers/(\d+)/accept"', page)
    assert found is not None, "no open offer on the page"
    return int(found.group(1))


@pytest.mark.parametrize("role", [Role.coordinator, Role.admin])
def test_an_offer_is_made_refused_made_again_withdrawn_then_accepted(
    sqlite_service: Service, role: Role
) -> None:
    service, client = sqlite_service, sqlite_service.client
    [(referral, bedspace)] = top_pairs(service, 1)
    signed_in(service, role)
    page = client.get(f"/referrals/{referral}").text
    assert 'class="offer-top"' in page and "Offer…" in page
    token = csrf(page)

    made = client.post(
        f"/referrals/{referral}/offer",
        data={"csrf_token": token, "bedspace": bedspace},
        follow_redirects=False,
    )
    assert made.status_code == 303, made.text
    page = client.get(made.headers["location"]).text
    assert "held for this person" in page and "held until" in page
    offer_id = open_offer_id(page)

    unchosen = client.post(
        f"/offers/{offer_id}/decline", data={"csrf_token": token}, follow_redirects=False
    )
    assert unchosen.status_code == 422 and "choose the reason" in unchosen.text
    other = client.post(
        f"/offers/{offer_id}/decline",
        data={"csrf_token": token, "reason_code": "other"},
        follow_redirects=False,
    )
    assert other.status_code == 422 and "say why" in other.text
    declined = client.post(
        f"/offers/{offer_id}/decline",
        data={"csrf_token": token, "reason_code": "person_refused"},
        follow_redirects=False,
    )
    assert declined.status_code == 303
    page = client.get(f"/referrals/{referral}").text
    assert "declined: the person refused" in page
    assert f'name="bedspace" value="{bedspace}"' not in page.split('id="override-form"')[0]

    again = client.post(
        f"/referrals/{referral}/offer",
        data={"csrf_token": token, "bedspace": bedspace, "reason": "they changed their mind"},
        follow_redirects=False,
    )
    assert again.status_code == 409 and "ask again" in again.text
    asked = client.post(
        f"/referrals/{referral}/offer",
        data={
            "csrf_token": token,
            "bedspace": bedspace,
            "reason": "they changed their mind",
            "ask_again": "on",
        },
        follow_redirects=False,
    )
    assert asked.status_code == 303, asked.text
    offer_id = open_offer_id(client.get(f"/referrals/{referral}").text)
    withdrawn = client.post(
        f"/offers/{offer_id}/withdraw",
        data={"csrf_token": token, "reason": "provider closing the room"},
        follow_redirects=False,
    )
    assert withdrawn.status_code == 303

    again = client.post(
        f"/referrals/{referral}/offer",
        data={"csrf_token": token, "bedspace": bedspace, "reason": "room open", "ask_again": "on"},
        follow_redirects=False,
    )
    assert again.status_code == 303, again.text
    offer_id = open_offer_id(client.get(f"/referrals/{referral}").text)
    arrival = service.settings.placement_date().isoformat()
    accepted = client.post(
        f"/offers/{offer_id}/accept",
        data={"csrf_token": token, "arrival_on": arrival},
        follow_redirects=False,
    )
    assert accepted.status_code == 303, accepted.text
    page = client.get(f"/referrals/{referral}").text
    assert "(placed)" in page and f"bed-space {bedspace}" in page
    history = page.split('id="offer-history"')[1]
    assert history.count("<tr class=") == 3
    assert "withdrawn: provider closing the room" in history and "accepted, arriving" in history


@pytest.mark.parametrize("role", [Role.housing_options, Role.commissioner])
def test_roles_without_personal_data_cannot_offer(sqlite_service: Service, role: Role) -> None:
    [(referral, bedspace)] = top_pairs(sqlite_service, 1)
    signed_in(sqlite_service, role)
    client = sqlite_service.client
    assert client.get(f"/referrals/{referral}").status_code == 403
    vacancies = client.get("/vacancies").text
    token = csrf(vacancies)
    posted = client.post(
        f"/referrals/{referral}/offer",
        data={"csrf_token": token, "bedspace": bedspace},
        follow_redirects=False,
    )
    assert posted.status_code == 403


def test_an_admin_sets_the_offer_days_on_the_settings_page(sqlite_service: Service) -> None:
    signed_in(sqlite_service, Role.admin)
    client = sqlite_service.client
    page = client.get("/admin/settings").text
    assert 'id="offer-days" min="1" max="60" value="3"' in page
    saved = client.post(
        "/admin/settings/offer-days",
        data={"csrf_token": csrf(page), "days": "7"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert 'value="7"' in client.get("/admin/settings").text
    bad = client.post("/admin/settings/offer-days", data={"csrf_token": csrf(page), "days": "0"})
    assert bad.status_code == 422
